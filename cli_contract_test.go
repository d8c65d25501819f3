package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/upkeep/upkeep/internal/testdb"
)

// upkeep init makes a root and says what it made; again, it makes
// nothing. Before it, every command refuses the folder and creates
// nothing.
func TestInitMakesARoot(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{}, {"--check-updates"}, {"--install-updates"}, {"db", "status"}, {"packs", "list"}, {"updates", "list"}, {"backups", "list"}, {"history"}, {"--", "true"}} {
		r := run(t, dir, args...)
		r.want(t, 1, nil, []string{"upkeep: error: not an upkeep root: " + dir + " holds neither Updates_Pending/ nor .upkeep/",
			"upkeep: hint: check --root (or UPKEEP_ROOT); to make a new root there: upkeep init " + dir})
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("upkeep %v in a folder that is no root created %v", args, entries)
		}
	}
	missing := filepath.Join(dir, "no", "such", "dir")
	for _, args := range [][]string{{"--root", missing}, {"--root", missing, "db", "status"}, {"db", "history", "--root", missing}} {
		run(t, dir, args...).want(t, 1, nil, []string{"upkeep: error: not an upkeep root: " + missing + " does not exist", "upkeep init " + missing})
		if _, err := os.Stat(filepath.Join(dir, "no")); err == nil {
			t.Fatalf("upkeep %v created the missing root", args)
		}
	}
	// With --json too, the error is one document with the hint.
	r := run(t, dir, "--root", missing, "packs", "list", "--json")
	var doc struct {
		Error struct {
			Message, Hint string
			ExitCode      int `json:"exit_code"`
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 1 || doc.Error.ExitCode != 1 || !strings.Contains(doc.Error.Hint, "upkeep init") {
		t.Fatalf("--json error: exit %d, %+v, %v\n%s", r.code, doc, err, r.stdout)
	}

	root := filepath.Join(dir, "app")
	r = run(t, dir, "init", "app")
	r.want(t, 0, []string{"Made " + root + " an upkeep root:", "  created " + root + "\n", "  created " + root + "/Updates_Pending\n",
		"  created " + root + "/.upkeep\n", "  created " + root + "/data/app.db\n", "Database: sqlite:" + root + "/data/app.db, with upkeep's tables."}, nil)
	for _, d := range []string{"Updates_Pending", "Updates_Installed", "Updates_Backups", "packs", ".upkeep"} {
		if info, err := os.Stat(filepath.Join(root, d)); err != nil || !info.IsDir() {
			t.Errorf("init did not make %s: %v", d, err)
		}
	}
	if got := testdb.DumpAll(t, "", root); got["table upkeep_packs"] == "" || got["table upkeep_migrations"] == "" {
		t.Errorf("init did not make upkeep's tables: %v", got)
	}
	before := fingerprint(t, root)
	run(t, root, "init").want(t, 0, []string{root + " is an upkeep root already: nothing to make."}, nil)
	r = run(t, dir, "init", "--json", "--root", root)
	var initDoc struct {
		Root    string   `json:"root"`
		Created []string `json:"created"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &initDoc); err != nil || r.code != 0 || initDoc.Root != root || initDoc.Created == nil || len(initDoc.Created) != 0 {
		t.Errorf("init --json again: exit %d, %+v, %v\n%s", r.code, initDoc, err, r.stdout)
	}
	if after := fingerprint(t, root); !reflect.DeepEqual(before, after) {
		t.Errorf("init on a root changed it:\n%v\n%v", before, after)
	}
	run(t, root).want(t, 0, []string{"No updates pending in " + root + "/Updates_Pending."}, nil)

	// A root is a folder with Updates_Pending/ or .upkeep/: either will do.
	other := t.TempDir()
	os.Mkdir(filepath.Join(other, ".upkeep"), 0o755)
	run(t, other, "packs", "list").want(t, 0, []string{"No pack is installed"}, nil)
}

// A SQLite file that is missing while packs are installed is a mistyped
// --db, not a new empty database: refused with a hint, nothing created.
func TestMissingDatabaseIsRefused(t *testing.T) {
	root := newRoot(t)
	packExample(t, "core", filepath.Join(root, "Updates_Pending", "core.zip"))
	run(t, root, "--install-updates", "--migrate-db").want(t, 0, nil, nil)

	other := filepath.Join(root, "other.db")
	for _, args := range [][]string{{"--db", "sqlite:other.db"}, {"--db", "sqlite:other.db", "--", "true"}, {"db", "status", "--db", "sqlite:other.db"},
		{"packs", "list", "--db", "sqlite:other.db"}} {
		run(t, root, args...).want(t, 1, nil, []string{"upkeep: error: the database does not exist: " + other + " is missing, but 1 pack(s) are installed in " + root + "/packs (core)",
			"upkeep: hint: check --db (or UPKEEP_DB)", "upkeep backups restore ID"})
		if _, err := os.Stat(other); err == nil {
			t.Fatalf("upkeep %v created %s", args, other)
		}
	}
	// The same through UPKEEP_DB; the backups, which may bring it back, work.
	t.Setenv("UPKEEP_DB", "sqlite:other.db")
	run(t, root, "--check-updates").want(t, 1, nil, []string{"the database does not exist"})
	run(t, root, "backups", "list").want(t, 0, []string{"install"}, nil)
	t.Setenv("UPKEEP_DB", "")
	run(t, root, "--check-updates").want(t, 0, nil, nil)
	// Asked for, init makes the new, empty database.
	run(t, root, "init", "--db", "sqlite:other.db").want(t, 0, []string{"  created " + other + "\n"}, nil)
	run(t, root, "--db", "sqlite:other.db", "db", "status").want(t, 0, []string{"core", "behind"}, nil)
}

// Upkeep's own lines go to stderr when it launches the application: the
// application's stdout is the application's alone.
func TestLauncherStdoutIsTheApplications(t *testing.T) {
	root := newRoot(t)
	app := []string{"--", "sh", "-c", `echo "app out $1"; echo "app err" >&2`, "sh", "arg1"}
	r := run(t, root, app...)
	r.want(t, 0, nil, []string{"No updates pending in " + root + "/Updates_Pending.", "app err"})
	if r.stdout != "app out arg1\n" {
		t.Errorf("stdout %q, want the application's line only", r.stdout)
	}
	// --json too: the report goes to stderr, stdout stays the application's.
	r = run(t, root, append([]string{"--json"}, app...)...)
	r.want(t, 0, nil, []string{`"json_format": 1`})
	if r.stdout != "app out arg1\n" {
		t.Errorf("--json: stdout %q, want the application's line only", r.stdout)
	}
	// Pending updates stop the start; the report is on stderr, and the
	// application does not run.
	packExample(t, "core", filepath.Join(root, "Updates_Pending", "core.zip"))
	r = run(t, root, app...)
	r.want(t, 3, nil, []string{"core.zip: ready", "upkeep: 1 update zip pending"})
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing", r.stdout)
	}
}

// readOnlyCommands are the commands that only look: they change nothing
// on disk or in the database. ZIP and ID are filled in.
var readOnlyCommands = [][]string{
	{"db", "status"}, {"db", "history"}, {"history"}, {"db", "verify"}, {"db", "diff"}, {"packs", "list"},
	{"backups", "list"}, {"backups", "show", "ID"}, {"backups", "verify", "ID"},
	{"updates", "list"}, {"updates", "show", "ZIP"}, {"updates", "verify", "ZIP"},
	{"db", "status", "--json"}, {"packs", "list", "--json"}, {"history", "--json"},
}

// readOnlyDSN is dsn with the server's session set read-only, so that any
// write a command tried would fail it; SQLite's file is made read-only by
// the read-only root instead.
func readOnlyDSN(kind, dsn string) string {
	switch kind {
	case "postgres":
		return dsn + "&default_transaction_read_only=on"
	case "mysql":
		return dsn + "?tx_read_only=1"
	}
	return dsn
}

// The read-only commands create neither upkeep's tables nor any file, on
// a database upkeep never ran on and on one with packs installed, on each
// backend, and work when the database is read-only.
func TestReadOnlyCommandsChangeNothing(t *testing.T) {
	for _, kind := range testdb.Backends {
		t.Run(kind, func(t *testing.T) {
			tr := &trial{dir: t.TempDir(), dsn: testdb.Fresh(t, kind)}
			os.Mkdir(filepath.Join(tr.dir, "Updates_Pending"), 0o755) // a root, but upkeep never ran
			unchanged := func(what string, args [][]string, zip, id string, code int) {
				t.Helper()
				files, tables := fingerprint(t, tr.dir), testdb.DumpAll(t, tr.dsn, tr.dir)
				ro := &trial{dir: tr.dir, dsn: readOnlyDSN(kind, tr.dsn)}
				for _, a := range args {
					a = append([]string(nil), a...)
					for i := range a {
						a[i] = strings.NewReplacer("ZIP", zip, "ID", id).Replace(a[i])
					}
					r := ro.run(t, a...)
					if r.code != code {
						t.Errorf("%s: upkeep %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", what, a, r.code, code, r.stdout, r.stderr)
					}
					if after := fingerprint(t, tr.dir); !reflect.DeepEqual(files, after) {
						t.Fatalf("%s: upkeep %v changed files:\nbefore %v\nafter  %v", what, a, files, after)
					}
					if after := testdb.DumpAll(t, tr.dsn, tr.dir); !reflect.DeepEqual(tables, after) {
						t.Fatalf("%s: upkeep %v changed the database:\nbefore %v\nafter  %v", what, a, tables, after)
					}
				}
			}
			var fresh [][]string
			for _, a := range readOnlyCommands {
				if !strings.Contains(strings.Join(a, " "), "ID") && !strings.Contains(strings.Join(a, " "), "ZIP") {
					fresh = append(fresh, a)
				}
			}
			unchanged("a database upkeep never ran on", fresh, "", "", 0)
			if kind == "sqlite" {
				if _, err := os.Stat(filepath.Join(tr.dir, "data")); err == nil {
					t.Fatal("a read-only command made data/")
				}
			}

			packExample(t, "core", filepath.Join(tr.dir, "Updates_Pending", "core.zip"))
			tr.run(t, "--install-updates", "--migrate-db").want(t, 0, nil, nil)
			packExample(t, "blog", filepath.Join(tr.dir, "Updates_Pending", "blog.zip"))
			var backups struct {
				Backups []struct{ ID string } `json:"backups"`
			}
			r := tr.run(t, "backups", "list", "--json")
			if err := json.Unmarshal([]byte(r.stdout), &backups); err != nil || len(backups.Backups) == 0 {
				t.Fatalf("backups list: %v\n%s", err, r.stdout)
			}
			unchanged("a database with packs installed", readOnlyCommands, "blog.zip", backups.Backups[0].ID, 0)
			// The start that only reports pending updates changes neither the
			// database nor a file but its lock's.
			os.Remove(filepath.Join(tr.dir, ".upkeep", "lock"))
			os.WriteFile(filepath.Join(tr.dir, ".upkeep", "lock"), nil, 0o644)
			files := fingerprint(t, tr.dir)
			delete(files, filepath.Join(tr.dir, ".upkeep", "lock"))
			tables := testdb.DumpAll(t, tr.dsn, tr.dir)
			(&trial{dir: tr.dir, dsn: readOnlyDSN(kind, tr.dsn)}).run(t, "--check-updates").want(t, 3, []string{"blog.zip: ready"}, nil)
			after := fingerprint(t, tr.dir)
			delete(after, filepath.Join(tr.dir, ".upkeep", "lock"))
			if !reflect.DeepEqual(files, after) || !reflect.DeepEqual(tables, testdb.DumpAll(t, tr.dsn, tr.dir)) {
				t.Fatalf("--check-updates with updates pending changed something:\n%v\n%v", files, after)
			}

			if kind == "sqlite" {
				// On a read-only root, the database file read-only with it.
				ro := readOnlyMount(t, tr.dir)
				for _, a := range readOnlyCommands {
					a = append([]string(nil), a...)
					for i := range a {
						a[i] = strings.NewReplacer("ZIP", "blog.zip", "ID", backups.Backups[0].ID).Replace(a[i])
					}
					run(t, ro, a...).want(t, 0, nil, nil)
				}
			}
		})
	}
}

// interruptAt starts upkeep with args in dir, sends it sig as soon as
// ready() holds (polled every few milliseconds), and returns what it
// printed and its exit code. It fails the test if upkeep ends first.
func interruptAt(t *testing.T, dir string, sig os.Signal, ready func() bool, args ...string) result {
	t.Helper()
	cmd, out, errb := command(dir, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for !ready() {
		select {
		case err := <-done:
			t.Fatalf("upkeep %v ended (%v) before the moment to interrupt it came; stderr:\n%s", args, err, errb.String())
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("upkeep %v: the moment to interrupt it never came", args)
		}
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	code := exitStatus(t, <-done)
	return result{out.String(), errb.String(), code}
}

// exists reports whether a file matching the glob pattern exists.
func exists(pattern string) bool {
	m, _ := filepath.Glob(pattern)
	return len(m) > 0
}

// onlyStateFiles fails t when .upkeep holds more than upkeep's state
// files: no batch, journal, staging or restore left behind.
func onlyStateFiles(t *testing.T, root string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, ".upkeep"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case "lock", "host-id", "backup-notes.json", "protected-backups", "trusted":
		default:
			t.Errorf(".upkeep holds %s after the interrupt", e.Name())
		}
	}
	if m, _ := filepath.Glob(filepath.Join(root, "Updates_Backups", ".tmp-backup-*")); len(m) > 0 {
		t.Errorf("an unfinished backup is left: %v", m)
	}
}

// A real SIGINT while a ~150 MB batch is staged, and a real SIGTERM while
// a backup of it is written: upkeep puts back what it started, says so,
// exits 130 and 143, and the next start finds nothing to recover.
func TestSignalsPutBackAndExit(t *testing.T) {
	size, files := 150<<20, 30
	if testing.Short() {
		size, files = 24<<20, 12
	}
	work := t.TempDir()
	src := filepath.Join(work, "big")
	os.MkdirAll(filepath.Join(src, "media"), 0o755)
	os.WriteFile(filepath.Join(src, "manifest.json"), []byte(`{"format": 1, "pack": "big", "version": "1.0.0", "title": "Big"}`), 0o644)
	rng := mathrand.New(mathrand.NewPCG(1, 2))
	buf := make([]byte, size/files)
	for i := range files {
		for j := 0; j+8 <= len(buf); j += 8 {
			binary.LittleEndian.PutUint64(buf[j:], rng.Uint64()) // incompressible, as media files are
		}
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("media/%03d.bin", i)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root := newRoot(t)
	zip := filepath.Join(root, "Updates_Pending", "big-1.0.0.zip")
	run(t, ".", "pack", src, "-o", zip, "--quiet").want(t, 0, nil, nil)
	pending, packsBefore, dbBefore := fingerprint(t, filepath.Join(root, "Updates_Pending")), fingerprint(t, filepath.Join(root, "packs")), testdb.Dump(t, "", root)

	// SIGINT (Ctrl-C) while staging: the batch is put back.
	r := interruptAt(t, root, os.Interrupt, func() bool { return exists(filepath.Join(root, ".upkeep", "batch", "staging", "big*")) }, "--install-updates")
	r.want(t, 130, nil, []string{"upkeep: error: install failed (batch ", "big-1.0.0.zip, at stage:big): interrupted by SIGINT; everything was put back as it was"})
	if got := fingerprint(t, filepath.Join(root, "Updates_Pending")); !reflect.DeepEqual(got, pending) {
		t.Errorf("Updates_Pending changed: %v", got)
	}
	if got := fingerprint(t, filepath.Join(root, "packs")); !reflect.DeepEqual(got, packsBefore) {
		t.Errorf("packs/ changed: %v", got)
	}
	if got := testdb.Dump(t, "", root); !reflect.DeepEqual(got, dbBefore) {
		t.Errorf("the database changed: %v", got)
	}
	onlyStateFiles(t, root)
	// The next start has nothing to recover and still offers the update;
	// the interrupt is not taken for a fault of the zip.
	r = run(t, root)
	r.want(t, 3, []string{"big-1.0.0.zip: ready"}, nil)
	if strings.Contains(r.stdout+r.stderr, "recover") || strings.Contains(r.stdout+r.stderr, "undid") || strings.Contains(r.stdout, "failed") {
		t.Errorf("the start after the interrupt reports a recovery or failure:\n%s%s", r.stdout, r.stderr)
	}
	run(t, root, "--install-updates", "--quiet").want(t, 0, nil, nil)
	backups := fingerprint(t, filepath.Join(root, "Updates_Backups"))

	// SIGTERM while a backup of the root (the pack's 150 MB) is written:
	// the unfinished backup is removed.
	r = interruptAt(t, root, syscall.SIGTERM, func() bool { return exists(filepath.Join(root, "Updates_Backups", ".tmp-backup-*.partial")) }, "backups", "create")
	r.want(t, 143, nil, []string{"upkeep: error: interrupted by SIGTERM; the unfinished backup was removed, nothing was changed"})
	if got := fingerprint(t, filepath.Join(root, "Updates_Backups")); !reflect.DeepEqual(got, backups) {
		t.Errorf("Updates_Backups changed: %v", got)
	}
	onlyStateFiles(t, root)
	r = run(t, root)
	r.want(t, 0, []string{"No updates pending"}, nil)
	run(t, root, "backups", "create", "--quiet").want(t, 0, nil, nil)
}
