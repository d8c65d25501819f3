package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/upkeep/upkeep/internal/testdb"
)

// upkeep_hosts, the reports and the shared-database guard, with two and
// three roots on one PostgreSQL or MariaDB database (DESIGN.md, "Several
// hosts, one database").

type hostsDoc struct {
	HostID string `json:"host_id"`
	Hosts  []struct {
		HostID   string    `json:"host_id"`
		Hostname string    `json:"hostname"`
		Root     string    `json:"root"`
		ThisHost bool      `json:"this_host"`
		Recent   bool      `json:"recent"`
		SeenAt   time.Time `json:"seen_at"`
		Packs    []struct {
			Pack              string `json:"pack"`
			FilesVersion      string `json:"files_version"`
			CodeSchemaVersion int    `json:"code_schema_version"`
		} `json:"packs"`
	} `json:"hosts"`
}

// checkHosts fails unless doc lists exactly the roots, each with blog at
// version (schema) and seen now, the one at self marked as this host.
func checkHosts(t *testing.T, doc hostsDoc, roots []*trial, self int, version string, schema int) {
	t.Helper()
	if doc.HostID != hostID(t, roots[self].dir) {
		t.Errorf("host_id %q, want this root's %q", doc.HostID, hostID(t, roots[self].dir))
	}
	if len(doc.Hosts) != len(roots) {
		t.Fatalf("%d hosts listed, want %d: %+v", len(doc.Hosts), len(roots), doc.Hosts)
	}
	for i, tr := range roots {
		id := hostID(t, tr.dir)
		found := false
		for _, h := range doc.Hosts {
			if h.HostID != id {
				continue
			}
			found = true
			if h.ThisHost != (i == self) || !h.Recent || h.Root != tr.dir || h.Hostname == "" || time.Since(h.SeenAt) > 10*time.Minute {
				t.Errorf("host %d listed as %+v", i, h)
			}
			if len(h.Packs) != 1 || h.Packs[0].Pack != "blog" || h.Packs[0].FilesVersion != version || h.Packs[0].CodeSchemaVersion != schema {
				t.Errorf("host %d runs %+v, want blog %s at schema %d", i, h.Packs, version, schema)
			}
		}
		if !found {
			t.Errorf("host %d (%s) is not listed: %+v", i, id, doc.Hosts)
		}
	}
}

// Every start records its host; db status and packs list (text and JSON)
// show this host's files, the database's record and the other hosts.
func TestSharedDBHostsListed(t *testing.T) {
	for _, kind := range []string{"postgres", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			dsn, roots := sharedRoots(t, kind, 3)
			a := roots[0]
			db, err := testdb.Open(dsn, a.dir)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var n int
			if err := db.QueryRow("SELECT COUNT(DISTINCT host_id) FROM upkeep_hosts").Scan(&n); err != nil || n != 3 {
				t.Fatalf("upkeep_hosts holds %d hosts (%v), want 3", n, err)
			}

			var status struct {
				hostsDoc
				Packs []struct {
					Pack         string `json:"pack"`
					Version      string `json:"version"`
					FilesVersion string `json:"files_version"`
				} `json:"packs"`
			}
			r := a.run(t, "db", "status", "--json")
			r.want(t, 0, nil, nil)
			if err := json.Unmarshal([]byte(r.stdout), &status); err != nil {
				t.Fatal(err)
			}
			checkHosts(t, status.hostsDoc, roots, 0, "1.1.0", 2)
			if len(status.Packs) != 1 || status.Packs[0].Version != "1.1.0" || status.Packs[0].FilesVersion != "1.1.0" {
				t.Errorf("db status packs %+v", status.Packs)
			}

			// The database moves on: B installs 1.5.0; A's files are older.
			b := roots[1]
			blogZip(t, b, "1.5.0", map[string]string{"migrations/0003_tags.up.sql": "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n"})
			b.run(t, "--install-updates", "--no-backup").want(t, 0, nil, nil)
			var list struct {
				hostsDoc
				Packs []struct {
					Pack            string `json:"pack"`
					Version         string `json:"version"`
					DatabaseVersion string `json:"database_version"`
					Database        int    `json:"database"`
				} `json:"packs"`
			}
			r = a.run(t, "packs", "list", "--json")
			r.want(t, 0, nil, nil)
			if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
				t.Fatal(err)
			}
			if len(list.Packs) != 1 || list.Packs[0].Version != "1.1.0" || list.Packs[0].DatabaseVersion != "1.5.0" || list.Packs[0].Database != 3 {
				t.Errorf("packs list packs %+v, want files 1.1.0, the database's 1.5.0 at schema 3", list.Packs)
			}
			if len(list.Hosts) != 3 {
				t.Fatalf("packs list lists %d hosts", len(list.Hosts))
			}
			for _, h := range list.Hosts {
				want := "1.1.0"
				if h.HostID == hostID(t, b.dir) {
					want = "1.5.0"
				}
				if len(h.Packs) != 1 || h.Packs[0].FilesVersion != want {
					t.Errorf("host %s runs %+v, want blog %s", h.HostID, h.Packs, want)
				}
			}

			bLine := "  vm"
			if name, err := os.Hostname(); err == nil {
				bLine = "  " + name
			}
			bLine += " (host id " + hostID(t, b.dir) + ", root " + b.dir + "), last seen "
			for _, args := range [][]string{{"packs", "list"}, {"db", "status"}} {
				a.run(t, args...).want(t, 0, []string{
					"This host: ",
					"(host id " + hostID(t, a.dir) + "), root " + a.dir + "\n",
					"  files:            blog 1.1.0 (schema 2)\n",
					"  database records: blog 1.5.0 (schema 3)\n",
					"Other hosts that used this database:\n",
					bLine, "UTC: blog 1.5.0 (schema 3)\n",
					"(host id " + hostID(t, roots[2].dir) + ", root " + roots[2].dir + "), last seen ",
				}, nil)
			}
		})
	}
}

