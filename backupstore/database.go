package backupstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/upkeep/upkeep/layout"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, for VACUUM INTO
)

// dbConfig is a parsed database DSN.
type dbConfig struct {
	kind string // DBNone, DBSQLite, DBPostgres, DBMySQL
	// SQLite
	path string // absolute
	rel  string // slash path from the root; "" when outside it
	// servers
	u *url.URL
}

func parseDB(root layout.Root, dsn string) (dbConfig, error) {
	switch {
	case dsn == "":
		dsn = "sqlite:" + layout.DefaultDB
	case dsn == DBNone:
		return dbConfig{kind: DBNone}, nil
	}
	if p, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		p = strings.TrimPrefix(p, "//")
		if p == "" {
			return dbConfig{}, fmt.Errorf("%w: %q has no path", ErrUnsupportedDatabase, dsn)
		}
		abs := filepath.FromSlash(p)
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(root.Dir, abs)
		}
		c := dbConfig{kind: DBSQLite, path: abs}
		if rel, err := filepath.Rel(root.Dir, abs); err == nil && filepath.IsLocal(rel) {
			c.rel = filepath.ToSlash(rel)
		}
		return c, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return dbConfig{}, fmt.Errorf("%w: %v", ErrUnsupportedDatabase, err)
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		return dbConfig{kind: DBPostgres, u: u}, nil
	case "mysql", "mariadb":
		if strings.Trim(u.Path, "/") == "" {
			return dbConfig{}, fmt.Errorf("%w: %s names no database", ErrUnsupportedDatabase, redact(u))
		}
		return dbConfig{kind: DBMySQL, u: u}, nil
	}
	return dbConfig{}, fmt.Errorf("%w: %q (want sqlite:PATH, postgres://... or mysql://...)", ErrUnsupportedDatabase, redactString(dsn))
}

func redact(u *url.URL) string { return u.Redacted() }

func redactString(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	return "(unparsable)"
}

// source is what backup.json records as the database's source.
func (c dbConfig) source() string {
	switch c.kind {
	case DBSQLite:
		if c.rel != "" {
			return c.rel
		}
		return c.path
	case DBPostgres, DBMySQL:
		u := *c.u
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		return u.String()
	}
	return ""
}

// sqliteSuffixes are the files SQLite keeps beside a database, and the
// names Restore gives the old and new file while it swaps them.
var sqliteSuffixes = []string{"", "-wal", "-shm", "-journal"}

const (
	sqliteNew = ".upkeep-new"
	sqliteOld = ".upkeep-old"
)

// excludedPaths are the root paths of the database files, which go into
// the backup as a snapshot, never as files.
func (c dbConfig) excludedPaths() []string {
	if c.kind != DBSQLite || c.rel == "" {
		return nil
	}
	var ps []string
	for _, s := range sqliteSuffixes {
		ps = append(ps, c.rel+s, c.rel+s+sqliteNew, c.rel+s+sqliteOld)
	}
	return ps
}

// snapshotName is the snapshot's entry in the zip.
func (c dbConfig) snapshotName() string {
	if c.kind == DBSQLite {
		return DatabaseDir + filepath.Base(c.path)
	}
	return DatabaseDir + "dump.sql"
}

// estimate is about how many bytes a snapshot takes; 0 when unknown.
func (c dbConfig) estimate(ctx context.Context) int64 {
	switch c.kind {
	case DBSQLite:
		var n int64
		for _, s := range []string{"", "-wal"} {
			if fi, err := os.Stat(c.path + s); err == nil {
				n += fi.Size()
			}
		}
		return n
	case DBPostgres:
		out, err := c.pgRun(ctx, "psql", nil, "-X", "-A", "-t", "-c", "select pg_database_size(current_database())")
		if err == nil {
			n, _ := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
			return n
		}
	case DBMySQL:
		out, err := c.myRun(ctx, nil, "-N", "-B", "-e",
			"select coalesce(sum(data_length+index_length),0) from information_schema.tables where table_schema=database()", c.myDB())
		if err == nil {
			n, _ := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
			return n
		}
	}
	return 0
}

// snapshot writes a consistent copy of the database to dst. absent is set
// (and nothing written) when the SQLite file does not exist.
func (c dbConfig) snapshot(ctx context.Context, dst string) (absent bool, err error) {
	switch c.kind {
	case DBSQLite:
		if _, err := os.Stat(c.path); errors.Is(err, os.ErrNotExist) {
			return true, nil
		}
		db, err := sql.Open("sqlite", "file:"+c.path+"?_pragma=busy_timeout(30000)")
		if err != nil {
			return false, fmt.Errorf("backupstore: open SQLite database %s: %w", c.path, err)
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
			return false, fmt.Errorf("backupstore: snapshot SQLite database %s (VACUUM INTO): %w", c.path, err)
		}
		return false, syncFile(dst)
	case DBPostgres:
		if _, err := c.pgRun(ctx, "pg_dump", nil, "--format=plain", "--no-owner", "--no-privileges", "--file="+dst); err != nil {
			return false, fmt.Errorf("backupstore: snapshot PostgreSQL database %s: %w", c.source(), err)
		}
		return false, syncFile(dst)
	case DBMySQL:
		tool, err := lookTool([]string{"mariadb-dump", "mysqldump"}, "mariadb-client")
		if err != nil {
			return false, err
		}
		args := append(c.myConnArgs(), "--single-transaction", "--routines", "--triggers", "--events",
			"--hex-blob", "--default-character-set=utf8mb4", "--result-file="+dst, c.myDB())
		if _, err := runTool(ctx, tool, c.myEnv(), nil, args...); err != nil {
			return false, fmt.Errorf("backupstore: snapshot MySQL database %s: %w", c.source(), err)
		}
		return false, syncFile(dst)
	}
	return true, nil
}

