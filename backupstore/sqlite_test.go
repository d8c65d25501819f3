package backupstore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// mkSQLite (re)creates a database with n rows in table posts.
func mkSQLite(t *testing.T, path string, n int) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	for _, s := range sqliteSuffixes {
		os.Remove(path + s)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stmts := []string{"PRAGMA journal_mode=WAL", "CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT, body BLOB)"}
	for i := 1; i <= n; i++ {
		stmts = append(stmts, fmt.Sprintf("INSERT INTO posts (title, body) VALUES ('post %d', randomblob(%d))", i, i*100))
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
}

// rows returns table posts as text, one row a line.
func rows(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Query("SELECT id, title, hex(body) FROM posts ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out string
	for rs.Next() {
		var id int
		var title, body string
		if err := rs.Scan(&id, &title, &body); err != nil {
			t.Fatal(err)
		}
		out += fmt.Sprintf("%d|%s|%s\n", id, title, body)
	}
	return out
}

func countRows(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM posts").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A SQLite database is snapshotted with VACUUM INTO (the live file and its
// WAL are not copied as files) and restored row for row.
func TestSQLiteSnapshotAndRestore(t *testing.T) {
	r := newRoot(t)
	dbPath := filepath.Join(r.Dir, "data", "app.db")
	mkSQLite(t, dbPath, 50)
	write(t, r.Dir, "data/uploads/a.txt", []byte("a"), 0o644)
	want := rows(t, dbPath)
	b := create(t, CreateOptions{Root: r})
	m, err := Show(r, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Database.Kind != DBSQLite || m.Database.Source != "data/app.db" || m.Database.Snapshot == nil ||
		m.Database.Snapshot.Path != "database/app.db" {
		t.Fatalf("database = %+v", m.Database)
	}
	for _, f := range m.Files {
		if filepath.Base(f.Path) == "app.db" || filepath.Ext(f.Path) == ".db-wal" {
			t.Errorf("database file %s backed up as a file", f.Path)
		}
	}
	// The snapshot in the zip is a database with the same rows.
	out := t.TempDir()
	unzipTo(t, b.Path, out)
	if got := rows(t, filepath.Join(out, "database", "app.db")); got != want {
		t.Error("snapshot rows differ from the database's")
	}

	mkSQLite(t, dbPath, 3)
	if _, err := Restore(context.Background(), RestoreOptions{Root: r, ID: b.ID}); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, dbPath); got != want {
		t.Errorf("restored rows differ:\n%.200s\nwant\n%.200s", got, want)
	}
	for _, s := range []string{sqliteNew, sqliteOld, "-wal" + sqliteOld} {
		if _, err := os.Stat(dbPath + s); err == nil {
			t.Errorf("%s left behind", dbPath+s)
		}
	}
	// The before-restore backup holds the 3-row database.
	list, _ := List(r)
	out2 := t.TempDir()
	unzipTo(t, list[0].Path, out2)
	if n := countRows(t, filepath.Join(out2, "database", "app.db")); n != 3 {
		t.Errorf("before-restore snapshot has %d rows, want 3", n)
	}
}

// A backup taken while the SQLite file was absent restores to no file.
func TestSQLiteAbsent(t *testing.T) {
	r := newRoot(t)
	b := create(t, CreateOptions{Root: r})
	dbPath := filepath.Join(r.Dir, "data", "app.db")
	mkSQLite(t, dbPath, 2)
	if _, err := Restore(context.Background(), RestoreOptions{Root: r, ID: b.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Errorf("database file after restoring a backup without one: %v", err)
	}
}

// Restoring a backup taken without a database leaves the database alone.
func TestRestoreFilesOnlyKeepsDatabase(t *testing.T) {
	r := newRoot(t)
	write(t, r.Dir, "a.txt", []byte("a"), 0o644)
	b := create(t, CreateOptions{Root: r, DB: "none"})
	dbPath := filepath.Join(r.Dir, "data", "app.db")
	mkSQLite(t, dbPath, 4)
	write(t, r.Dir, "a.txt", []byte("changed"), 0o644)
	if _, err := Restore(context.Background(), RestoreOptions{Root: r, ID: b.ID}); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, dbPath); n != 4 {
		t.Errorf("database has %d rows, want 4 (untouched)", n)
	}
	if data, _ := os.ReadFile(filepath.Join(r.Dir, "a.txt")); string(data) != "a" {
		t.Errorf("a.txt = %q", data)
	}
}
