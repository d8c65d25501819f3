package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// installedRoot is a root with the sample core and blog packs installed
// (their migrations run by the install) on the default SQLite database.
func installedRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	pend := filepath.Join(root, "Updates_Pending")
	os.MkdirAll(pend, 0o755)
	packExample(t, "core", filepath.Join(pend, "core-2.1.0.zip"))
	packExample(t, "blog", filepath.Join(pend, "blog-1.4.0.zip"))
	run(t, root, "--install-updates", "--no-backup").want(t, 0, []string{
		"Installed 2 updates",
		"Migrations: core 1_create_users, core 2_add_reset_token, blog 1_create_posts, blog 2_add_tags",
	}, nil)
	return root
}

func sqliteQuery(t *testing.T, root, query string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(root, "data", "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func sqliteExec(t *testing.T, root, stmt string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(root, "data", "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

func TestDatabaseBehindNeedsMigrateDB(t *testing.T) {
	root := installedRoot(t)
	if got := sqliteQuery(t, root, "SELECT pack || ' ' || version || ' ' || schema_version FROM upkeep_packs ORDER BY pack"); strings.Join(got, ";") != "blog 1.4.0 2;core 2.1.0 2" {
		t.Fatalf("upkeep_packs after the install: %q", got)
	}
	// Revert blog to schema 0: its code is now ahead of the database.
	run(t, root, "db", "down", "--pack", "blog", "--to", "0", "--no-backup").want(t, 0, []string{"reverted blog 2_add_tags", "reverted blog 1_create_posts"}, nil)
	if got := sqliteQuery(t, root, "SELECT name FROM sqlite_master WHERE name IN ('posts','tags')"); len(got) != 0 {
		t.Fatalf("tables left after db down: %q", got)
	}

	r := run(t, root)
	r.want(t, 4, nil, []string{"upkeep: error: packs: pack blog needs database updates: schema version 0 -> 2: 0001_create_posts.up.sql, 0002_add_tags.up.sql; run with --migrate-db to apply them"})
	r = run(t, root, "db", "status")
	r.want(t, 0, []string{"blog  2     0         behind      0001_create_posts.up.sql, 0002_add_tags.up.sql", "core  2     2         up to date  -"}, nil)

	r = run(t, root, "--migrate-db")
	r.want(t, 0, []string{"Migrated the database (sqlite): blog 1_create_posts, blog 2_add_tags.", "The packs' tables were exported first to " + filepath.Join(root, "Updates_Backups")}, nil)
	if got := sqliteQuery(t, root, "SELECT name FROM sqlite_master WHERE name IN ('posts','tags') ORDER BY name"); strings.Join(got, ",") != "posts,tags" {
		t.Fatalf("tables after --migrate-db: %q", got)
	}
	r = run(t, root, "db", "history", "--limit", "3")
	r.want(t, 0, []string{"blog  2        up         add_tags", "blog  1        up         create_posts", "blog  1        down       create_posts"}, nil)
	if i, j := strings.Index(r.stdout, "add_tags"), strings.Index(r.stdout, "down"); i > j {
		t.Errorf("history is not newest first:\n%s", r.stdout)
	}
}

func TestDatabaseAheadIsADowngrade(t *testing.T) {
	root := installedRoot(t)
	// The code of blog goes back to 1.3.0, schema 1, as when someone copies
	// an older pack over the installed one.
	dir := filepath.Join(root, "packs", "blog")
	os.Remove(filepath.Join(dir, "migrations", "0002_add_tags.up.sql"))
	os.Remove(filepath.Join(dir, "migrations", "0002_add_tags.down.sql"))
	var m map[string]any
	data, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	json.Unmarshal(data, &m)
	m["version"] = "1.3.0"
	m["database"].(map[string]any)["schema_version"] = 1
	var files []any
	for _, f := range m["files"].([]any) {
		if !strings.Contains(f.(map[string]any)["path"].(string), "0002_") {
			files = append(files, f)
		}
	}
	m["files"] = files
	data, _ = json.Marshal(m)
	os.WriteFile(filepath.Join(dir, "manifest.json"), data, 0o644)
	r := run(t, root, "--ignore-updates")
	r.want(t, 4, nil, []string{"upkeep: error: packs: pack blog: the database is at schema version 2 but the installed code knows only up to 1; install the newer version of blog, or restore a backup taken before the database was updated"})
	// --migrate-db does not go back.
	run(t, root, "--migrate-db").want(t, 4, nil, []string{"pack blog: the database is at schema version 2"})
	if got := sqliteQuery(t, root, "SELECT schema_version FROM upkeep_packs WHERE pack = 'blog'"); got[0] != "2" {
		t.Fatalf("blog's schema version %q, want 2 untouched", got)
	}
}

func TestChangedMigrationBlocksUntilAccepted(t *testing.T) {
	root := installedRoot(t)
	file := filepath.Join(root, "packs", "core", "migrations", "0001_create_users.up.sql")
	data, _ := os.ReadFile(file)
	os.WriteFile(file, append(data, []byte("-- edited after it ran\n")...), 0o644)

	r := run(t, root)
	r.want(t, 4, nil, []string{"upkeep: error: packs: pack core: migration 1 (0001_create_users.up.sql) was applied with sha256 ", "but the file now has sha256 "})
	run(t, root, "--migrate-db").want(t, 4, nil, []string{"migration 1 (0001_create_users.up.sql)"})
	r = run(t, root, "db", "verify")
	r.want(t, 4, []string{"- packs: pack core: migration 1 (0001_create_users.up.sql)"}, []string{"upkeep: hint: put the file back as it was, or accept the change: upkeep db accept --pack core --version 1"})

	run(t, root, "db", "accept", "--pack", "core", "--version", "1").want(t, 0, []string{"accepted the new file of core migration 1"}, nil)
	run(t, root).want(t, 0, []string{"No updates pending"}, nil)
	run(t, root, "db", "verify").want(t, 0, []string{"ok: every applied migration is as it ran"}, nil)
	if got := sqliteQuery(t, root, "SELECT direction FROM upkeep_migrations WHERE pack = 'core' AND version = 1 ORDER BY rowid DESC LIMIT 1"); got[0] != "accept" {
		t.Fatalf("last row of core migration 1: %q, want accept", got)
	}
}

func TestDriftIsReported(t *testing.T) {
	root := installedRoot(t)
	sqliteExec(t, root, "ALTER TABLE posts ADD COLUMN hits INTEGER")
	r := run(t, root, "db", "status")
	r.want(t, 0, []string{"blog  2     2         up to date, 1 drift", "- drift: pack blog, posts.hits: "}, nil)
	r = run(t, root, "db", "verify")
	r.want(t, 4, []string{"- drift: pack blog, posts.hits"}, []string{"upkeep: error: 1 table(s) drifted from their recorded schema"})
}

func TestBaselineAdoptsADatabase(t *testing.T) {
	root := installedRoot(t)
	// A database made by hand, before upkeep: drop upkeep's records of blog.
	sqliteExec(t, root, "DELETE FROM upkeep_packs WHERE pack = 'blog'")
	sqliteExec(t, root, "DELETE FROM upkeep_migrations WHERE pack = 'blog'")
	run(t, root).want(t, 4, nil, []string{"pack blog needs database updates: schema version 0 -> 2"})
	run(t, root, "db", "baseline", "--pack", "blog", "--version", "2").want(t, 0, []string{"recorded pack blog at schema version 2; no migration ran"}, nil)
	run(t, root).want(t, 0, nil, nil)
	run(t, root, "packs", "list").want(t, 0, []string{"blog  1.4.0    Blog   2              2", "core  2.1.0    Core   2              2"}, nil)
}

func TestBackupsCommands(t *testing.T) {
	root := installedRoot(t)
	os.WriteFile(filepath.Join(root, "config.ini"), []byte("mode=prod\n"), 0o600)
	r := run(t, root, "backups", "create", "--reason", "before-test")
	r.want(t, 0, []string{"wrote backup ", "_before-test: ", "database sqlite"}, nil)
	id := strings.Fields(strings.TrimPrefix(r.stdout, "wrote backup "))[0]
	id = strings.TrimSuffix(id, ":")

	run(t, root, "backups", "list").want(t, 0, []string{id, "backup"}, nil)
	run(t, root, "backups", "show", id).want(t, 0, []string{"Backup " + id, "pack     blog 1.4.0", "database sqlite"}, nil)
	run(t, root, "backups", "verify", id).want(t, 0, []string{id + ": ok"}, nil)

	// Change files and rows, then restore.
	os.WriteFile(filepath.Join(root, "config.ini"), []byte("mode=broken\n"), 0o600)
	os.RemoveAll(filepath.Join(root, "packs", "blog", "templates"))
	sqliteExec(t, root, "INSERT INTO users (name, email) VALUES ('eve', 'eve@example.org')")
	r = run(t, root, "backups", "restore", id)
	r.want(t, 0, []string{"restored " + id + "; the state before the restore is in backup "}, nil)
	if data, _ := os.ReadFile(filepath.Join(root, "config.ini")); string(data) != "mode=prod\n" {
		t.Errorf("config.ini after restore: %q", data)
	}
	if _, err := os.Stat(filepath.Join(root, "packs", "blog", "templates", "post.html")); err != nil {
		t.Errorf("packs/blog/templates not restored: %v", err)
	}
	if got := sqliteQuery(t, root, "SELECT count(*) FROM users"); got[0] != "0" {
		t.Errorf("users after restore: %q rows, want 0", got)
	}
	run(t, root).want(t, 0, nil, nil)

	// Prune keeps the newest, and never the protected backup of the last install.
	run(t, root, "backups", "prune", "--keep", "1").want(t, 0, []string{"removed 1 backup(s)"}, nil)
	r = run(t, root, "backups", "list")
	if strings.Count(r.stdout, "\n") != 2 {
		t.Errorf("after prune --keep 1:\n%s", r.stdout)
	}
	run(t, root, "backups", "verify", "nope").want(t, 1, nil, []string{"upkeep: error: "})
}

func TestDatabaseExportRestore(t *testing.T) {
	root := installedRoot(t)
	sqliteExec(t, root, "INSERT INTO posts (title, body) VALUES ('first', 'hello')")
	run(t, root, "db", "down", "--pack", "blog", "--to", "1").want(t, 0, []string{"Exported the packs' tables to ", "reverted blog 2_add_tags"}, nil)
	list := run(t, root, "backups", "list")
	list.want(t, 0, []string{"db export"}, nil)
	var export string
	for _, line := range strings.Split(list.stdout, "\n") {
		if strings.Contains(line, "db export") {
			export = strings.Fields(line)[0]
		}
	}
	sqliteExec(t, root, "DELETE FROM posts")
	run(t, root, "backups", "restore", export).want(t, 0, []string{"restored the packs' tables and settings from " + export}, nil)
	if got := sqliteQuery(t, root, "SELECT title FROM posts"); strings.Join(got, ",") != "first" {
		t.Fatalf("posts after restoring the export: %q", got)
	}
}
