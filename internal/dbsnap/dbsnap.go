// Package dbsnap is each database backend's backup and restore tooling
// behind one small interface, [Tool], chosen once from the address by
// [For]:
//
//   - SQLite: VACUUM INTO a file (a consistent snapshot while the database
//     is in use, through the application's own handle when it has one);
//     loading swaps the files, keeping the old ones as PATH*.upkeep-old
//     until [Tool.Finish].
//   - PostgreSQL: pg_dump as plain SQL (--no-owner --no-privileges);
//     loading runs psql --single-transaction, dropping schema public's
//     objects (not those of extensions) first: all or nothing.
//   - MySQL/MariaDB: mariadb-dump or mysqldump (--single-transaction
//     --routines --triggers --events --hex-blob); loading drops and
//     recreates the database with its own CREATE DATABASE statement, then
//     loads the dump (DDL there commits as it goes, so undoing a load means
//     loading the snapshot taken before: [ErrReload]).
//
// Passwords go to the tools in PGPASSWORD and MYSQL_PWD, never on the
// command line. A missing tool is a [*ToolMissingError] naming the Debian
// package. A new backend implements Tool here and is listed in the dialect
// checklist of package packs (packs/dialect.go); the conformance suite of
// package packs runs every Tool.
package dbsnap

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/upkeep/upkeep/internal/dbaddr"
)

// Tool is one backend's backup and restore tooling.
type Tool interface {
	// SnapshotName is the snapshot's file name: the SQLite file's base
	// name, or dump.sql.
	SnapshotName() string
	// Estimate is about how many bytes a snapshot takes; 0 when unknown.
	Estimate(ctx context.Context) int64
	// Snapshot writes a consistent copy of the database to dst (a new
	// file) and fsyncs it. absent is set, and nothing written, when there is
	// no database to copy (a SQLite file that does not exist).
	Snapshot(ctx context.Context, dst string) (absent bool, err error)
	// Load replaces the database with the snapshot at src; src "" means
	// the database did not exist (SQLite: the file is moved aside).
	Load(ctx context.Context, src string) error
	// Undo puts back what a failed or interrupted Load replaced, looking
	// at the disk first, so it can run again. It returns [ErrReload] when
	// only loading a snapshot taken before can (MySQL/MariaDB).
	Undo(ctx context.Context) error
	// Finish removes what Load kept for Undo.
	Finish() error
}

// ErrReload is returned by [Tool.Undo] when the backend cannot undo a load
// by itself: the caller loads the snapshot it took before.
var ErrReload = errors.New("dbsnap: undo by loading the snapshot taken before")

// ErrToolMissing is matched by [*ToolMissingError].
var ErrToolMissing = errors.New("database tool not installed")

// ToolMissingError names the programs that were looked for and the Debian
// package that has them. It matches [ErrToolMissing].
type ToolMissingError struct {
	Tools   []string // looked for, in order
	Package string   // Debian package that installs them
}

func (e *ToolMissingError) Error() string {
	return fmt.Sprintf("%s (Debian package %s: apt-get install %s)", notInstalled(e.Tools), e.Package, e.Package)
}

// Is makes errors.Is(err, ErrToolMissing) true.
func (e *ToolMissingError) Is(target error) bool { return target == ErrToolMissing }

func notInstalled(names []string) string {
	switch len(names) {
	case 0:
		return "database tool is not installed"
	case 1:
		return names[0] + " is not installed"
	}
	return "neither " + strings.Join(names[:len(names)-1], ", ") + " nor " + names[len(names)-1] + " is installed"
}

// Options are the optional parts of [For].
type Options struct {
	// DB is an open handle on the database; SQLite's snapshot runs VACUUM
	// INTO through it instead of opening the file once more.
	DB *sql.DB
	// Step, when set, is called before each rename of SQLite's Load; an
	// error it returns fails the load there (tests inject faults).
	Step func(step string) error
}

// For returns the tooling of the backend a names.
func For(a dbaddr.Addr, o Options) Tool {
	switch a.Kind {
	case dbaddr.SQLite:
		return &sqliteTool{path: a.Path, db: o.DB, step: o.Step}
	case dbaddr.Postgres:
		return &postgresTool{a: a}
	}
	return &mysqlTool{a: a}
}

// SQLiteSuffixes are the files SQLite keeps beside a database.
var SQLiteSuffixes = []string{"", "-wal", "-shm", "-journal"}

// Names SQLite's Load gives the new file and the old ones while it swaps
// them.
const (
	SQLiteNew = ".upkeep-new"
	SQLiteOld = ".upkeep-old"
)

