package packs

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"

	"github.com/upkeep/upkeep/internal/sqlsplit"
)

// dialect is everything that differs between database backends. The engine
// (status, up, down, baseline, export, drift) is written once against it.
//
// To add a backend:
//  1. implement dialect in dialect_NAME.go: quoting, placeholders, the DDL of
//     upkeep's tables (setup, idempotent, safe when two processes run it at
//     once), live introspection of a table (tableSchema: normalized so the
//     same schema always reads the same) and the statements that recreate
//     it (tableDDL, for exports), the migration lock (lock/unlock, with a
//     timeout, returning a *LockedError that names the holder where the
//     backend can tell), and whether DDL is transactional;
//  2. recognise its address in internal/dbaddr (the one parser of
//     addresses, which packs and backupstore both use), and pick the
//     dialect for its kind in dialectOf and [New];
//  3. implement its backup and restore tooling, dbsnap.Tool in
//     internal/dbsnap (snapshot: SQLite's VACUUM INTO, pg_dump,
//     mariadb-dump; load, undo, finish), chosen in dbsnap.For;
//  4. add an opener for it to backends_test.go, reading its server address
//     from UPKEEP_TEST_<NAME>, so the conformance suite (conformance_test.go,
//     whose SnapshotTool case runs the tooling) runs on it, and make that
//     suite pass unchanged.
//
// Code outside the dialects asks what a backend can do ([DB.TransactionalDDL]),
// never which backend it is.
type dialect interface {
	// name is "sqlite", "postgres" or "mysql".
	name() string
	// flavor says how migration files are split into statements.
	flavor() sqlsplit.Flavor
	// quote quotes an identifier.
	quote(ident string) string
	// rebind rewrites ? placeholders into the backend's.
	rebind(query string) string
	// setup creates upkeep's tables when they are missing.
	setup(ctx context.Context, db *sql.DB) error
	// setupLock makes tx wait for any other process creating upkeep's
	// tables, where two at once would collide (PostgreSQL's catalog).
	setupLock(ctx context.Context, tx *sql.Tx) error
	// hostsTable is the CREATE TABLE IF NOT EXISTS of upkeep_hosts, which
	// is made by the first start that records its host, not by setup: a
	// read-only database still opens without it.
	hostsTable() string
	// transactionalDDL is true when CREATE/ALTER/DROP run inside a
	// transaction and roll back with it. Then a whole run is one
	// transaction; otherwise progress is recorded after each statement.
	transactionalDDL() bool
	// lock takes the migration lock on conn, waiting up to timeout. SQLite's
	// lock is its write transaction (BEGIN IMMEDIATE), which lock returns;
	// the other backends take a session lock and return a nil *sql.Tx.
	lock(ctx context.Context, conn *sql.Conn, timeout time.Duration) (*sql.Tx, error)
	// tableLockWait bounds how long a statement waits for a table lock
	// (d > 0), or restores the default (d == 0), for tx where DDL is
	// transactional, else for the session of conn.
	tableLockWait(ctx context.Context, conn *sql.Conn, tx *sql.Tx, d time.Duration) error
	// unlock releases what lock took (for SQLite, nothing: the transaction
	// ends with commit or rollback).
	unlock(ctx context.Context, conn *sql.Conn) error
	// tableSchema reads the live schema of table, normalized; nil when the
	// table does not exist.
	tableSchema(ctx context.Context, q querier, table string) (*TableSchema, error)
	// tableNames lists the database's tables (not views), upkeep's
	// included.
	tableNames(ctx context.Context, q querier) ([]string, error)
	// tableDDL returns the statements that create table as it is now, its
	// indexes included, and those to run once every restored table exists
	// (foreign keys, where the backend cannot create them in any order).
	tableDDL(ctx context.Context, q querier, table string) (create, after []string, err error)
	// selectColumn is the select expression that reads a column's stored
	// value without conversion.
	selectColumn(col string) string
	// insertPrefix returns "INSERT INTO t (cols) " plus what the backend
	// needs to insert explicit values into generated columns.
	insertPrefix(table string, cols []string) string
	// foreignKeyChecks turns the session's foreign key checks off (for a
	// restore that recreates tables in any order) and back on, where the
	// backend needs it.
	foreignKeyChecks(ctx context.Context, conn *sql.Conn, on bool) error
	// watch starts watching conn while the migration files of a run execute
	// on it (in tx where DDL is transactional): it enforces below the
	// statement check what the backend can (SQLite's authorizer), and says
	// after each file whether the run's transaction is still upkeep's.
	watch(ctx context.Context, conn *sql.Conn, tx *sql.Tx) (txWatch, error)
	// afterRestore brings the table's sequences past the restored rows.
	afterRestore(ctx context.Context, q querier, table string) error

	// The desired-schema work (dialect_desired.go):
	// schemaDriver opens the schema library's driver over q.
	schemaDriver(q schema.ExecQuerier) (migrate.Driver, error)
	// schemaObjects lists the tables and the views of the current schema.
	schemaObjects(ctx context.Context, q querier) (tables, views []string, err error)
	// dropAll returns the statements that drop the views and tables, in
	// any order of their foreign keys.
	dropAll(tables, views []string) []string
}

// questionToDollar rewrites ? into $1, $2, ... outside quoted text.
func questionToDollar(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	n := 0
	inQuote := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			inQuote = !inQuote
			b.WriteByte(c)
		case c == '?' && !inQuote:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func insertColumns(d dialect, table string, cols []string) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(d.quote(table))
	b.WriteString(" (")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.quote(c))
	}
	b.WriteString(") ")
	return b.String()
}

// txWatch watches a run's connection; see [dialect.watch].
type txWatch interface {
	// enter and leave bracket each statement of a migration file.
	enter()
	leave()
	// check, called on the run's querier after each file, returns an error
	// when the transaction upkeep opened ended or was replaced, or, where
	// each statement commits on its own, when a transaction was left open.
	check(ctx context.Context, q querier) error
	// close stops watching, before the run's own commit; it may be
	// called more than once.
	close()
}
