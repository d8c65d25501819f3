// Package dbaddr reads a database address, the value of --db and
// UPKEEP_DB, once for every package that needs it: packs opens the
// database with it, backupstore snapshots and restores it. One parser, so
// that the two can never disagree on which database an address names.
//
// The forms:
//
//	""                       the root's data/app.db (SQLite)
//	sqlite:                  the same
//	sqlite:PATH              PATH, relative to the root unless absolute
//	sqlite://PATH            the same (golang-migrate's form: sqlite://a/b.db
//	                         is the relative a/b.db, sqlite:///abs/b.db absolute)
//	postgres://... postgresql://...
//	                         PostgreSQL; ?host=/run/postgresql (a folder) is
//	                         a unix socket, as libpq and pgx read it
//	mysql://USER:PASS@HOST:PORT/DB?PARAMS  mariadb://...
//	                         MySQL or MariaDB; ?socket=/run/mysqld/mysqld.sock
//	                         is a unix socket, ?tls=NAME a TLS configuration,
//	                         other parameters go to the server
//
// Anything else is an error matching [ErrUnsupported].
package dbaddr

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/upkeep/upkeep/layout"
)

// ErrUnsupported is returned by [Parse] for an address it cannot read. Package
// packs exports it as ErrBadDSN, package backupstore as ErrUnsupportedDatabase.
var ErrUnsupported = errors.New("unsupported database address")

// Kind is the backend an address names.
type Kind string

// The backends.
const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
	MySQL    Kind = "mysql"
)

// Addr is a parsed database address.
type Addr struct {
	Kind Kind
	// Path is the SQLite file, absolute; Rel its slash path from the root,
	// "" when it is outside the root.
	Path, Rel string
	// URL is a server's address as given (password included).
	URL *url.URL
}

// Parse reads addr; root is the root folder that relative SQLite paths
// start from.
//
// A SQLite file outside the root is used only when its address is given:
// the default (addr "") whose folder or file is a symbolic link leading out
// of the root is an error matching [ErrOutsideRoot].
func Parse(addr, root string) (Addr, error) {
	if addr == "" {
		a, err := Parse("sqlite:", root)
		if err == nil && root != "" {
			err = insideRoot(a.Path, root)
		}
		return a, err
	}
	if p, ok := strings.CutPrefix(addr, "sqlite:"); ok {
		p = strings.TrimPrefix(p, "//")
		if p == "" {
			p = layout.DefaultDB
		}
		if strings.ContainsRune(p, 0) {
			return Addr{}, fmt.Errorf("%w: %q: a NUL byte in the path", ErrUnsupported, addr)
		}
		abs := filepath.FromSlash(p)
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(root, abs)
		}
		a := Addr{Kind: SQLite, Path: filepath.Clean(abs)}
		if rel, err := filepath.Rel(root, a.Path); err == nil && filepath.IsLocal(rel) {
			a.Rel = filepath.ToSlash(rel)
		}
		return a, nil
	}
	scheme, _, ok := strings.Cut(addr, "://")
	if !ok {
		return Addr{}, fmt.Errorf("%w: %q: want sqlite:PATH, a postgres:// URL or a mysql:// URL", ErrUnsupported, redactString(addr))
	}
	u, err := url.Parse(addr)
	if err != nil {
		return Addr{}, fmt.Errorf("%w: %q: %v", ErrUnsupported, redactString(addr), unwrapURLError(err))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return Addr{}, fmt.Errorf("%w: %s: invalid port %q", ErrUnsupported, u.Redacted(), p)
		}
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return Addr{Kind: Postgres, URL: u}, nil
	case "mysql", "mariadb":
		if strings.Trim(u.Path, "/") == "" {
			return Addr{}, fmt.Errorf("%w: %s names no database", ErrUnsupported, u.Redacted())
		}
		if strings.Contains(strings.Trim(u.Path, "/"), "/") {
			return Addr{}, fmt.Errorf("%w: %s: the database name holds a /", ErrUnsupported, u.Redacted())
		}
		return Addr{Kind: MySQL, URL: u}, nil
	}
	return Addr{}, fmt.Errorf("%w: %q: want sqlite:PATH, a postgres:// URL or a mysql:// URL", ErrUnsupported, redactString(addr))
}

// ErrOutsideRoot is returned by [Parse] when the default SQLite file,
// data/app.db in the root, leads out of the root through a symbolic link.
// A file outside the root (one shared by several roots of one machine) must
// be given explicitly, with --db or UPKEEP_DB.
var ErrOutsideRoot = errors.New("the default database is outside the root")

// insideRoot refuses path when, its symbolic links followed as far as it
// exists, it is not inside root.
func insideRoot(path, root string) error {
	real, rroot := resolve(path), resolve(root)
	if rel, err := filepath.Rel(rroot, real); err == nil && filepath.IsLocal(rel) {
		return nil
	}
	return fmt.Errorf("%w: %s leads to %s, outside the root %s (a symbolic link); a SQLite file outside the root is used only when given with --db sqlite://%s or UPKEEP_DB, and then serves this machine only",
		ErrOutsideRoot, path, real, root, real)
}