// lookTool finds the first of names on PATH.
func lookTool(names []string, pkg string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", &ToolMissingError{Tools: names, Package: pkg}
}

// runTool runs a client program and returns its stdout; a failure carries
// its stderr.
func runTool(ctx context.Context, tool string, env []string, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + "..."
		}
		return "", fmt.Errorf("%s: %w: %s", filepath.Base(tool), err, msg)
	}
	return stdout.String(), nil
}

// pgRun runs a PostgreSQL client with the connection in its environment
// (the password never on the command line) and --dbname without it.
func (c dbConfig) pgRun(ctx context.Context, name string, stdin io.Reader, args ...string) (string, error) {
	tool, err := lookTool([]string{name}, "postgresql-client")
	if err != nil {
		return "", err
	}
	u := *c.u
	var env []string
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			env = append(env, "PGPASSWORD="+pw)
		}
		u.User = url.User(u.User.Username())
	}
	u.Scheme = "postgresql"
	return runTool(ctx, tool, env, stdin, append([]string{"--dbname=" + u.String()}, args...)...)
}

func (c dbConfig) myDB() string { return strings.Trim(c.u.Path, "/") }

func (c dbConfig) myConnArgs() []string {
	var args []string
	if h := c.u.Hostname(); h != "" {
		args = append(args, "--host="+h, "--protocol=TCP")
	}
	if p := c.u.Port(); p != "" {
		args = append(args, "--port="+p)
	}
	if c.u.User != nil && c.u.User.Username() != "" {
		args = append(args, "--user="+c.u.User.Username())
	}
	return args
}

// myEnv passes the password in MYSQL_PWD, off the command line.
func (c dbConfig) myEnv() []string {
	if c.u.User != nil {
		if pw, ok := c.u.User.Password(); ok {
			return []string{"MYSQL_PWD=" + pw}
		}
	}
	return nil
}

// myRun runs the MariaDB/MySQL command-line client.
func (c dbConfig) myRun(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	tool, err := lookTool([]string{"mariadb", "mysql"}, "mariadb-client")
	if err != nil {
		return "", err
	}
	return runTool(ctx, tool, c.myEnv(), stdin, append(c.myConnArgs(), args...)...)
}

// pgDropPublic drops the objects of schema public that are not part of an
// extension, so that loading a plain dump recreates exactly what it holds.
const pgDropPublic = `DO $upkeep$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('DROP %s IF EXISTS public.%I CASCADE',
      CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
        WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, r.relname);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS sig, p.prokind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('DROP %s IF EXISTS %s CASCADE',
      CASE r.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END, r.sig);
  END LOOP;
  FOR r IN SELECT t.typname, t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r', 'm')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('DROP %s IF EXISTS public.%I CASCADE', CASE r.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, r.typname);
  END LOOP;
END
$upkeep$;`

// restoreServer loads a dump into a server database, replacing what it
// holds. PostgreSQL does it in one transaction (all or nothing); MySQL
// drops and recreates the database with its CREATE DATABASE options, then
// loads the dump: DDL there commits as it goes.
func (c dbConfig) restoreServer(ctx context.Context, dump string) error {
	switch c.kind {
	case DBPostgres:
		if _, err := c.pgRun(ctx, "psql", nil, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
			"-c", pgDropPublic, "-f", dump); err != nil {
			return fmt.Errorf("backupstore: restore PostgreSQL database %s from %s: %w", c.source(), filepath.Base(dump), err)
		}
		return nil
	case DBMySQL:
		db := c.myDB()
		out, err := c.myRun(ctx, nil, "-N", "-B", "-e", "SHOW CREATE DATABASE "+myQuote(db))
		if err != nil {
			return fmt.Errorf("backupstore: read MySQL database %s: %w", c.source(), err)
		}
		_, create, ok := strings.Cut(strings.TrimSpace(out), "\t")
		if !ok {
			return fmt.Errorf("backupstore: read MySQL database %s: unexpected SHOW CREATE DATABASE output %q", c.source(), out)
		}
		f, err := os.Open(dump)
		if err != nil {
			return fmt.Errorf("backupstore: open dump %s: %w", dump, err)
		}
		defer f.Close()
		head := "DROP DATABASE " + myQuote(db) + ";\n" + create + ";\nUSE " + myQuote(db) + ";\n"
		if _, err := c.myRun(ctx, io.MultiReader(strings.NewReader(head), f), "--default-character-set=utf8mb4"); err != nil {
			return fmt.Errorf("backupstore: restore MySQL database %s from %s: %w", c.source(), filepath.Base(dump), err)
		}
		return nil
	}
	return fmt.Errorf("%w: cannot load a dump into a %s database", ErrDatabaseMismatch, c.kind)
}

func myQuote(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }
