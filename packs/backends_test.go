package packs

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/upkeep/upkeep/internal/testdb"
)

// backend makes fresh, empty databases for the conformance suite.
type backend struct {
	name string
	// fresh creates a database of its own for t, dropped in t.Cleanup,
	// and returns its address and a root folder.
	fresh func(t *testing.T) (dsn, root string)
}

var sqliteBackend = backend{name: "sqlite", fresh: func(t *testing.T) (string, string) {
	return "sqlite:data/app.db", t.TempDir()
}}

var postgresBackend = backend{name: "postgres", fresh: func(t *testing.T) (string, string) {
	return testdb.Fresh(t, "postgres"), t.TempDir()
}}

var mysqlBackend = backend{name: "mysql", fresh: func(t *testing.T) (string, string) {
	return testdb.Fresh(t, "mysql"), t.TempDir()
}}

var backends = []backend{sqliteBackend, postgresBackend, mysqlBackend}

func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			runConformance(t, b)
		})
	}
}

func openDB(t *testing.T, dsn, root string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn, root)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenSQLiteDefault(t *testing.T) {
	root := t.TempDir()
	db := openDB(t, "", root)
	if db.Backend() != "sqlite" {
		t.Fatalf("backend %s", db.Backend())
	}
	if _, err := os.Stat(filepath.Join(root, "data", "app.db")); err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := db.SQL().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q, %v", mode, err)
	}
}

func TestOpenSQLitePaths(t *testing.T) {
	root := t.TempDir()
	openDB(t, "sqlite:var/db/x.sqlite", root)
	if _, err := os.Stat(filepath.Join(root, "var", "db", "x.sqlite")); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(t.TempDir(), "abs", "y.db")
	db := openDB(t, "sqlite:"+abs, root)
	if _, err := os.Stat(abs); err != nil {
		t.Fatal(err)
	}
	if db.String() != "sqlite:"+abs {
		t.Errorf("String() = %s", db)
	}
}

func TestOpenBadDSN(t *testing.T) {
	for _, dsn := range []string{"oracle://x", "mysql://root@127.0.0.1:3306/"} {
		if _, err := Open(context.Background(), dsn, t.TempDir()); err == nil || !errorsIs(err, ErrBadDSN) {
			t.Errorf("%s: %v, want ErrBadDSN", dsn, err)
		}
	}
}
