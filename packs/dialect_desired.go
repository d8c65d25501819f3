package packs

import (
	"context"
	"fmt"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/mysql"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlite"
)

// The dialects' part of desired schemas (db generate, db diff, the
// rehearsal's schema report): the schema library's driver for the backend,
// and listing and emptying a scratch database. See [dialect].

func (sqliteDialect) schemaDriver(q schema.ExecQuerier) (migrate.Driver, error) {
	return sqlite.Open(sqliteIndexQuery{q})
}
func (postgresDialect) schemaDriver(q schema.ExecQuerier) (migrate.Driver, error) {
	return postgres.Open(q)
}
func (mysqlDialect) schemaDriver(q schema.ExecQuerier) (migrate.Driver, error) { return mysql.Open(q) }

func (sqliteDialect) schemaObjects(ctx context.Context, q querier) (tables, views []string, err error) {
	return listObjects(ctx, q, `SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name`)
}
func (postgresDialect) schemaObjects(ctx context.Context, q querier) (tables, views []string, err error) {
	return listObjects(ctx, q, `SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`)
}
func (mysqlDialect) schemaObjects(ctx context.Context, q querier) (tables, views []string, err error) {
	return listObjects(ctx, q, `SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name`)
}

// listObjects runs query, whose rows are a name and a type, and sorts the
// names into tables and views.
func listObjects(ctx context.Context, q querier, query string) (tables, views []string, err error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, nil, err
		}
		if strings.Contains(strings.ToUpper(typ), "VIEW") {
			views = append(views, name)
		} else {
			tables = append(tables, name)
		}
	}
	return tables, views, rows.Err()
}

func (d sqliteDialect) dropAll(tables, views []string) []string {
	stmts := []string{"PRAGMA foreign_keys = OFF"}
	for _, v := range views {
		stmts = append(stmts, "DROP VIEW IF EXISTS "+d.quote(v))
	}
	for _, t := range tables {
		stmts = append(stmts, "DROP TABLE IF EXISTS "+d.quote(t))
	}
	return append(stmts, "PRAGMA foreign_keys = ON")
}
func (d postgresDialect) dropAll(tables, views []string) []string {
	return dropLists(d, tables, views, " CASCADE")
}
func (d mysqlDialect) dropAll(tables, views []string) []string {
	return append(append([]string{"SET FOREIGN_KEY_CHECKS = 0"}, dropLists(d, tables, views, "")...), "SET FOREIGN_KEY_CHECKS = 1")
}

// dropLists drops the views, then the tables, each kind in one statement.
func dropLists(d dialect, tables, views []string, suffix string) []string {
	var stmts []string
	for _, l := range []struct {
		kind  string
		names []string
	}{{"VIEW", views}, {"TABLE", tables}} {
		if len(l.names) == 0 {
			continue
		}
		quoted := make([]string, len(l.names))
		for i, n := range l.names {
			quoted[i] = d.quote(n)
		}
		stmts = append(stmts, fmt.Sprintf("DROP %s IF EXISTS %s%s", l.kind, strings.Join(quoted, ", "), suffix))
	}
	return stmts
}
