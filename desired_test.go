package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/upkeep/upkeep/internal/testdb"
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

// The start's drift report names the same differences as db diff: a column
// added by hand is drift from the recorded schema and a difference from
// the installed pack's schema.sql, on each backend (PostgreSQL and MariaDB
// compare schema.sql on an empty --dev-db; without one the report says it
// left schema.sql out).
func TestStartDriftReportIsDbDiff(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		table := "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n"
		src := source(t, "notes", "1.0.0", map[string]string{
			"migrations/0001_notes.up.sql": table, "migrations/0001_notes.down.sql": "DROP TABLE notes;\n", "schema.sql": table,
		}, nil, "notes")
		tr := newTrial(t, kind)
		tr.pack(t, src, "notes-1.0.0.zip")
		tr.run(t, "--install-updates", "--no-backup").want(t, 0, nil, nil)
		var dev []string
		if kind != "sqlite" {
			dev = []string{"--dev-db", testdb.Fresh(t, kind)}
		}
		type diffs = []struct{ Pack, Source, Text string }
		start := func(extra ...string) (diffs, string) {
			r := tr.run(t, append([]string{"--check-updates", "--json"}, extra...)...)
			r.want(t, 0, nil, nil)
			var doc struct {
				Database struct {
					Differences diffs  `json:"differences"`
					Note        string `json:"differences_note"`
				} `json:"database"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
				t.Fatalf("%v\n%s", err, r.stdout)
			}
			return doc.Database.Differences, doc.Database.Note
		}
		if got, note := start(dev...); len(got) != 0 || note != "" {
			t.Fatalf("drift before any change: %+v %q", got, note)
		}

		db := tr.sqlDB(t)
		if _, err := db.Exec("ALTER TABLE notes ADD COLUMN stars INTEGER"); err != nil {
			t.Fatal(err)
		}
		db.Close()
		got, note := start(dev...)
		r := tr.run(t, append([]string{"db", "diff", "--json"}, dev...)...)
		r.want(t, 0, nil, nil)
		var dd struct {
			Packs []struct {
				Differences diffs `json:"differences"`
			} `json:"packs"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &dd); err != nil || len(dd.Packs) != 1 {
			t.Fatalf("db diff --json: %v\n%s", err, r.stdout)
		}
		want := dd.Packs[0].Differences
		if !reflect.DeepEqual(got, want) || len(got) != 2 || note != "" {
			t.Fatalf("the start's drift report:\n%+v (%q)\ndb diff:\n%+v\nwant the same two differences", got, note, want)
		}
		if got[0].Source != "recorded schema" || !strings.Contains(got[0].Text, "notes.stars: column added") ||
			got[1].Source != "schema.sql" || !strings.Contains(got[1].Text, "drop column notes.stars") {
			t.Fatalf("differences %+v", got)
		}
		// The text report prints them.
		tr.run(t, append([]string{"--check-updates"}, dev...)...).want(t, 0, []string{"Drift: the database differs from what its packs expect",
			"recorded schema: pack notes, notes.stars: column added", "pack notes, schema.sql: drop column notes.stars"}, nil)
		if kind != "sqlite" {
			got, note := start()
			if len(got) != 1 || got[0].Source != "recorded schema" || !strings.Contains(note, "needs an empty database of the same kind (--dev-db or UPKEEP_DEV_DB)") {
				t.Fatalf("without --dev-db: %+v %q", got, note)
			}
		}
	})
}
