// Package testdb gives tests real databases: a fresh PostgreSQL or
// MariaDB database per test, dropped afterwards, at the addresses in
// UPKEEP_TEST_POSTGRES and UPKEEP_TEST_MYSQL; and a dump of what the
// safety contract speaks of (the application's tables and rows, each pack's
// recorded version). A test that needs a server skips when its address is
// unset, and fails instead when UPKEEP_TEST_REQUIRE=1.
package testdb

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// Backends are the database kinds upkeep supports.
var Backends = []string{"sqlite", "postgres", "mysql"}

var envOf = map[string]string{"postgres": "UPKEEP_TEST_POSTGRES", "mysql": "UPKEEP_TEST_MYSQL"}

// Need returns the server address for kind ("postgres" or "mysql"), or
// skips t (fails it with UPKEEP_TEST_REQUIRE=1) when it is not set.
func Need(t testing.TB, kind string) string {
	t.Helper()
	env := envOf[kind]
	addr := os.Getenv(env)
	if addr == "" {
		if os.Getenv("UPKEEP_TEST_REQUIRE") == "1" {
			t.Fatalf("%s is not set and UPKEEP_TEST_REQUIRE=1", env)
		}
		t.Skipf("%s is not set", env)
	}
	return addr
}

// Fresh returns the address of a new, empty database of kind, dropped when
// t ends. For "sqlite" it returns "" (upkeep's default, data/app.db in the
// root), which lives and dies with the root's folder.
func Fresh(t testing.TB, kind string) string {
	t.Helper()
	if kind == "sqlite" {
		return ""
	}
	admin := Need(t, kind)
	name := "upkeep_t_" + random()
	exec(t, admin, "CREATE DATABASE "+name)
	t.Cleanup(func() {
		drop := "DROP DATABASE IF EXISTS " + name
		if kind == "postgres" {
			drop += " WITH (FORCE)"
		}
		exec(t, admin, drop)
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func random() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func exec(t testing.TB, dsn, stmt string) {
	t.Helper()
	db, err := Open(dsn, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// Open opens dsn as upkeep reads it ("" or sqlite:PATH relative to root,
// postgres://..., mysql://...) with database/sql.
func Open(dsn, root string) (*sql.DB, error) {
	switch {
	case dsn == "" || strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			path = "data/app.db"
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		return sql.Open("sqlite", path)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return sql.Open("pgx", dsn)
	case strings.HasPrefix(dsn, "mysql://"):
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, err
		}
		c := mysql.NewConfig()
		c.User = u.User.Username()
		c.Passwd, _ = u.User.Password()
		c.Net, c.Addr, c.DBName = "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
		return sql.Open("mysql", c.FormatDSN())
	}
	return nil, fmt.Errorf("testdb: unknown database address %q", dsn)
}

// Dump reads what the safety contract promises of the database at dsn:
// every application table's columns and rows, and each pack's recorded
// version and schema version (upkeep's other rows carry times). It is
// empty for a SQLite file that does not exist.
func Dump(t testing.TB, dsn, root string) map[string]string {
	t.Helper()
	return dump(t, dsn, root, false)
}

// DumpAll is [Dump] of every table, upkeep's with all their rows too: what
// a command that only looks must leave as it found it.
func DumpAll(t testing.TB, dsn, root string) map[string]string {
	t.Helper()
	return dump(t, dsn, root, true)
}

func dump(t testing.TB, dsn, root string, all bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	if dsn == "" || strings.HasPrefix(dsn, "sqlite:") {
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			path = "data/app.db"
		}
		if _, err := os.Stat(filepath.Join(root, path)); err != nil {
			return out
		}
	}
	db, err := Open(dsn, root)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables, columns string
	switch {
	case dsn == "" || strings.HasPrefix(dsn, "sqlite:"):
		tables = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'upkeep_%' AND name NOT LIKE 'sqlite_%'`
		columns = `SELECT name || ' ' || type FROM pragma_table_info(?) ORDER BY cid`
	case strings.HasPrefix(dsn, "mysql://"):
		tables = `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name NOT LIKE 'upkeep\_%'`
		columns = `SELECT CONCAT(column_name, ' ', column_type) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position`
	default:
		tables = `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name NOT LIKE 'upkeep\_%'`
		columns = `SELECT column_name || ' ' || data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`
	}
	if all {
		tables = strings.ReplaceAll(strings.ReplaceAll(tables, ` AND name NOT LIKE 'upkeep_%'`, ""), ` AND table_name NOT LIKE 'upkeep\_%'`, "")
	}
	for _, table := range strings1(t, db, tables) {
		out["table "+table] = strings.Join(strings1(t, db, columns, table), ", ")
		out["rows "+table] = fmt.Sprint(rows(t, db, "SELECT * FROM "+table+" ORDER BY 1"))
	}
	for _, r := range rows(t, db, "SELECT pack, version, schema_version FROM upkeep_packs") {
		out["pack "+r[0]] = r[1] + " schema " + r[2]
	}
	return out
}

func strings1(t testing.TB, db *sql.DB, q string, args ...any) []string {
	var out []string
	for _, r := range rows(t, db, q, args...) {
		out = append(out, r[0])
	}
	return out
}

func rows(t testing.TB, db *sql.DB, q string, args ...any) [][]string {
	t.Helper()
	rs, err := db.Query(q, args...)
	if err != nil {
		if strings.Contains(q, "upkeep_packs") {
			return nil // upkeep has not run on this database yet
		}
		t.Fatalf("%s: %v", q, err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var all [][]string
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		all = append(all, row)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return all
}
