package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/upkeep/upkeep/internal/testdb"
)

// A table export (taken by db down) is a backup of kind tables: the binary
// lists, shows, verifies and restores it like any backup, on every backend.
func TestTablesBackupThroughBinary(t *testing.T) {
	for _, kind := range testdb.Backends {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dsn := testdb.Fresh(t, kind)
			root := t.TempDir()
			pend := filepath.Join(root, "Updates_Pending")
			os.MkdirAll(pend, 0o755)
			packExample(t, "core", filepath.Join(pend, "core-2.1.0.zip"))
			packExample(t, "blog", filepath.Join(pend, "blog-1.4.0.zip"))
			db := []string{"--db", dsn}
			if dsn == "" {
				db = nil
			}
			cmd := func(args ...string) []string { return append(append([]string{}, db...), args...) }
			run(t, root, cmd("--install-updates", "--no-backup")...).want(t, 0, []string{"Installed 2 updates"}, nil)
			sdb, err := testdb.Open(dsn, root)
			if err != nil {
				t.Fatal(err)
			}
			defer sdb.Close()
			if _, err := sdb.Exec("INSERT INTO posts (id, title, body) VALUES (1, 'first', 'hello')"); err != nil {
				t.Fatal(err)
			}
			run(t, root, cmd("db", "down", "--pack", "blog", "--to", "1")...).want(t, 0, []string{"Exported the packs' tables to backup ", "reverted blog 2_add_tags"}, nil)

			var doc struct {
				Backups []struct {
					ID, Kind, Database, Reason string
					Files                      int
				}
			}
			r := run(t, root, cmd("backups", "list", "--json")...)
			r.want(t, 0, nil, nil)
			if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Backups) == 0 {
				t.Fatalf("backups list --json: %v\n%s", err, r.stdout)
			}
			list := doc.Backups
			if list[0].Reason != "db-blog" || list[0].Kind != "db export" || list[0].Database != kind || list[0].Files == 0 {
				t.Fatalf("backups list --json: %+v", list[0])
			}
			id := list[0].ID
			run(t, root, cmd("backups", "list")...).want(t, 0, []string{id, "db export"}, nil)
			run(t, root, cmd("backups", "show", id)...).want(t, 0, []string{"Backup " + id, "database " + kind, "kind     tables of blog"}, nil)
			run(t, root, cmd("backups", "verify", id)...).want(t, 0, []string{id + ": ok"}, nil)

			if _, err := sdb.Exec("DELETE FROM posts"); err != nil {
				t.Fatal(err)
			}
			run(t, root, cmd("backups", "restore", id)...).want(t, 0, []string{"restored the packs' tables and settings from " + id}, nil)
			var title string
			var version int
			if err := sdb.QueryRow("SELECT title FROM posts").Scan(&title); err != nil || title != "first" {
				t.Fatalf("posts after the restore: %q, %v", title, err)
			}
			if err := sdb.QueryRow("SELECT schema_version FROM upkeep_packs WHERE pack = 'blog'").Scan(&version); err != nil || version != 2 {
				t.Fatalf("blog's schema version after the restore: %d, %v; want 2, as before db down", version, err)
			}
			// The restore went through the same checks as verify: a
			// damaged export is refused and changes nothing.
			zipPath := filepath.Join(root, "Updates_Backups", id+".zip")
			data, _ := os.ReadFile(zipPath)
			if i := strings.Index(string(data), "tables/blog/tables/posts.jsonl"); i > 0 {
				data[len(data)/3] ^= 0xff
				os.WriteFile(zipPath, data, 0o600)
				run(t, root, cmd("backups", "verify", id)...).want(t, 1, nil, []string{"upkeep: error: "})
				run(t, root, cmd("backups", "restore", id)...).want(t, 1, nil, []string{"upkeep: error: "})
			} else {
				t.Fatal("the export's entries are not under tables/")
			}
		})
	}
}
