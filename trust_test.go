package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// hostileShop replaces the pending shop 1.0.0 of a fixture trial with one
// whose migration is sql, and returns the state before the install.
func hostileShop(t *testing.T, tr *trial, sql string) map[string]string {
	t.Helper()
	shop := filepath.Join(tr.dir, "Updates_Pending", "shop-1.0.0.zip")
	os.Remove(shop)
	run(t, ".", "pack", source(t, "shop", "1.0.0", map[string]string{
		"cart.html": "<cart/>\n", "migrations/0001_cart.up.sql": sql,
	}, nil, "cart"), "-o", shop).want(t, 0, nil, nil)
	return state(t, tr)
}

// A pack's migration cannot end upkeep's transaction, reach outside the
// database, or touch upkeep's own tables: the install is refused before
// any statement runs, naming the file, the line and the statement, and
// the root and the database stay as they were. The application still
// starts afterwards. On every backend.
func TestHostileMigrationsRefused(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside.db")
	type hostile struct{ name, sql, line, stmt string }
	common := []hostile{
		{"upkeep_packs", "CREATE TABLE cart (id INTEGER PRIMARY KEY);\nUPDATE upkeep_packs SET schema_version = 99 WHERE pack = 'core';\nDROP TABLE users;\n",
			"line 2", "UPDATE upkeep_packs SET schema_version = 99 WHERE pack = 'core'"},
		{"upkeep_migrations", "DELETE FROM upkeep_migrations;\n", "line 1", "DELETE FROM upkeep_migrations"},
	}
	perKind := map[string][]hostile{
		"sqlite": {
			{"rollback-begin", "CREATE TABLE cart (id INTEGER PRIMARY KEY);\nROLLBACK TRANSACTION x;\nBEGIN TRANSACTION y;\nCREATE TABLE cart2 (id INTEGER);\n", "line 2", "ROLLBACK TRANSACTION x"},
			{"rollback-alone", "CREATE TABLE cart (id INTEGER PRIMARY KEY);\nROLLBACK TRANSACTION x;\n", "line 2", "ROLLBACK TRANSACTION x"},
			{"attach", "ATTACH DATABASE '" + outside + "' AS x;\nCREATE TABLE x.t (a INTEGER);\n", "line 1", "ATTACH DATABASE"},
			{"detach", "DETACH DATABASE main;\n", "line 1", "DETACH DATABASE main"},
			{"vacuum-into", "VACUUM INTO '" + outside + "';\n", "line 1", "VACUUM INTO"},
			{"quoted-upkeep", "DROP TABLE 'upkeep_packs';\n", "line 1", "DROP TABLE 'upkeep_packs'"},
		},
		"postgres": {
			{"rollback-and-chain", "CREATE TABLE cart (id INTEGER PRIMARY KEY);\nROLLBACK AND CHAIN;\n", "line 2", "ROLLBACK AND CHAIN"},
			{"abort", "CREATE TABLE cart (id INTEGER PRIMARY KEY);\nABORT;\n", "line 2", "ABORT"},
			{"prepare-transaction", "CREATE TABLE cart (id INTEGER PRIMARY KEY);\nPREPARE TRANSACTION 'x';\n", "line 2", "PREPARE TRANSACTION 'x'"},
			{"do-block", "DO $$BEGIN EXECUTE 'UPDATE upkeep_packs SET schema_version = 99'; END$$;\n", "line 1", "DO $$BEGIN"},
		},
		"mysql": {
			{"rollback-chain", "CREATE TABLE cart (id INTEGER PRIMARY KEY);\nROLLBACK WORK AND CHAIN;\n", "line 2", "ROLLBACK WORK AND CHAIN"},
			{"xa", "XA START 'x';\n", "line 1", "XA START 'x'"},
			{"autocommit", "SET autocommit = 0;\nCREATE TABLE cart (id INTEGER PRIMARY KEY);\n", "line 1", "SET autocommit = 0"},
			{"backticks", "DELETE FROM `upkeep_schema`;\n", "line 1", "DELETE FROM `upkeep_schema`"},
		},
	}
	forEachBackend(t, func(t *testing.T, kind string) {
		f := newBatchFixture(t, kind, 1024)
		for _, h := range append(perKind[kind], common...) {
			t.Run(h.name, func(t *testing.T) {
				tr := f.copy(t)
				want := hostileShop(t, tr, h.sql)
				r := tr.run(t, "--install-updates", "--no-backup")
				r.want(t, 6, nil, []string{"install failed", "migration 0001_cart.up.sql " + h.line + ": statement refused: \"" + h.stmt, "everything was put back as it was"})
				if got := state(t, tr); !reflect.DeepEqual(got, want) {
					t.Fatalf("after the refused migration:\n got  %v\n want %v", got, want)
				}
				if _, err := os.Stat(outside); err == nil {
					t.Fatalf("the migration wrote %s", outside)
				}
				tr.run(t, "--ignore-updates").want(t, 0, nil, nil)
			})
		}
	})
}