type sqliteTool struct {
	path string
	db   *sql.DB
	step func(string) error
}

func (t *sqliteTool) SnapshotName() string { return filepath.Base(t.path) }

func (t *sqliteTool) Estimate(context.Context) int64 {
	var n int64
	for _, s := range []string{"", "-wal"} {
		if fi, err := os.Stat(t.path + s); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func (t *sqliteTool) Snapshot(ctx context.Context, dst string) (bool, error) {
	if _, err := os.Stat(t.path); errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	db := t.db
	if db == nil {
		var err error
		if db, err = dbaddr.Open(dbaddr.Addr{Kind: dbaddr.SQLite, Path: t.path}); err != nil {
			return false, err
		}
		defer db.Close()
	}
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return false, fmt.Errorf("snapshot SQLite database %s (VACUUM INTO): %w", t.path, err)
	}
	return false, syncFile(dst)
}

func (t *sqliteTool) Load(_ context.Context, src string) error {
	if src != "" {
		if err := os.MkdirAll(filepath.Dir(t.path), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(t.path), err)
		}
		if err := copyFile(src, t.path+SQLiteNew); err != nil {
			return err
		}
	}
	for _, s := range SQLiteSuffixes {
		if t.step != nil {
			if err := t.step("sqlite"); err != nil {
				return err
			}
		}
		if err := os.Rename(t.path+s, t.path+s+SQLiteOld); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("move %s aside: %w", t.path+s, err)
		}
	}
	if src != "" {
		if err := os.Rename(t.path+SQLiteNew, t.path); err != nil {
			return fmt.Errorf("move %s into place: %w", t.path, err)
		}
	}
	return syncDir(filepath.Dir(t.path))
}

// Undo: for each PATH*.upkeep-old that is there, the file now in its
// place (the loaded one) is removed and the old one renamed back. Files
// that were never moved are the old ones and stay.
func (t *sqliteTool) Undo(context.Context) error {
	var errs []error
	for _, s := range SQLiteSuffixes {
		old := t.path + s + SQLiteOld
		if _, err := os.Lstat(old); err != nil {
			continue
		}
		if err := os.Remove(t.path + s); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove restored %s: %w", t.path+s, err))
			continue
		}
		if err := os.Rename(old, t.path+s); err != nil {
			errs = append(errs, fmt.Errorf("put back %s: %w", t.path+s, err))
		}
	}
	os.Remove(t.path + SQLiteNew)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return syncDir(filepath.Dir(t.path))
}