// resolve follows the symbolic links of path's longest existing prefix.
func resolve(path string) string {
	rest := ""
	for p := path; ; {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return path
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// unwrapURLError drops url.Error's repetition of the whole address (with
// its password).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func redactString(addr string) string {
	if u, err := url.Parse(addr); err == nil {
		return u.Redacted()
	}
	if i := strings.Index(addr, "@"); i >= 0 {
		if j := strings.Index(addr, "://"); j >= 0 && j < i {
			return addr[:j+3] + "xxxxx" + addr[i:]
		}
	}
	return addr
}

// String is the address without its password, for messages: sqlite:PATH
// (absolute) or the URL.
func (a Addr) String() string {
	if a.Kind == SQLite {
		return "sqlite:" + a.Path
	}
	return a.URL.Redacted()
}

// Source is what a backup records as its database: the SQLite file's path
// from the root (absolute when outside it), or the URL without password.
func (a Addr) Source() string {
	if a.Kind == SQLite {
		if a.Rel != "" {
			return a.Rel
		}
		return a.Path
	}
	u := *a.URL
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

// Password is the server password the address holds, "" for none.
func (a Addr) Password() string {
	if a.URL != nil && a.URL.User != nil {
		pw, _ := a.URL.User.Password()
		return pw
	}
	return ""
}

// Database is the MySQL database name.
func (a Addr) Database() string {
	if a.URL == nil {
		return ""
	}
	return strings.Trim(a.URL.Path, "/")
}

// Driver returns the database/sql driver name and data source name that
// open the address.
func (a Addr) Driver() (driver, dsn string) {
	switch a.Kind {
	case SQLite:
		if readOnlyFS(filepath.Dir(a.Path)) {
			// Nobody can write it (a read-only root): read it as it is,
			// without the WAL's shared-memory file that could not be
			// created either.
			return "sqlite", "file:" + a.Path + "?mode=ro&immutable=1&_pragma=busy_timeout(10000)"
		}
		return "sqlite", "file:" + a.Path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	case Postgres:
		u := *a.URL
		q := u.Query()
		if q.Get("application_name") == "" {
			q.Set("application_name", "upkeep")
			u.RawQuery = q.Encode()
		}
		return "pgx", u.String()
	default:
		return "mysql", a.MySQLConfig().FormatDSN()
	}
}

// MySQLConfig translates mysql://user:pass@host:port/db?params into the
// driver's configuration, without multiStatements (upkeep splits files
// itself).
func (a Addr) MySQLConfig() *mysql.Config {
	u := a.URL
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
	c.DBName = a.Database()
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
	return c
}

var opens atomic.Int64

// Open opens a handle on the database (sql.Open: it connects lazily). It
// is the one place upkeep opens a database; [Opens] counts its calls.
func Open(a Addr) (*sql.DB, error) {
	driver, dsn := a.Driver()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", a, err)
	}
	opens.Add(1)
	return db, nil
}

// OpenReadOnly opens a handle on the database for reading only, creating
// nothing: a SQLite file is opened read-only (its journal mode left as it
// is; immutable when no other connection has it open in WAL mode, so that
// no -wal or -shm file is made: a writer that starts during the read may
// then make it fail), and one that does not exist reads as an empty
// database, in memory.
// On a server, what is read-only is the caller's business: it writes
// nothing.
func OpenReadOnly(a Addr) (*sql.DB, error) {
	if a.Kind != SQLite {
		return Open(a)
	}
	dsn := "file::memory:"
	if _, err := os.Stat(a.Path); err == nil {
		dsn = "file:" + a.Path + "?mode=ro&_pragma=busy_timeout(10000)"
		if _, err := os.Stat(a.Path + "-wal"); errors.Is(err, fs.ErrNotExist) || readOnlyFS(filepath.Dir(a.Path)) {
			// No connection has the database open in WAL mode (it keeps
			// the -wal file while it does), or none can: read the file as
			// it is. A read-only connection would otherwise create the
			// -wal and -shm files, and could not remove them.
			dsn += "&immutable=1"
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open %s: %w", a, err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", a, err)
	}
	opens.Add(1)
	return db, nil
}

// Opens is how many handles [Open] has opened in this process: a start
// opens one, however much it does with the database.
func Opens() int64 { return opens.Load() }

// Same reports whether a and b name one database: for SQLite the same
// file; for servers the same kind, host, port and database name (users
// and parameters aside; localhost, ::1 and an empty host are 127.0.0.1).
func (a Addr) Same(b Addr) bool {
	ia, ib := a.identity(), b.identity()
	return ia != "" && ia == ib
}

func (a Addr) identity() string {
	switch a.Kind {
	case SQLite:
		return "sqlite:" + a.Path
	case Postgres, MySQL:
	default:
		return ""
	}
	port := "5432"
	if a.Kind == MySQL {
		port = "3306"
	}
	u := a.URL
	host := strings.ToLower(u.Hostname())
	switch host {
	case "", "localhost", "::1":
		host = "127.0.0.1"
	}
	if u.Port() != "" {
		port = u.Port()
	}
	if s := u.Query().Get("socket"); s != "" {
		host, port = "unix:"+s, ""
	}
	if s := u.Query().Get("host"); s != "" && a.Kind == Postgres {
		host = s
	}
	return string(a.Kind) + "://" + host + ":" + port + "/" + strings.Trim(u.Path, "/")
}