// Transaction control that only asks for what the run does (every
// spelling of BEGIN and COMMIT/END where DDL is transactional) is skipped:
// a failure after it still puts everything back, and the fixed zip then
// installs.
func TestWrappedMigrationRollsBackWhole(t *testing.T) {
	ends := map[string]string{"sqlite": "END TRANSACTION x;\n", "postgres": "COMMIT AND NO CHAIN;\n"}
	forEachBackend(t, func(t *testing.T, kind string) {
		end, ok := ends[kind]
		if !ok {
			t.Skip("MySQL/MariaDB commits each statement; its BEGIN/COMMIT run as written")
		}
		f := newBatchFixture(t, kind, 1024)
		tr := f.copy(t)
		want := hostileShop(t, tr, "BEGIN TRANSACTION;\nCREATE TABLE cart (id INTEGER PRIMARY KEY);\n"+end+"INSERT INTO no_such_table VALUES (1);\n")
		tr.run(t, "--install-updates", "--no-backup").want(t, 6, nil, []string{"no_such_table", "everything was put back as it was"})
		if got := state(t, tr); !reflect.DeepEqual(got, want) {
			t.Fatalf("after the failed migration:\n got  %v\n want %v", got, want)
		}
		hostileShop(t, tr, "BEGIN TRANSACTION;\nCREATE TABLE cart (id INTEGER PRIMARY KEY);\n"+end)
		tr.run(t, "--install-updates", "--no-backup").want(t, 0, []string{"Installed 3 updates"}, nil)
		if got := state(t, tr); got["db:table cart"] == "" || got["db:pack shop"] != "1.0.0 schema 1" {
			t.Fatalf("the fixed zip did not install: %v", got)
		}
	})
}