func (t *sqliteTool) Finish() error {
	for _, s := range SQLiteSuffixes {
		if err := os.Remove(t.path + s + SQLiteOld); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

type postgresTool struct{ a dbaddr.Addr }

func (t *postgresTool) SnapshotName() string { return "dump.sql" }

func (t *postgresTool) Estimate(ctx context.Context) int64 {
	out, err := t.run(ctx, "psql", nil, "-X", "-A", "-t", "-c", "select pg_database_size(current_database())")
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	return n
}

func (t *postgresTool) Snapshot(ctx context.Context, dst string) (bool, error) {
	if _, err := t.run(ctx, "pg_dump", nil, "--format=plain", "--no-owner", "--no-privileges", "--file="+dst); err != nil {
		return false, fmt.Errorf("snapshot PostgreSQL database %s: %w", t.a.Source(), err)
	}
	return false, syncFile(dst)
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

func (t *postgresTool) Load(ctx context.Context, src string) error {
	if src == "" {
		return fmt.Errorf("restore PostgreSQL database %s: no dump", t.a.Source())
	}
	if _, err := t.run(ctx, "psql", nil, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
		"-c", pgDropPublic, "-f", src); err != nil {
		return fmt.Errorf("restore PostgreSQL database %s from %s: %w", t.a.Source(), filepath.Base(src), err)
	}
	return nil
}

// Undo: the load ran in one transaction; a failed one changed nothing.
func (t *postgresTool) Undo(context.Context) error { return nil }
func (t *postgresTool) Finish() error              { return nil }

// run runs a PostgreSQL client with the connection in --dbname, the
// password in the environment.
func (t *postgresTool) run(ctx context.Context, name string, stdin io.Reader, args ...string) (string, error) {
	tool, err := lookTool([]string{name}, "postgresql-client")
	if err != nil {
		return "", err
	}
	u := *t.a.URL
	var env []string
	if pw := t.a.Password(); pw != "" {
		env = append(env, "PGPASSWORD="+pw)
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.Scheme = "postgresql"
	return runTool(ctx, tool, env, stdin, append([]string{"--dbname=" + u.String()}, args...)...)
}

type mysqlTool struct{ a dbaddr.Addr }

func (t *mysqlTool) SnapshotName() string { return "dump.sql" }

func (t *mysqlTool) Estimate(ctx context.Context) int64 {
	out, err := t.run(ctx, nil, "-N", "-B", "-e",
		"select coalesce(sum(data_length+index_length),0) from information_schema.tables where table_schema=database()", t.a.Database())
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	return n
}

func (t *mysqlTool) Snapshot(ctx context.Context, dst string) (bool, error) {
	tool, err := lookTool([]string{"mariadb-dump", "mysqldump"}, "mariadb-client")
	if err != nil {
		return false, err
	}
	args := append(t.connArgs(), "--single-transaction", "--routines", "--triggers", "--events",
		"--hex-blob", "--default-character-set=utf8mb4", "--result-file="+dst, t.a.Database())
	if _, err := runTool(ctx, tool, t.env(), nil, args...); err != nil {
		return false, fmt.Errorf("snapshot MySQL database %s: %w", t.a.Source(), err)
	}
	return false, syncFile(dst)
}

func (t *mysqlTool) Load(ctx context.Context, src string) error {
	if src == "" {
		return fmt.Errorf("restore MySQL database %s: no dump", t.a.Source())
	}
	db := t.a.Database()
	out, err := t.run(ctx, nil, "-N", "-B", "-e", "SHOW CREATE DATABASE "+myQuote(db))
	if err != nil {
		return fmt.Errorf("read MySQL database %s: %w", t.a.Source(), err)
	}
	_, create, ok := strings.Cut(strings.TrimSpace(out), "\t")
	if !ok {
		return fmt.Errorf("read MySQL database %s: unexpected SHOW CREATE DATABASE output %q", t.a.Source(), out)
	}
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open dump %s: %w", src, err)
	}
	defer f.Close()
	head := "DROP DATABASE " + myQuote(db) + ";\n" + create + ";\nUSE " + myQuote(db) + ";\n"
	if _, err := t.run(ctx, io.MultiReader(strings.NewReader(head), f), "--default-character-set=utf8mb4"); err != nil {
		return fmt.Errorf("restore MySQL database %s from %s: %w", t.a.Source(), filepath.Base(src), err)
	}
	return nil
}

// Undo: DDL committed as the load ran; only the snapshot taken before has
// the database as it was.
func (t *mysqlTool) Undo(context.Context) error { return ErrReload }
func (t *mysqlTool) Finish() error              { return nil }

func (t *mysqlTool) connArgs() []string {
	u := t.a.URL
	var args []string
	if s := u.Query().Get("socket"); s != "" {
		args = append(args, "--socket="+s, "--protocol=SOCKET")
	} else if h := u.Hostname(); h != "" {
		args = append(args, "--host="+h, "--protocol=TCP")
	}
	if p := u.Port(); p != "" {
		args = append(args, "--port="+p)
	}
	if u.User != nil && u.User.Username() != "" {
		args = append(args, "--user="+u.User.Username())
	}
	return args
}

// env passes the password in MYSQL_PWD, off the command line.
func (t *mysqlTool) env() []string {
	if pw := t.a.Password(); pw != "" {
		return []string{"MYSQL_PWD=" + pw}
	}
	return nil
}

// run runs the MariaDB/MySQL command-line client.
func (t *mysqlTool) run(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	tool, err := lookTool([]string{"mariadb", "mysql"}, "mariadb-client")
	if err != nil {
		return "", err
	}
	return runTool(ctx, tool, t.env(), stdin, append(t.connArgs(), args...)...)
}

func myQuote(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// Client runs the backend's command-line client (psql, or mariadb/mysql
// on the address's database) with args and stdin, and returns its stdout
// (tests, and the estimate).
func Client(ctx context.Context, a dbaddr.Addr, stdin io.Reader, args ...string) (string, error) {
	switch a.Kind {
	case dbaddr.Postgres:
		return (&postgresTool{a: a}).run(ctx, "psql", stdin, args...)
	case dbaddr.MySQL:
		t := &mysqlTool{a: a}
		return t.run(ctx, stdin, append(args, a.Database())...)
	}
	return "", fmt.Errorf("dbsnap: no command-line client for %s", a.Kind)
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

func syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("sync %s: %w", name, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", name, err)
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

// copyFile copies src to dst (new or truncated) and fsyncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dst, err)
	}
	return out.Close()
}
