package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upkeep/upkeep/internal/testdb"
)

// Several hosts, each with its own root, on one PostgreSQL or MariaDB
// database (DESIGN.md, "Several hosts, one database").

// sharedRoots makes n roots on one fresh database of kind, each with blog
// 1.1.0 (schema 2, table posts) installed; the first installs it and
// migrates, the others install the files only.
func sharedRoots(t *testing.T, kind string, n int) (dsn string, roots []*trial) {
	t.Helper()
	dsn = testdb.Fresh(t, kind)
	zip := filepath.Join(t.TempDir(), "blog-1.1.0.zip")
	run(t, ".", "pack", source(t, "blog", "1.1.0", map[string]string{
		"index.html":                   "<p>blog 1.1.0</p>\n",
		"migrations/0001_posts.up.sql": "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(100));\nINSERT INTO posts (id, title) VALUES (1, 'Hello');\n",
		"migrations/0002_slug.up.sql":  "ALTER TABLE posts ADD COLUMN slug VARCHAR(100);\n",
	}, nil, "posts", "tags"), "-o", zip).want(t, 0, nil, nil)
	for range n {
		tr := &trial{dir: t.TempDir(), dsn: dsn}
		os.MkdirAll(filepath.Join(tr.dir, "Updates_Pending"), 0o755)
		data, _ := os.ReadFile(zip)
		os.WriteFile(filepath.Join(tr.dir, "Updates_Pending", "blog-1.1.0.zip"), data, 0o644)
		tr.run(t, "--install-updates", "--no-backup").want(t, 0, []string{"Installed 1 update"}, nil)
		roots = append(roots, tr)
	}
	return dsn, roots
}

// blogZip packs blog at version with migrations 1 and 2 of 1.1.0 and the
// given later ones (file name -> SQL) into root's Updates_Pending.
func blogZip(t *testing.T, tr *trial, version string, later map[string]string) {
	t.Helper()
	files := map[string]string{
		"index.html":                   "<p>blog " + version + "</p>\n",
		"migrations/0001_posts.up.sql": "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(100));\nINSERT INTO posts (id, title) VALUES (1, 'Hello');\n",
		"migrations/0002_slug.up.sql":  "ALTER TABLE posts ADD COLUMN slug VARCHAR(100);\n",
	}
	for k, v := range later {
		files[k] = v
	}
	run(t, ".", "pack", source(t, "blog", version, files, nil, "posts", "tags"), "-o",
		filepath.Join(tr.dir, "Updates_Pending", "blog-"+version+".zip")).want(t, 0, nil, nil)
}

func sleepSQL(kind string, seconds int) string {
	if kind == "postgres" {
		return "SELECT pg_sleep(" + string(rune('0'+seconds)) + ");\n"
	}
	return "SELECT SLEEP(" + string(rune('0'+seconds)) + ");\n"
}

// Defect 2 of issue "Several hosts": A installs 1.2.0 (a slow migration 3
// that makes table tags); B, a second later, installs 1.2.9 (the same
// migration 3 and a failing 4). A exits 0; B exits 6 and puts back what it
// did, not A's migration: tags stays, the database records 1.2.0 at
// schema 3, and A's next start exits 0.
func TestSharedDBFailedInstallKeepsOtherHostsMigration(t *testing.T) {
	for _, kind := range []string{"postgres", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			dsn, roots := sharedRoots(t, kind, 2)
			a, b := roots[0], roots[1]
			tags := sleepSQL(kind, 2) + "CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(50));\nINSERT INTO tags (id, name) VALUES (1, 'go');\n"
			blogZip(t, a, "1.2.0", map[string]string{"migrations/0003_tags.up.sql": tags})
			blogZip(t, b, "1.2.9", map[string]string{"migrations/0003_tags.up.sql": tags, "migrations/0004_bad.up.sql": "INSERT INTO no_such_table VALUES (1);\n"})
			var wg sync.WaitGroup
			var ra, rb result
			wg.Go(func() { ra = a.run(t, "--install-updates", "--no-backup") })
			time.Sleep(time.Second)
			wg.Go(func() { rb = b.run(t, "--install-updates", "--no-backup") })
			wg.Wait()
			ra.want(t, 0, []string{"Installed 1 update"}, nil)
			rb.want(t, 6, nil, []string{"install failed", "blog-1.2.9.zip", "no_such_table", "everything was put back as it was"})
			dump := testdb.Dump(t, dsn, a.dir)
			if dump["pack blog"] != "1.2.0 schema 3" || dump["rows tags"] != "[[1 go]]" {
				t.Fatalf("after B's failure the database holds %v; want A's 1.2.0 at schema 3 with its tags", dump)
			}
			a.run(t, "--check-updates").want(t, 0, nil, nil)
		})
	}
}