// A symbolic link planted in .upkeep, or a .upkeep that is one, is never
// followed: the start refuses, naming it, and the file or folder it points
// to is untouched. (Before, the lock was opened through the link and its
// target truncated to 0 bytes.)
func TestStateLinksRefused(t *testing.T) {
	for _, name := range []string{"lock", "journal.json", "failed.json", "batch", "restore", ""} {
		t.Run("link "+filepath.Join(".upkeep", name), func(t *testing.T) {
			root := t.TempDir()
			os.MkdirAll(filepath.Join(root, "Updates_Pending"), 0o755)
			os.MkdirAll(filepath.Join(root, ".upkeep"), 0o755)
			outside := t.TempDir()
			precious := filepath.Join(outside, "precious")
			os.WriteFile(precious, []byte("not upkeep's\n"), 0o644)
			target := precious
			if name == "batch" || name == "restore" || name == "" {
				target = outside
			}
			link := filepath.Join(root, ".upkeep", name)
			if name == "" {
				os.Remove(link)
			}
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			for _, mode := range []string{"--check-updates", "--ignore-updates", "--install-updates"} {
				r := run(t, root, mode)
				r.want(t, 1, nil, []string{link + " is a symbolic link; upkeep never follows links in its state folder"})
			}
			if data, _ := os.ReadFile(precious); string(data) != "not upkeep's\n" {
				t.Fatalf("the file behind the link was changed: %q", data)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 1 {
				t.Fatalf("upkeep wrote behind the link: %v", entries)
			}
		})
	}
}

// readOnlyMount bind-mounts dir read-only at a new folder and returns it.
// It needs root (CAP_SYS_ADMIN): elsewhere the test is skipped, and fails
// with UPKEEP_TEST_REQUIRE=1.
func readOnlyMount(t *testing.T, dir string) string {
	t.Helper()
	mnt := t.TempDir()
	mount := func(args ...string) error {
		out, err := exec.Command("mount", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("mount %v: %v: %s", args, err, out)
		}
		return nil
	}
	err := mount("--bind", dir, mnt)
	if err == nil {
		t.Cleanup(func() { exec.Command("umount", mnt).Run() })
		err = mount("-o", "remount,bind,ro", mnt)
	}
	if err != nil {
		if os.Getenv("UPKEEP_TEST_REQUIRE") == "1" {
			t.Fatalf("cannot make a read-only mount (needs root) and UPKEEP_TEST_REQUIRE=1: %v", err)
		}
		t.Skipf("cannot make a read-only mount (needs root): %v", err)
	}
	return mnt
}

// A root on a read-only file system is checked and started from (nothing
// to write there), and only an install refuses, naming the folder.
func TestReadOnlyRoot(t *testing.T) {
	src := t.TempDir()
	pend := filepath.Join(src, "Updates_Pending")
	os.MkdirAll(pend, 0o755)
	packExample(t, "core", filepath.Join(pend, "core.zip"))
	run(t, src, "--install-updates", "--no-backup").want(t, 0, []string{"Installed 1 update"}, nil)
	ro := readOnlyMount(t, src)
	before := fingerprint(t, src)

	run(t, ro, "--check-updates").want(t, 0, []string{"No updates pending"}, nil)
	run(t, ro, "--ignore-updates", "--", "echo", "started").want(t, 0, []string{"started"}, nil)
	run(t, ro, "packs", "list").want(t, 0, []string{"core"}, nil)
	packExample(t, "blog", filepath.Join(pend, "blog.zip")) // through the writable path
	run(t, ro, "--check-updates").want(t, 3, []string{"blog"}, nil)
	run(t, ro, "--install-updates").want(t, 1, nil, []string{"the root is read-only: " + ro + " is on a read-only file system"})
	os.Remove(filepath.Join(pend, "blog.zip"))
	if after := fingerprint(t, src); !reflect.DeepEqual(after, before) {
		t.Fatalf("the read-only root changed:\n%v\n%v", before, after)
	}
}

// Names and texts from zips cannot forge report lines or drive the
// terminal: the text report quotes odd names and writes control
// characters and bidirectional overrides as escapes; JSON keeps the exact
// text.
func TestReportSpoofing(t *testing.T) {
	root := t.TempDir()
	pend := filepath.Join(root, "Updates_Pending")
	os.MkdirAll(pend, 0o755)
	forged := "evil.zip: invalid\n1. core-9.9.9.zip: ready\n   Signature: valid\n.zip"
	if err := os.WriteFile(filepath.Join(pend, forged), []byte("not a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	title, whatsNew := "\x1b[2J\x1b[31mBlog", "Tags.\u202egnp.exe\u009b31m"
	src := source(t, "blog", "1.0.0", map[string]string{"a.txt": "a\n"}, nil)
	rewriteJSON(t, filepath.Join(src, "manifest.json"), func(m map[string]any) {
		m["title"], m["whats_new"] = title, whatsNew
	})
	run(t, ".", "pack", src, "-o", filepath.Join(pend, "blog\u202egpj.zip")).want(t, 0, nil, nil)

	r := run(t, root, "--check-updates")
	r.want(t, 3, []string{
		`"evil.zip: invalid\n1. core-9.9.9.zip: ready\n   Signature: valid\n.zip": `,
		`"blog\u202egpj.zip": ready`,
		`\x1b[2J\x1b[31mBlog (blog): new pack -> 1.0.0`,
		`What's new: Tags.\u202egnp.exe\u009b31m`,
	}, nil)
	for _, bad := range []string{"\x1b", "\u202e", "\u009b", "\n1. core-9.9.9.zip: ready", "\n   Signature: valid"} {
		if strings.Contains(r.stdout+r.stderr, bad) {
			t.Errorf("the text output holds %q:\n%s", bad, r.stdout)
		}
	}
	r = run(t, root, "updates", "list")
	if strings.Contains(r.stdout, "\x1b") || strings.Contains(r.stdout, "\n1. core") || strings.Contains(r.stdout, "\u202e") {
		t.Errorf("updates list holds raw control text:\n%s", r.stdout)
	}

	r = run(t, root, "--check-updates", "--json")
	var raw map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatalf("JSON: %v\n%s", err, r.stdout)
	}
	got := map[string]bool{}
	for _, u := range raw["updates"].([]any) {
		m := u.(map[string]any)
		got[fmt.Sprint(m["file"])] = true
		if m["pack"] == "blog" && (m["title"] != title || m["whats_new"] != whatsNew) {
			t.Errorf("JSON changed the texts: %q %q", m["title"], m["whats_new"])
		}
	}
	if !got[forged] || !got["blog\u202egpj.zip"] {
		t.Errorf("JSON lacks the exact names: %v", got)
	}
}

// rewriteJSON edits a JSON file in place.
func rewriteJSON(t *testing.T, path string, edit func(map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	data, _ = json.Marshal(m)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// `upkeep pack` and the scan agree on the limits, and a pack of 100,000
// files (made here, at run time) packs, checks and installs. Before, its
// 15 MB manifest was over the scan's fixed 4 MiB.
func TestHundredThousandFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("makes 100,000 files")
	}
	src := source(t, "big", "1.0.0", map[string]string{}, nil)
	for i := range 100000 {
		dir := filepath.Join(src, "files", fmt.Sprintf("%03d", i/1000))
		if i%1000 == 0 {
			os.MkdirAll(dir, 0o755)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-%06d.txt", i)), []byte(fmt.Sprintf("%d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	pend := filepath.Join(root, "Updates_Pending")
	os.MkdirAll(pend, 0o755)
	run(t, ".", "pack", src, "-o", filepath.Join(pend, "big.zip")).want(t, 0, []string{"big 1.0.0, 100000 files"}, nil)
	run(t, root, "--check-updates").want(t, 3, []string{"1. big.zip: ready"}, nil)
	run(t, root, "--install-updates", "--no-backup").want(t, 0, []string{"Installed 1 update"}, nil)
	if data, err := os.ReadFile(filepath.Join(root, "packs", "big", "files", "099", "file-099999.txt")); err != nil || string(data) != "99999\n" {
		t.Fatalf("the last file: %q, %v", data, err)
	}
}

// A backup killed before it finished leaves .tmp-backup-*.partial in
// Updates_Backups: every start removes it, not only prune.
func TestStartRemovesPartialBackup(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "Updates_Pending"), 0o755)
	os.MkdirAll(filepath.Join(root, "Updates_Backups"), 0o755)
	partial := filepath.Join(root, "Updates_Backups", ".tmp-backup-123456.partial")
	os.WriteFile(partial, []byte("PK\x03\x04 half a backup"), 0o644)
	run(t, root, "--ignore-updates").want(t, 0, nil, nil)
	if _, err := os.Stat(partial); err == nil {
		t.Fatal("the partial backup is still there after a start")
	}
}
