package packs

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/upkeep/upkeep/internal/dbaddr"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// DefaultLockTimeout is how long the migration lock is waited for when an
// option leaves it 0.
const DefaultLockTimeout = 30 * time.Second

// DB is the application's database, with upkeep's tables in it.
type DB struct {
	db   *sql.DB
	d    dialect
	root string
	addr string // the address given to Open, without password, for messages
	dsn  string // the address given to Open, as given
	// owned is false for a *sql.DB handed over to New: Close leaves it open.
	owned bool

	ensureMu sync.Mutex
	ensured  bool

	// readOnly is a DB of OpenReadOnly: ensure creates nothing and notes
	// in missing which of upkeep's tables are not there; reads of them
	// find nothing.
	readOnly bool
	missing  map[string]bool

	now func() time.Time // for tests
}

// Open opens the database at dsn for the root at root and creates upkeep's
// tables in it when they are missing. dsn is read by package
// internal/dbaddr, the one parser of database addresses:
//
//   - "", "sqlite:" is root/data/app.db; "sqlite:PATH" (or sqlite://PATH)
//     is PATH, relative to root unless absolute. Its folder is created. The
//     file is opened in WAL mode with a busy timeout.
//   - "postgres://..." or "postgresql://..." is PostgreSQL, through pgx
//     (?host=/run/postgresql is a unix socket).
//   - "mysql://user:pass@host:port/db?param=value" (or mariadb://) is MySQL
//     or MariaDB, through go-sql-driver/mysql, without multiStatements
//     (upkeep splits files itself). socket=/path connects through a unix
//     socket, tls=NAME picks a TLS configuration; other parameters go to
//     the server.
//
// An application that already has a *sql.DB hands it over with [New]
// instead.
func Open(ctx context.Context, dsn, root string) (*DB, error) {
	a, err := dbaddr.Parse(dsn, root)
	if err != nil {
		return nil, fmt.Errorf("packs: %w", err)
	}
	if a.Kind == dbaddr.SQLite {
		if err := os.MkdirAll(filepath.Dir(a.Path), 0o755); err != nil {
			return nil, fmt.Errorf("packs: create folder of database %s: %w", a.Path, err)
		}
	}
	sdb, err := dbaddr.Open(a)
	if err != nil {
		return nil, fmt.Errorf("packs: %w", err)
	}
	db := &DB{db: sdb, d: dialectOf(a.Kind, a.Path), root: root, addr: a.String(), dsn: dsn, owned: true, now: time.Now}
	if err := db.ensure(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

// OpenReadOnly opens the database at dsn, as [Open] does, to read it only:
// it creates no folder, file or table and writes nothing, so that the
// commands that only look (status, history, verify, diff) change nothing
// and work on a read-only root and database. A SQLite file that does not
// exist reads as an empty database, and upkeep's tables that are missing
// read as empty: no pack recorded, no migration, no batch. Methods that
// write fail on it.
func OpenReadOnly(ctx context.Context, dsn, root string) (*DB, error) {
	a, err := dbaddr.Parse(dsn, root)
	if err != nil {
		return nil, fmt.Errorf("packs: %w", err)
	}
	sdb, err := dbaddr.OpenReadOnly(a)
	if err != nil {
		return nil, fmt.Errorf("packs: %w", err)
	}
	db := &DB{db: sdb, d: dialectOf(a.Kind, a.Path), root: root, addr: a.String(), dsn: dsn, owned: true, now: time.Now, readOnly: true}
	if err := db.ensure(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

// Dialect names a database backend, for [New].
type Dialect string

// The backends.
const (
	DialectSQLite   Dialect = "sqlite"
	DialectPostgres Dialect = "postgres"
	DialectMySQL    Dialect = "mysql"
)

// New uses a database the application has already opened, in goose's
// style (goose.NewProvider(dialect, db, ...)): opening is the caller's
// business, done once. It creates upkeep's tables when they are missing.
// [DB.Close] leaves sdb open. For SQLite, the file is the one sdb has open
// as "main"; root is the application's root, as for [Open].
func New(ctx context.Context, d Dialect, sdb *sql.DB, root string) (*DB, error) {
	if sdb == nil {
		return nil, fmt.Errorf("packs: New: no database")
	}
	db := &DB{db: sdb, root: root, now: time.Now}
	switch d {
	case DialectSQLite:
		var seq int
		var name, file string
		if err := sdb.QueryRowContext(ctx, "PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
			return nil, fmt.Errorf("packs: New: read the SQLite file's name: %w", err)
		}
		if file == "" {
			return nil, fmt.Errorf("packs: New: the SQLite database is in memory; upkeep needs a file it can back up")
		}
		db.d, db.addr, db.dsn = sqliteDialect{path: file}, "sqlite:"+file, "sqlite:"+file
	case DialectPostgres:
		db.d, db.addr = postgresDialect{}, "postgres (handed over)"
	case DialectMySQL:
		db.d, db.addr = mysqlDialect{}, "mysql (handed over)"
	default:
		return nil, fmt.Errorf("%w: dialect %q: want %q, %q or %q", ErrBadDSN, d, DialectSQLite, DialectPostgres, DialectMySQL)
	}
	if err := db.ensure(ctx); err != nil {
		return nil, err
	}
	return db, nil
}

func dialectOf(k dbaddr.Kind, path string) dialect {
	switch k {
	case dbaddr.SQLite:
		return sqliteDialect{path: path}
	case dbaddr.Postgres:
		return postgresDialect{}
	}
	return mysqlDialect{}
}

// Close closes the database, unless it was handed over to [New].
func (db *DB) Close() error {
	if !db.owned {
		return nil
	}
	return db.db.Close()
}

// SQL returns the database/sql handle, for the application's own use.
func (db *DB) SQL() *sql.DB { return db.db }

// Backend returns "sqlite", "postgres" or "mysql", for reports. Code that
// needs to know what the backend can do asks the dialect instead
// ([DB.TransactionalDDL]).
func (db *DB) Backend() string { return db.d.name() }

// TransactionalDDL tells whether CREATE, ALTER and DROP run inside a
// transaction and roll back with it (SQLite, PostgreSQL), so that a failed
// run of migrations leaves nothing behind; where they do not
// (MySQL/MariaDB), a caller that must be able to undo a run exports the
// tables first.
func (db *DB) TransactionalDDL() bool { return db.d.transactionalDDL() }

// Address is the address the database was opened with, password included
// ("" for a server database handed over to [New]): what backup tools that
// connect by themselves (pg_dump, mariadb-dump) need.
func (db *DB) Address() string { return db.dsn }

// String returns the database's address without its password.
func (db *DB) String() string { return db.addr }

// ensure creates upkeep's tables when they are missing.
func (db *DB) ensure(ctx context.Context) error {
	db.ensureMu.Lock()
	defer db.ensureMu.Unlock()
	if db.ensured {
		return nil
	}
	if db.readOnly {
		names, err := db.d.tableNames(ctx, db.db)
		if err != nil {
			return fmt.Errorf("packs: read the tables of %s: %w", db.addr, err)
		}
		db.missing = map[string]bool{}
		for _, t := range upkeepTables {
			db.missing[t] = !slices.Contains(names, t)
		}
		db.ensured = true
		return nil
	}
	if err := db.d.setup(ctx, db.db); err != nil {
		return fmt.Errorf("packs: create upkeep tables in %s: %w", db.addr, err)
	}
	db.ensured = true
	return nil
}

// upkeepTables are the tables ensure creates, as the dialects' setup
// names them.
var upkeepTables = []string{"upkeep_packs", "upkeep_settings", "upkeep_migrations", "upkeep_schema", "upkeep_progress", "upkeep_batches"}

// lacks tells whether table, one of upkeepTables, is missing from a
// read-only database: reading it finds nothing.
func (db *DB) lacks(table string) bool { return db.missing[table] }

// q rewrites a query written with ? placeholders for the backend.
func (db *DB) q(query string) string { return db.d.rebind(query) }

// querier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

func (db *DB) timestamp() string { return db.now().UTC().Format("2006-01-02T15:04:05.000000Z") }
