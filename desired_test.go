package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// db generate writes the pair, pack refuses a mismatch and then accepts,
// and db diff names a column added by hand, end to end with the binary.
func TestDesiredSchemaCommands(t *testing.T) {
	src := source(t, "notes", "1.0.0", map[string]string{
		"migrations/0001_notes.up.sql":   "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n",
		"migrations/0001_notes.down.sql": "DROP TABLE notes;\n",
		"schema.sql": "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, mood TEXT);\n" +
			"CREATE INDEX notes_mood ON notes (mood);\nCREATE VIEW moods AS SELECT DISTINCT mood FROM notes;\n",
	}, nil, "notes")
	out := filepath.Join(t.TempDir(), "notes.zip")

	run(t, ".", "pack", src, "-o", out).want(t, 1, nil, []string{
		"do not produce " + filepath.Join(src, "schema.sql"), "add column notes.mood", "add index notes.notes_mood",
		"hint: write the missing migration with: upkeep db generate " + src})
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a refused pack wrote its zip")
	}

	run(t, ".", "db", "generate", src).want(t, 2, nil, []string{"-m MESSAGE"})
	run(t, ".", "db", "generate", src, "-m", "Add mood").want(t, 0, []string{
		"add column notes.mood", "not handled: schema.sql line 3: view moods",
		"wrote " + filepath.Join(src, "migrations", "0002_add_mood.up.sql"),
		"wrote " + filepath.Join(src, "migrations", "0002_add_mood.down.sql")}, nil)
	up, _ := os.ReadFile(filepath.Join(src, "migrations", "0002_add_mood.up.sql"))
	if !strings.Contains(string(up), "ADD COLUMN `mood`") || !strings.Contains(string(up), "CREATE INDEX `notes_mood`") {
		t.Fatalf("up file:\n%s", up)
	}
	run(t, ".", "db", "generate", src, "-m", "again").want(t, 0, []string{"no difference", "nothing written"}, nil)
	run(t, ".", "pack", src, "-o", out).want(t, 0, []string{"wrote " + out, "schema version 2"}, nil)

	// Destructive: dropping the column is refused, then allowed.
	os.WriteFile(filepath.Join(src, "schema.sql"), []byte("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n"), 0o644)
	run(t, ".", "db", "generate", src, "-m", "drop mood").want(t, 1, []string{"drop column notes.mood"}, []string{"would lose data", "--allow-destructive"})
	if _, err := os.Stat(filepath.Join(src, "migrations", "0003_drop_mood.up.sql")); err == nil {
		t.Fatal("refused generate wrote a file")
	}

	// Install the 2-migration pack, add a column by hand, diff.
	os.WriteFile(filepath.Join(src, "schema.sql"), []byte("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, mood TEXT);\nCREATE INDEX notes_mood ON notes (mood);\n"), 0o644)
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "Updates_Pending"), 0o755)
	run(t, ".", "pack", src, "-o", filepath.Join(root, "Updates_Pending", "notes.zip")).want(t, 0, nil, nil)
	run(t, root, "--install-updates", "--no-backup").want(t, 0, nil, nil)
	run(t, root, "db", "diff").want(t, 0, []string{"pack notes:", "recorded schema: no drift", "schema.sql: the live tables match it"}, nil)
	sqliteExec(t, root, "ALTER TABLE notes ADD COLUMN stars INTEGER")
	r := run(t, root, "db", "diff")
	r.want(t, 0, []string{"recorded schema: 1 difference(s)", "pack notes, notes.stars: column added, is stars INTEGER",
		"schema.sql: 1 difference(s)", "drop column notes.stars"}, nil)
	status := run(t, root, "db", "status")
	if !strings.Contains(status.stdout, "notes.stars: column added") {
		t.Fatalf("db status does not name the same drift:\n%s", status.stdout)
	}
	r = run(t, root, "db", "diff", "--json")
	r.want(t, 0, []string{`"drift_sql"`, `"kind": "drop column"`}, nil)
}
