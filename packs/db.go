package packs

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/upkeep/upkeep/layout"
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

	ensureMu sync.Mutex
	ensured  bool

	now func() time.Time // for tests
}

// Open opens the database at dsn for the root at root and creates upkeep's
// tables in it when they are missing:
//
//   - "" or "sqlite:" is root/data/app.db; "sqlite:PATH" is PATH, relative
//     to root unless absolute. Its folder is created. The file is opened in
//     WAL mode with a busy timeout.
//   - "postgres://..." or "postgresql://..." is PostgreSQL, through pgx.
//   - "mysql://user:pass@host:port/db?param=value" is MySQL or MariaDB,
//     through go-sql-driver/mysql, without multiStatements (upkeep splits
//     files itself). socket=/path connects through a unix socket, tls=NAME
//     picks a TLS configuration; other parameters go to the server.
func Open(ctx context.Context, dsn, root string) (*DB, error) {
	driver, conn, d, shown, err := resolve(dsn, root, true)
	if err != nil {
		return nil, err
	}
	sdb, err := sql.Open(driver, conn)
	if err != nil {
		return nil, fmt.Errorf("packs: open %s: %w", shown, err)
	}
	db := &DB{db: sdb, d: d, root: root, addr: shown, now: time.Now}
	if err := db.ensure(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

// resolve turns an address into the database/sql driver and connection
// string that open it, its dialect and the address as shown in messages.
// mkdir creates the folder of a SQLite file.
func resolve(dsn, root string, mkdir bool) (driver, conn string, d dialect, shown string, err error) {
	shown = dsn
	switch {
	case dsn == "" || strings.HasPrefix(dsn, "sqlite:"):
		p := strings.TrimPrefix(dsn, "sqlite:")
		if p == "" {
			p = layout.DefaultDB
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		if mkdir {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return "", "", nil, "", fmt.Errorf("packs: create folder of database %s: %w", p, err)
			}
		}
		driver = "sqlite"
		conn = "file:" + p + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		d = sqliteDialect{path: p}
		shown = "sqlite:" + p
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		u, err := url.Parse(dsn)
		if err != nil {
			return "", "", nil, "", fmt.Errorf("%w: %v", ErrBadDSN, err)
		}
		q := u.Query()
		if q.Get("application_name") == "" {
			q.Set("application_name", "upkeep")
			u.RawQuery = q.Encode()
		}
		driver, conn = "pgx", u.String()
		d = postgresDialect{}
		shown = u.Redacted()
	case strings.HasPrefix(dsn, "mysql://"):
		c, err := mysqlConfig(dsn)
		if err != nil {
			return "", "", nil, "", err
		}
		driver, conn = "mysql", c.FormatDSN()
		d = mysqlDialect{}
		u, _ := url.Parse(dsn)
		shown = u.Redacted()
	default:
		return "", "", nil, "", fmt.Errorf("%w %q: want sqlite:PATH, a postgres:// URL or a mysql:// URL", ErrBadDSN, redact(dsn))
	}
	return driver, conn, d, shown, nil
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	return dsn
}

// mysqlConfig translates mysql://user:pass@host:port/db?params into the
// driver's configuration.
func mysqlConfig(dsn string) (*mysql.Config, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadDSN, err)
	}
	c := mysql.NewConfig()
	c.Net = "tcp"
	c.User = u.User.Username()
	c.Passwd, _ = u.User.Password()
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "3306"
	}
	c.Addr = net.JoinHostPort(host, port)
	c.DBName = strings.TrimPrefix(u.Path, "/")
	if c.DBName == "" {
		return nil, fmt.Errorf("%w %s: no database name", ErrBadDSN, u.Redacted())
	}
	c.MultiStatements = false
	for k, vs := range u.Query() {
		if len(vs) == 0 {
			continue
		}
		if c.Params == nil {
			c.Params = map[string]string{}
		}
		switch k {
		case "tls":
			c.TLSConfig = vs[0]
		case "socket":
			c.Net, c.Addr = "unix", vs[0]
		default:
			c.Params[k] = vs[0]
		}
	}
	return c, nil
}

// Close closes the database.
func (db *DB) Close() error { return db.db.Close() }

// SQL returns the database/sql handle, for the application's own use.
func (db *DB) SQL() *sql.DB { return db.db }

// Backend returns "sqlite", "postgres" or "mysql".
func (db *DB) Backend() string { return db.d.name() }

// String returns the database's address without its password.
func (db *DB) String() string { return db.addr }

// ensure creates upkeep's tables when they are missing.
func (db *DB) ensure(ctx context.Context) error {
	db.ensureMu.Lock()
	defer db.ensureMu.Unlock()
	if db.ensured {
		return nil
	}
	if err := db.d.setup(ctx, db.db); err != nil {
		return fmt.Errorf("packs: create upkeep tables in %s: %w", db.addr, err)
	}
	db.ensured = true
	return nil
}

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