// --check-updates on a host whose database another host migrated already
// says the update installs the files only, who migrated and when; the
// start of old code names the version the database records and gives no
// "restore a backup" hint.
func TestSharedDBCheckSaysFilesOnly(t *testing.T) {
	for _, kind := range []string{"postgres", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			dsn, roots := sharedRoots(t, kind, 2)
			a, b := roots[0], roots[1]
			tags := map[string]string{"migrations/0003_tags.up.sql": "CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(50));\n"}
			blogZip(t, a, "1.5.0", tags)
			blogZip(t, b, "1.5.0", tags)
			b.run(t, "--check-updates").want(t, 3, []string{"   Database: schema 2 -> 3, 1 migration: 0003_tags.up.sql\n"}, nil)
			a.run(t, "--install-updates", "--no-backup").want(t, 0, nil, nil)

			var committed, hostname string
			db, err := testdb.Open(dsn, a.dir)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.QueryRow("SELECT committed_at, hostname FROM upkeep_batches WHERE host_id = '"+hostID(t, a.dir)+"' AND packs LIKE '%1.5.0%'").Scan(&committed, &hostname); err != nil {
				t.Fatal(err)
			}
			at, err := time.Parse("2006-01-02T15:04:05.000000Z", committed)
			if err != nil {
				t.Fatal(err)
			}
			want := "   Database: already at schema 3, migrated by host " + hostname + " (host id " + hostID(t, a.dir) + ") at " + at.Format("2006-01-02 15:04:05 UTC") + ": this update installs the files only\n"
			r := b.run(t, "--check-updates")
			r.want(t, 3, []string{want}, nil)
			if strings.Contains(r.stdout, "Changes:") || strings.Contains(r.stdout, "0003_tags") {
				t.Errorf("the report still lists the migration:\n%s", r.stdout)
			}

			r = b.run(t, "--check-updates", "--json")
			var doc struct {
				Updates []struct {
					Database struct {
						From           int      `json:"from"`
						To             int      `json:"to"`
						Migrations     []string `json:"migrations"`
						DatabaseSchema int      `json:"database_schema"`
						FilesOnly      bool     `json:"files_only"`
						MigratedBy     *struct {
							HostID   string    `json:"host_id"`
							Hostname string    `json:"hostname"`
							Batch    string    `json:"batch"`
							At       time.Time `json:"at"`
						} `json:"migrated_by"`
					} `json:"database"`
				} `json:"updates"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Updates) != 1 {
				t.Fatalf("%v: %s", err, r.stdout)
			}
			d := doc.Updates[0].Database
			if d.From != 2 || d.To != 3 || d.DatabaseSchema != 3 || !d.FilesOnly || len(d.Migrations) != 0 || d.MigratedBy == nil ||
				d.MigratedBy.HostID != hostID(t, a.dir) || d.MigratedBy.Hostname != hostname || !d.MigratedBy.At.Equal(at) || d.MigratedBy.Batch == "" {
				t.Errorf("the JSON report's database: %+v (migrated by %+v)", d, d.MigratedBy)
			}

			// Old code on the newer database: exit 4 naming the version, no
			// hint to restore a backup.
			zip := filepath.Join(b.dir, "Updates_Pending", "blog-1.5.0.zip")
			data, _ := os.ReadFile(zip)
			os.Remove(zip)
			r = b.run(t, "--check-updates")
			r.want(t, 4, nil, []string{"upkeep: error: packs: pack blog: the database is at schema version 3 but the installed code knows only up to 2; install blog 1.5.0, the version the database records (the database is shared with other hosts)\n"})
			if strings.Contains(r.stderr+r.stdout, "restore") {
				t.Errorf("a shared database's downgrade suggests a restore:\n%s", r.stderr)
			}

			// B installs it: the files only, and its report says so.
			os.WriteFile(zip, data, 0o644)
			b.run(t, "--install-updates", "--no-backup").want(t, 0, []string{
				"   blog: 1.1.0 -> 1.5.0 (now Updates_Installed/blog-1.5.0_",
				"      Files only: the database was at its schema already, migrated by host " + hostname + " (host id " + hostID(t, a.dir) + ") at " + at.Format("2006-01-02 15:04:05 UTC") + "\n",
			}, nil)
		})
	}
}

// installTags installs blog 1.2.0 on tr: migration 3 makes table tags,
// and can be reverted.
func installTags(t *testing.T, tr *trial) {
	t.Helper()
	blogZip(t, tr, "1.2.0", map[string]string{
		"migrations/0003_tags.up.sql":   "CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(50));\n",
		"migrations/0003_tags.down.sql": "DROP TABLE tags;\n",
	})
	tr.run(t, "--install-updates", "--no-backup").want(t, 0, []string{"Installed 1 update"}, nil)
}

var backupID = regexp.MustCompile(`"id": *"([^"]+)"`)

// The shared-database guard, with two and three roots: a restore with the
// database, db down and restoring a table export are refused (exit 4)
// naming the other hosts, unless --all-hosts; --files-only restores the
// files and leaves the database alone.
func TestSharedDBGuard(t *testing.T) {
	for _, kind := range []string{"postgres", "mysql"} {
		for _, n := range []int{2, 3} {
			t.Run(kind+"/"+string(rune('0'+n))+"roots", func(t *testing.T) {
				dsn, roots := sharedRoots(t, kind, n)
				a := roots[0]
				db, err := testdb.Open(dsn, a.dir)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				posts := func() string {
					t.Helper()
					rows, err := db.Query("SELECT id FROM posts ORDER BY id")
					if err != nil {
						t.Fatal(err)
					}
					defer rows.Close()
					var ids []string
					for rows.Next() {
						var id string
						rows.Scan(&id)
						ids = append(ids, id)
					}
					return strings.Join(ids, ",")
				}
				others := func(r result) {
					t.Helper()
					for _, o := range roots[1:] {
						for _, s := range []string{"host id " + hostID(t, o.dir), "root " + o.dir, "last seen "} {
							if !strings.Contains(r.stderr, s) {
								t.Errorf("the refusal does not name %q:\n%s", s, r.stderr)
							}
						}
					}
					if strings.Contains(r.stderr, hostID(t, a.dir)) {
						t.Errorf("the refusal names this host:\n%s", r.stderr)
					}
				}

				installTags(t, a)
				r := a.run(t, "backups", "create", "--json")
				r.want(t, 0, nil, nil)
				full := backupID.FindStringSubmatch(r.stdout)[1]
				if _, err := db.Exec("INSERT INTO posts (id, title) VALUES (2, 'after the backup')"); err != nil {
					t.Fatal(err)
				}
				index := filepath.Join(a.dir, "packs", "blog", "index.html")
				os.WriteFile(index, []byte("changed after the backup\n"), 0o644)

				r = a.run(t, "backups", "restore", full)
				r.want(t, 4, nil, []string{"upkeep: error: packs: restoring backup " + full + " with its database refused: the database is shared with " + string(rune('0'+n-1)) + " other host(s) seen in the last 7 days",
					"upkeep: hint: restore this host's files alone with --files-only"})
				others(r)
				if p := posts(); p != "1,2" {
					t.Fatalf("the refused restore changed the database: posts %s", p)
				}

				r = a.run(t, "backups", "restore", full, "--files-only")
				r.want(t, 0, []string{"restored the files of " + full + " (the database was left as it is)"}, nil)
				if data, _ := os.ReadFile(index); string(data) != "<p>blog 1.2.0</p>\n" {
					t.Errorf("after --files-only index.html holds %q", data)
				}
				if p := posts(); p != "1,2" {
					t.Fatalf("--files-only changed the database: posts %s", p)
				}

				r = a.run(t, "db", "down", "--pack", "blog", "--to", "2")
				r.want(t, 4, nil, []string{"upkeep: error: packs: db down --pack blog --to 2 refused: the database is shared", "--all-hosts"})
				others(r)
				if d := testdb.Dump(t, dsn, a.dir); d["pack blog"] != "1.2.0 schema 3" || d["table tags"] == "" {
					t.Fatalf("the refused db down changed the database: %v", d)
				}
				r = a.run(t, "db", "down", "--pack", "blog", "--to", "2", "--all-hosts")
				r.want(t, 0, []string{"reverted blog 3_tags"}, nil)
				export := regexp.MustCompile(`Exported the packs' tables to backup (\S+)\.`).FindStringSubmatch(r.stdout)
				if export == nil {
					t.Fatalf("db down took no export:\n%s", r.stdout)
				}

				r = a.run(t, "backups", "restore", export[1])
				r.want(t, 4, nil, []string{"upkeep: error: packs: restoring the table export " + export[1] + " refused: the database is shared", "upkeep: hint: take the tables back for every host with --all-hosts"})
				others(r)
				if d := testdb.Dump(t, dsn, a.dir); d["table tags"] != "" {
					t.Fatalf("the refused export restore changed the database: %v", d)
				}
				a.run(t, "backups", "restore", export[1], "--all-hosts").want(t, 0, nil, nil)
				if d := testdb.Dump(t, dsn, a.dir); d["table tags"] == "" || d["pack blog"] != "1.2.0 schema 3" {
					t.Fatalf("the export restore with --all-hosts did not put the tables back: %v", d)
				}

				a.run(t, "backups", "restore", full, "--all-hosts").want(t, 0, []string{"restored " + full + ";"}, nil)
				if p := posts(); p != "1" {
					t.Fatalf("the restore with --all-hosts left posts %s, want the backup's 1", p)
				}
			})
		}
	}
}

// A root that has no other host is not guarded: its own restore and db
// down go through without --all-hosts.
func TestOneHostNotGuarded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		_, roots := sharedRoots(t, kind, 1)
		a := roots[0]
		installTags(t, a)
		r := a.run(t, "backups", "create", "--json")
		r.want(t, 0, nil, nil)
		a.run(t, "db", "down", "--pack", "blog", "--to", "2").want(t, 0, []string{"reverted blog 3_tags"}, nil)
		a.run(t, "backups", "restore", backupID.FindStringSubmatch(r.stdout)[1]).want(t, 0, []string{"restored "}, nil)
	})
}

// The default SQLite file is used only inside the root: a data folder
// linked out of it is refused, naming the --db that uses it on purpose.
func TestDefaultSQLiteOutsideRootRefused(t *testing.T) {
	root, elsewhere := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(root, "Updates_Pending"), 0o755)
	if err := os.Symlink(elsewhere, filepath.Join(root, "data")); err != nil {
		t.Skip(err)
	}
	run(t, root, "--check-updates").want(t, 1, nil, []string{"outside the root", "--db sqlite://" + filepath.Join(elsewhere, "app.db")})
	run(t, root, "--db", "sqlite://"+filepath.Join(elsewhere, "app.db"), "--check-updates").want(t, 0, nil, nil)
}