// On every backend, a failed run leaves the tables and their columns
// exactly as before it, tables the pack does not list in database.tables
// included; the mended update then installs (no "already exists").
func TestFailedRunLeavesNoUnlistedTable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		dsn, roots := sharedRoots(t, kind, 1)
		a := roots[0]
		before := testdb.Dump(t, dsn, a.dir)
		scratch := "CREATE TABLE scratch (id INTEGER);\nALTER TABLE posts ADD COLUMN body VARCHAR(100);\n"
		blogZip(t, a, "1.2.0", map[string]string{"migrations/0003_scratch.up.sql": scratch, "migrations/0004_bad.up.sql": "INSERT INTO no_such_table VALUES (1);\n"})
		a.run(t, "--install-updates", "--no-backup").want(t, 6, nil, []string{"everything was put back as it was"})
		if after := testdb.Dump(t, dsn, a.dir); !mapsEqual(after, before) {
			t.Fatalf("after the failed run the database holds\n %v\nbefore it\n %v", after, before)
		}
		blogZip(t, a, "1.2.0", map[string]string{"migrations/0003_scratch.up.sql": scratch, "migrations/0004_good.up.sql": "INSERT INTO scratch (id) VALUES (4);\n"})
		a.run(t, "--install-updates", "--no-backup").want(t, 0, []string{"Installed 1 update"}, nil)
		if d := testdb.Dump(t, dsn, a.dir); d["rows scratch"] != "[[4]]" || !strings.Contains(d["table posts"], "body") {
			t.Fatalf("the mended update did not install: %v", d)
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// stateOnly fails unless .upkeep of root holds only upkeep's state files:
// no journal, batch folder or temporary file.
func stateOnly(t *testing.T, root string) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(root, ".upkeep"))
	for _, e := range entries {
		switch e.Name() {
		case "lock", "host-id", "failed.json", "protected-backups", "trusted":
		default:
			t.Fatalf(".upkeep holds %s after the start", e.Name())
		}
	}
}

// oneOf fails unless zip is in exactly one of Updates_Pending and
// Updates_Installed of root (installed names carry a time stamp).
func oneOf(t *testing.T, root, zip string) {
	t.Helper()
	_, err := os.Stat(filepath.Join(root, "Updates_Pending", zip))
	installed, _ := filepath.Glob(filepath.Join(root, "Updates_Installed", strings.TrimSuffix(zip, ".zip")+"_*.zip"))
	if (err == nil) == (len(installed) == 1) || len(installed) > 1 {
		t.Fatalf("%s: in Updates_Pending %v, in Updates_Installed %v; want exactly one", zip, err == nil, installed)
	}
}

