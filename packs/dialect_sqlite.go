package packs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/upkeep/upkeep/internal/sqlsplit"
)

// sqliteDialect is SQLite through modernc.org/sqlite. DDL is transactional;
// the migration lock is the write transaction itself (BEGIN IMMEDIATE,
// waiting with busy_timeout).
type sqliteDialect struct{ path string }

func (sqliteDialect) name() string                                        { return "sqlite" }
func (sqliteDialect) flavor() sqlsplit.Flavor                             { return sqlsplit.SQLite }
func (sqliteDialect) quote(id string) string                              { return `"` + strings.ReplaceAll(id, `"`, `""`) + `"` }
func (sqliteDialect) rebind(q string) string                              { return q }
func (sqliteDialect) transactionalDDL() bool                              { return true }
func (d sqliteDialect) insertPrefix(t string, c []string) string          { return insertColumns(d, t, c) }
func (sqliteDialect) afterRestore(context.Context, querier, string) error { return nil }

// foreignKeyChecks does nothing: upkeep leaves SQLite's foreign_keys pragma
// off, as it is by default.
func (sqliteDialect) foreignKeyChecks(context.Context, *sql.Conn, bool) error { return nil }

func (sqliteDialect) setup(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx, `
CREATE TABLE IF NOT EXISTS upkeep_packs (pack TEXT PRIMARY KEY, version TEXT NOT NULL DEFAULT '', schema_version INTEGER NOT NULL DEFAULT 0, installed_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS upkeep_settings (pack TEXT NOT NULL, "key" TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (pack, "key"));
CREATE TABLE IF NOT EXISTS upkeep_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, pack TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL, direction TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS upkeep_migrations_pack ON upkeep_migrations (pack, version);
CREATE TABLE IF NOT EXISTS upkeep_schema (pack TEXT NOT NULL, table_name TEXT NOT NULL, table_version INTEGER NOT NULL, schema_text TEXT NOT NULL, PRIMARY KEY (pack, table_name));
CREATE TABLE IF NOT EXISTS upkeep_progress (pack TEXT PRIMARY KEY, version INTEGER NOT NULL, file TEXT NOT NULL, statements_done INTEGER NOT NULL, done_sha256 TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS upkeep_batches (batch_id TEXT NOT NULL, host_id TEXT NOT NULL, hostname TEXT NOT NULL, packs TEXT NOT NULL, phase TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT NOT NULL, backup_id TEXT NOT NULL, zips TEXT NOT NULL, migrations TEXT NOT NULL, started_at TEXT NOT NULL, committed_at TEXT NOT NULL, duration_ms INTEGER NOT NULL, PRIMARY KEY (host_id, batch_id));
`)
	return err
}

// setupLock does nothing: the transaction is SQLite's write lock.
func (sqliteDialect) setupLock(context.Context, *sql.Tx) error { return nil }

func (sqliteDialect) hostsTable() string {
	return `CREATE TABLE IF NOT EXISTS upkeep_hosts (host_id TEXT NOT NULL, hostname TEXT NOT NULL, root TEXT NOT NULL, pack TEXT NOT NULL, files_version TEXT NOT NULL, code_schema_version INTEGER NOT NULL, seen_at TEXT NOT NULL, PRIMARY KEY (host_id, pack))`
}

func (d sqliteDialect) lock(ctx context.Context, conn *sql.Conn, timeout time.Duration) (*sql.Tx, error) {
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", timeout.Milliseconds())); err != nil {
		return nil, err
	}
	start := time.Now()
	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE: _txlock=immediate
	if err != nil {
		var se *sqlite.Error
		if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY {
			return nil, &LockedError{Backend: "sqlite", Waited: time.Since(start).Round(time.Millisecond),
				Holder: "another connection or process writing to " + d.path}
		}
		return nil, err
	}
	return tx, nil
}

// tableLockWait does nothing: the run holds SQLite's only lock, the write
// lock, from its start.
func (sqliteDialect) tableLockWait(context.Context, *sql.Conn, *sql.Tx, time.Duration) error {
	return nil
}

func (sqliteDialect) unlock(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 10000")
	return err
}

func (sqliteDialect) tableNames(ctx context.Context, q querier) ([]string, error) {
	return queryStrings(ctx, q, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
}

func (d sqliteDialect) tableSchema(ctx context.Context, q querier, table string) (*TableSchema, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, err
	}
	s := &TableSchema{}
	var pk []struct {
		n    int
		name string
	}
	for rows.Next() {
		var (
			c       Column
			notnull int
			dflt    sql.NullString
			pkn     int
		)
		if err := rows.Scan(&c.Name, &c.Type, &notnull, &dflt, &pkn); err != nil {
			rows.Close()
			return nil, err
		}
		c.Type = strings.ToUpper(c.Type)
		c.Nullable = notnull == 0
		c.Default = dflt.String
		s.Columns = append(s.Columns, c)
		if pkn > 0 {
			pk = append(pk, struct {
				n    int
				name string
			}{pkn, c.Name})
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if len(s.Columns) == 0 {
		return nil, nil
	}
	if len(pk) > 0 {
		cols := make([]string, len(pk))
		for _, p := range pk {
			cols[p.n-1] = p.name
		}
		s.Indexes = append(s.Indexes, Index{Name: "PRIMARY KEY", Unique: true, Columns: cols})
	}
	rows, err = q.QueryContext(ctx, `SELECT il.name, il."unique", ii.name FROM pragma_index_list(?) il, pragma_index_info(il.name) ii WHERE il.origin <> 'pk' ORDER BY il.name, ii.seqno`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name, col sql.NullString
			unique    int
		)
		if err := rows.Scan(&name, &unique, &col); err != nil {
			return nil, err
		}
		if n := len(s.Indexes); n == 0 || s.Indexes[n-1].Name != name.String {
			s.Indexes = append(s.Indexes, Index{Name: name.String, Unique: unique == 1})
		}
		s.Indexes[len(s.Indexes)-1].Columns = append(s.Indexes[len(s.Indexes)-1].Columns, col.String)
	}
	return s, rows.Err()
}

func (sqliteDialect) tableDDL(ctx context.Context, q querier, table string) ([]string, []string, error) {
	rows, err := q.QueryContext(ctx, `SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type <> 'table', name`, table)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, nil, err
		}
		out = append(out, s)
	}
	return out, nil, rows.Err()
}

// selectColumn reads +"col": an expression has no declared type, so the
// driver returns the stored value as it is (no DATETIME to time.Time).
func (d sqliteDialect) selectColumn(col string) string { return "+" + d.quote(col) }