// Defect 1 of issue "Several hosts", and the crash tests across hosts:
// hosts A and B at 1.1.0, 1.5.0 pending on both; B is killed at each step
// boundary of its batch; A installs 1.5.0; B's next start leaves B's
// packs/blog byte-identical to the zip (or as before, and then installs it,
// files only), each zip in exactly one of Pending and Installed, and
// .upkeep holding only its state files.
func TestSharedDBHostKilledWhileOtherCommits(t *testing.T) {
	steps := []string{"journal", "stage:blog", "staged", "swapping", "swap-out:blog", "swap-in:blog", "swapped",
		"migrate", "migrated", "commit", "protect", "move:blog-1.5.0.zip", "moved", "clean"}
	for _, kind := range []string{"postgres", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			for _, step := range steps {
				t.Run(step, func(t *testing.T) {
					dsn, roots := sharedRoots(t, kind, 2)
					a, b := roots[0], roots[1]
					tags := map[string]string{"migrations/0003_tags.up.sql": "CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(50));\n"}
					blogZip(t, a, "1.5.0", tags)
					blogZip(t, b, "1.5.0", tags)
					r := runEnv(t, b.dir, []string{"UPKEEP_TEST_FAULT=crash@" + step}, b.args("--install-updates", "--no-backup")...)
					if r.code != -9 {
						t.Fatalf("B was not killed at %s: exit %d\n%s%s", step, r.code, r.stdout, r.stderr)
					}
					a.run(t, "--install-updates", "--no-backup").want(t, 0, nil, nil)
					r = b.run(t, "--check-updates")
					if r.code != 0 && r.code != 3 {
						t.Fatalf("B's start after the kill exited %d\n%s%s", r.code, r.stdout, r.stderr)
					}
					want := fingerprintContent(t, filepath.Join(a.dir, "packs"))
					got := fingerprintContent(t, filepath.Join(b.dir, "packs"))
					if r.code == 3 {
						// Undone: as before; the install then puts the files in.
						b.run(t, "--install-updates", "--no-backup").want(t, 0, []string{"Installed 1 update"}, nil)
						got = fingerprintContent(t, filepath.Join(b.dir, "packs"))
					}
					if !reflect.DeepEqual(relKeys(a.dir, want), relKeys(b.dir, got)) {
						t.Fatalf("B's packs/ is not A's (the zip's):\n B %v\n A %v", relKeys(b.dir, got), relKeys(a.dir, want))
					}
					oneOf(t, b.dir, "blog-1.5.0.zip")
					stateOnly(t, b.dir)
					if d := testdb.Dump(t, dsn, a.dir); d["pack blog"] != "1.5.0 schema 3" {
						t.Fatalf("the database records %q", d["pack blog"])
					}
					a.run(t, "--check-updates").want(t, 0, nil, nil)
					b.run(t, "--check-updates").want(t, 0, nil, nil)
				})
			}
		})
	}
}

// relKeys makes a fingerprint's keys relative to root, to compare roots.
func relKeys(root string, fp map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range fp {
		rel, _ := filepath.Rel(root, k)
		out[rel] = v
	}
	return out
}

// Old code on a newer shared database is refused (exit 4) with the version
// to install named; a host that lacks a pack the database records is
// refused the same way; and a fresh host installs what the database
// already has: files only, one migration row per migration.
func TestSharedDBOldOrMissingCodeRefused(t *testing.T) {
	for _, kind := range []string{"postgres", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			dsn, roots := sharedRoots(t, kind, 2)
			a, b := roots[0], roots[1]
			tags := map[string]string{"migrations/0003_tags.up.sql": "CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(50));\n"}
			blogZip(t, a, "1.5.0", tags)
			a.run(t, "--install-updates", "--no-backup").want(t, 0, nil, nil)
			b.run(t, "--check-updates").want(t, 4, nil, []string{"pack blog: the database is at schema version 3 but the installed code knows only up to 2; install blog 1.5.0, the version the database records (the database is shared with other hosts)"})

			c := &trial{dir: t.TempDir(), dsn: dsn}
			os.MkdirAll(filepath.Join(c.dir, "Updates_Pending"), 0o755)
			c.run(t, "--check-updates").want(t, 4, nil, []string{"the database records pack blog 1.5.0 at schema version 3, but this host does not have it", "install blog 1.5.0"})

			blogZip(t, c, "1.5.0", tags)
			c.run(t, "--install-updates", "--no-backup").want(t, 0, []string{"Installed 1 update"}, nil)
			if got, want := relKeys(c.dir, fingerprintContent(t, filepath.Join(c.dir, "packs"))), relKeys(a.dir, fingerprintContent(t, filepath.Join(a.dir, "packs"))); !reflect.DeepEqual(got, want) {
				t.Fatalf("C's packs/ %v, A's %v", got, want)
			}
			db, err := testdb.Open(dsn, c.dir)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var n int
			if err := db.QueryRow("SELECT COUNT(*) FROM upkeep_migrations WHERE pack = 'blog' AND version = 3").Scan(&n); err != nil || n != 1 {
				t.Fatalf("migration 3 of blog has %d rows (%v), want 1", n, err)
			}
			c.run(t, "--check-updates").want(t, 0, nil, nil)
		})
	}
}
