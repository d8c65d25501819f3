package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/upkeep/upkeep/internal/testdb"
)

// source writes the source folder of a pack and returns it.
func source(t *testing.T, name, version string, files map[string]string, requires map[string]string, tables ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name+"-"+version)
	m := map[string]any{"format": 1, "pack": name, "version": version, "title": strings.ToUpper(name[:1]) + name[1:]}
	if requires != nil {
		m["requires"] = requires
	}
	if tables != nil {
		m["database"] = map[string]any{"tables": tables}
	}
	data, _ := json.MarshalIndent(m, "", "  ")
	files["manifest.json"] = string(data)
	for rel, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// trial is a root and its database ("" for SQLite data/app.db in the
// root).
type trial struct {
	dir, dsn string
}

// args puts --db before args when the trial has a database server.
func (tr *trial) args(args ...string) []string {
	if tr.dsn == "" {
		return args
	}
	return append([]string{"--db", tr.dsn}, args...)
}

func (tr *trial) run(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, tr.dir, tr.args(args...)...)
}

// batchFixture is a root with core 2.0.0 installed, and three updates in
// Updates_Pending: core 2.1.0 (a second migration), blog 1.4.0 (new, a
// migration, requires core 2.1) and shop 1.0.0 (new, no migration), on a
// database of one kind. Each trial copies the root and gets a database of
// its own in the same state.
type batchFixture struct {
	kind     string
	template *trial // the root before the batch
	after    *trial // the same root after a clean install of the batch
}

// The fixture's SQL runs alike on SQLite, PostgreSQL and MariaDB.
const (
	usersTable = "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL);\nINSERT INTO users (id, name) VALUES (1, 'ada');\n"
	usersEmail = "ALTER TABLE users ADD COLUMN email VARCHAR(100);\nUPDATE users SET email = concat(name, '@example.org');\n"
	postsTable = "CREATE TABLE posts (id INTEGER PRIMARY KEY, author INTEGER REFERENCES users (id), title VARCHAR(100));\nINSERT INTO posts (id, author, title) VALUES (1, 1, 'Hello');\n"
)

func newBatchFixture(t *testing.T, kind string, payload int) *batchFixture {
	t.Helper()
	big := func(seed string) string { // text that compresses like text, not like a zip bomb
		rng := rand.New(rand.NewPCG(uint64(len(seed)), uint64(seed[len(seed)-1])))
		var b strings.Builder
		for b.Len() < payload {
			fmt.Fprintf(&b, "%s %08x %d\n", seed, rng.Uint32(), rng.IntN(1e6))
		}
		return b.String()[:payload]
	}
	f := &batchFixture{kind: kind, template: &trial{dir: t.TempDir(), dsn: testdb.Fresh(t, kind)}}
	pend := filepath.Join(f.template.dir, "Updates_Pending")
	os.MkdirAll(pend, 0o755)
	// Install core 2.0.0 by installing it: the fixture starts from a root
	// upkeep made.
	run(t, ".", "pack", source(t, "core", "2.0.0", map[string]string{
		"templates/layout.html": "<html>2.0</html>\n", "gone-in-2.1.txt": "old file\n", "data/big.txt": big("core20"),
		"migrations/0001_users.up.sql": usersTable,
	}, nil, "users"), "-o", filepath.Join(pend, "core-2.0.0.zip")).want(t, 0, nil, nil)
	f.template.run(t, "--install-updates", "--no-backup").want(t, 0, []string{"Installed 1 update"}, nil)

	run(t, ".", "pack", source(t, "core", "2.1.0", map[string]string{
		"templates/layout.html": "<html>2.1</html>\n", "data/big.txt": big("core21"),
		"migrations/0001_users.up.sql": usersTable, "migrations/0002_email.up.sql": usersEmail,
	}, nil, "users"), "-o", filepath.Join(pend, "core-2.1.0.zip")).want(t, 0, nil, nil)
	run(t, ".", "pack", source(t, "blog", "1.4.0", map[string]string{
		"templates/post.html": "<article/>\n", "data/big.txt": big("blog14"),
		"migrations/0001_posts.up.sql": postsTable,
	}, map[string]string{"core": ">= 2.1"}, "posts"), "-o", filepath.Join(pend, "blog-1.4.0.zip")).want(t, 0, nil, nil)
	run(t, ".", "pack", source(t, "shop", "1.0.0", map[string]string{
		"cart.html": "<cart/>\n", "data/big.txt": big("shop10"),
	}, nil), "-o", filepath.Join(pend, "shop-1.0.0.zip")).want(t, 0, nil, nil)

	f.after = f.copy(t)
	f.after.run(t, "--install-updates", "--no-backup").want(t, 0, []string{"Installed 3 updates"}, nil)
	return f
}

// copy makes a trial: a copy of the template root, with a database in the
// template's state (SQLite's file is copied with the root; a server's
// database is made anew and migrated to the same versions).
func (f *batchFixture) copy(t *testing.T) *trial {
	t.Helper()
	tr := &trial{dir: copyRoot(t, f.template.dir), dsn: testdb.Fresh(t, f.kind)}
	if tr.dsn != "" {
		tr.run(t, "--ignore-updates", "--migrate-db", "--no-backup").want(t, 0, nil, nil)
	}
	return tr
}

// forEachBackend runs test on SQLite, and on PostgreSQL and MariaDB when
// their addresses are set (see internal/testdb).
func forEachBackend(t *testing.T, test func(t *testing.T, kind string)) {
	for _, kind := range testdb.Backends {
		t.Run(kind, func(t *testing.T) {
			if kind != "sqlite" {
				testdb.Need(t, kind)
			}
			test(t, kind)
		})
	}
}

// copyRoot copies a root into a new temporary folder, keeping modes and
// times.
func copyRoot(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "root")
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	return dst
}

var stampRE = regexp.MustCompile(`_\d{8}T\d{6}Z(-\d+)?\.zip`)

// state is what the safety contract speaks of: every file under packs/
// (content and mode), and which zips are in Updates_Pending and
// Updates_Installed (installed names without their time stamp).
func state(t *testing.T, tr *trial) map[string]string {
	t.Helper()
	root := tr.dir
	s := map[string]string{}
	for k, v := range fingerprintContent(t, filepath.Join(root, "packs")) {
		rel, _ := filepath.Rel(root, k)
		s[rel] = v
	}
	for k, v := range testdb.Dump(t, tr.dsn, root) {
		s["db:"+k] = v
	}
	for _, d := range []string{"Updates_Pending", "Updates_Installed"} {
		entries, _ := os.ReadDir(filepath.Join(root, d))
		for _, e := range entries {
			if e.Name() == ".gitkeep" {
				continue
			}
			s[d+"/"+stampRE.ReplaceAllString(e.Name(), ".zip")] = "zip"
		}
	}
	return s
}

// fingerprintContent is fingerprint without times: a swap by rename keeps
// contents and modes, and the states compared come from different runs.
func fingerprintContent(t *testing.T, dir string) map[string]string {
	fp := fingerprint(t, dir)
	for k, v := range fp {
		f := strings.Fields(v)
		fp[k] = f[0] + " " + f[1] + " " + f[len(f)-1]
	}
	return fp
}

// assertClean checks what must hold after any start: the state is the
// one before or the one after the batch, each zip is in exactly one of
// Updates_Pending and Updates_Installed, and .upkeep holds nothing but the
// lock and the host id (and the records of a failure, when failed is
// true).
func (f *batchFixture) assertClean(t *testing.T, tr *trial, failed bool) (sameAsBefore bool) {
	t.Helper()
	root := tr.dir
	got := state(t, tr)
	before, after := state(t, f.template), state(t, f.after)
	switch {
	case reflect.DeepEqual(got, before):
		sameAsBefore = true
	case reflect.DeepEqual(got, after):
	default:
		t.Fatalf("the root is neither as before nor as after the batch:\n got    %v\n before %v\n after  %v", keys(got), keys(before), keys(after))
	}
	for _, zip := range []string{"core-2.1.0.zip", "blog-1.4.0.zip", "shop-1.0.0.zip"} {
		_, p := got["Updates_Pending/"+zip]
		_, i := got["Updates_Installed/"+zip]
		if p == i {
			t.Fatalf("%s: in Updates_Pending %v, in Updates_Installed %v; want exactly one", zip, p, i)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(root, ".upkeep"))
	for _, e := range entries {
		if e.Name() != "lock" && e.Name() != "host-id" && !(failed && (e.Name() == "failed.json" || e.Name() == "backup-notes.json")) {
			t.Fatalf(".upkeep holds %s after the start, want only the lock", e.Name())
		}
	}
	return sameAsBefore
}

func keys(m map[string]string) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

// runEnv is run with extra environment variables.
func runEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(upkeepBin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "UPKEEP_ROOT=", "UPKEEP_KEY_PASSWORD="), env...)
	out, err := cmd.Output()
	r := result{stdout: string(out)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code, r.stderr = ee.ExitCode(), string(ee.Stderr)
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.code = -int(ws.Signal())
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// The batch is killed with SIGKILL at each step boundary; the next start,
// in check mode, finishes or undoes it, and says which. On each backend.
func TestInstallCrashAtEveryStep(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		f := newBatchFixture(t, kind, 4096)
		steps := []struct {
			step     string
			finished bool // the batch had committed: recovery finishes it
		}{
			{"journal", false}, {"stage:core", false}, {"stage:blog", false}, {"stage:shop", false}, {"staged", false},
			{"swap-out:core", false}, {"swap-in:core", false}, {"swap-out:blog", false}, {"swap-in:blog", false},
			{"swap-in:shop", false}, {"swapped", false},
			{"migrated", true}, {"commit", true}, {"move:core-2.1.0.zip", true}, {"move:blog-1.4.0.zip", true}, {"moved", true}, {"clean", true},
		}
		for _, s := range steps {
			t.Run(s.step, func(t *testing.T) {
				tr := f.copy(t)
				r := runEnv(t, tr.dir, []string{"UPKEEP_TEST_FAULT=crash@" + s.step}, tr.args("--install-updates", "--no-backup")...)
				if r.code != -int(syscall.SIGKILL) {
					t.Fatalf("the install was not killed at %s: exit %d\n%s%s", s.step, r.code, r.stdout, r.stderr)
				}
				r = tr.run(t, "--check-updates")
				if s.finished {
					// "clean" dies after the journal is gone: nothing to recover.
					if s.step != "clean" {
						r.want(t, 0, []string{"upkeep finished the interrupted install of batch ", "(core 2.1.0, blog 1.4.0, shop 1.0.0)"}, nil)
					}
				} else {
					r.want(t, 3, []string{"upkeep undid the interrupted install of batch ", "3 update zips in"}, nil)
				}
				if before := f.assertClean(t, tr, false); before == s.finished {
					t.Fatalf("after a crash at %s the root is as %s the batch", s.step, map[bool]string{true: "before", false: "after"}[before])
				}
				// And the batch installs fine afterwards.
				if !s.finished {
					tr.run(t, "--install-updates", "--no-backup").want(t, 0, []string{"Installed 3 updates"}, nil)
					f.assertClean(t, tr, false)
				}
			})
		}
	})
}

// The batch is killed at random instants; whatever the instant, the next
// start leaves the root as before or as after the batch. On each backend.
func TestInstallCrashAtRandomInstants(t *testing.T) {
	if testing.Short() {
		t.Skip("100 kills per backend take a while; skipped with -short")
	}
	forEachBackend(t, func(t *testing.T, kind string) {
		f := newBatchFixture(t, kind, 2<<20)
		// How long does an install take here? Kill within that span.
		tr := f.copy(t)
		start := time.Now()
		tr.run(t, "--install-updates", "--no-backup").want(t, 0, nil, nil)
		span := time.Since(start)
		rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
		var before, after int
		for i := 0; i < 100; i++ {
			tr := f.copy(t)
			cmd := exec.Command(upkeepBin, tr.args("--install-updates", "--no-backup", "--root", tr.dir)...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(rng.Int64N(int64(span) * 5 / 4)))
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			r := tr.run(t, "--check-updates")
			if r.code != 0 && r.code != 3 {
				t.Fatalf("trial %d: the start after the kill exited %d\n%s%s", i, r.code, r.stdout, r.stderr)
			}
			if f.assertClean(t, tr, false) {
				before++
			} else {
				after++
			}
			os.RemoveAll(filepath.Dir(tr.dir))
		}
		t.Logf("%s: install takes %s; 100 kills left the root as before %d times, as after %d times", kind, span, before, after)
	})
}

// A step that fails puts everything back, exits 6 naming the zip and the
// cause, and the next check says the zip failed last time.
func TestInstallFailureRollsBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		f := newBatchFixture(t, kind, 4096)
		for _, tc := range []struct {
			fault, zip, cause string
		}{
			{"enospc@stage:shop", "shop-1.0.0.zip", "no space left on device"},
			{"fail@swap-in:blog", "blog-1.4.0.zip", "injected failure at swap-in:blog"},
			{"fail@swap-out:core", "core-2.1.0.zip", "injected failure at swap-out:core"},
			{"fail@swapped", "", "injected failure at swapped"},
		} {
			t.Run(tc.fault, func(t *testing.T) {
				tr := f.copy(t)
				r := runEnv(t, tr.dir, []string{"UPKEEP_TEST_FAULT=" + tc.fault}, tr.args("--install-updates", "--no-backup")...)
				r.want(t, 6, nil, []string{"upkeep: error: install failed (batch ", tc.cause, "everything was put back as it was"})
				if tc.zip != "" && !strings.Contains(r.stderr, tc.zip) {
					t.Errorf("stderr does not name %s:\n%s", tc.zip, r.stderr)
				}
				if !f.assertClean(t, tr, true) {
					t.Fatal("the failed batch was left installed")
				}
				if tc.zip != "" {
					r = tr.run(t, "--check-updates")
					r.want(t, 3, []string{tc.zip + ": failed", "Failed last time: install failed", tc.cause}, nil)
				}
			})
		}
	})
}

// When undoing is impossible (here the old folder of core, moved aside by
// the swap, is gone), the start exits 7 and says which backup to restore,
// with the exact command.
func TestInstallUndoImpossible(t *testing.T) {
	f := newBatchFixture(t, "sqlite", 4096)
	tr := f.copy(t)
	r := runEnv(t, tr.dir, []string{"UPKEEP_TEST_FAULT=crash@swap-in:blog"}, "--install-updates")
	if r.code != -int(syscall.SIGKILL) {
		t.Fatalf("not killed: exit %d\n%s", r.code, r.stderr)
	}
	backups, _ := filepath.Glob(filepath.Join(tr.dir, "Updates_Backups", "*_install.zip"))
	if len(backups) != 1 {
		t.Fatalf("backups %v, want the one taken before the batch", backups)
	}
	id := strings.TrimSuffix(filepath.Base(backups[0]), ".zip")
	os.RemoveAll(filepath.Join(tr.dir, ".upkeep", "batch", "old", "core"))

	r = tr.run(t, "--check-updates")
	r.want(t, 7, nil, []string{
		"upkeep: error: batch ", "the batch was interrupted; then undoing it failed: undo core: the installed folder was moved to ",
		"upkeep: hint: restore the backup taken before the batch: upkeep backups restore " + id,
	})
	// The restore it names brings the root back as before the batch.
	tr.run(t, "backups", "restore", id).want(t, 0, []string{"restored " + id}, nil)
	tr.run(t, "--check-updates").want(t, 3, []string{"3 update zips"}, nil)
	if got, want := state(t, tr), state(t, f.template); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the restore:\n got  %v\n want %v", keys(got), keys(want))
	}
}

// A zip whose payload does not match its manifest's sha256 is found when
// it is staged, after the first two were staged: nothing of the batch goes
// in.
func TestInstallBadChecksumInThirdZip(t *testing.T) {
	f := newBatchFixture(t, "sqlite", 4096)
	tr := f.copy(t)
	root := tr.dir
	shop := filepath.Join(root, "Updates_Pending", "shop-1.0.0.zip")
	// The zip is sound (its CRCs match) but its manifest promises another
	// cart.html than the one it holds.
	rewriteManifest(t, shop, func(m map[string]any) {
		for _, f := range m["files"].([]any) {
			if f := f.(map[string]any); f["path"] == "cart.html" {
				f["sha256"] = strings.Repeat("ab", 32)
			}
		}
	})
	run(t, root, "updates", "list").want(t, 0, []string{"shop-1.0.0.zip  ready"}, nil)

	r := run(t, root, "--install-updates", "--no-backup")
	r.want(t, 6, nil, []string{"shop-1.0.0.zip, at stage:shop", "cart.html", "sha256"})
	if !f.assertClean(t, tr, true) {
		t.Fatal("the batch went in")
	}
}

// rewriteManifest rewrites the zip at path with its manifest changed by
// edit, every other entry copied as it is.
func rewriteManifest(t *testing.T, path string, edit func(map[string]any)) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if f.Name == "manifest.json" {
			rc, _ := f.Open()
			var m map[string]any
			json.NewDecoder(rc).Decode(&m)
			rc.Close()
			edit(m)
			data, _ := json.Marshal(m)
			w, _ := zw.Create(f.Name)
			w.Write(data)
			continue
		}
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A migration that fails puts the files and the database back: the
// migrations of the packs before it in the batch are undone with it. On
// MySQL/MariaDB, where they committed as they ran, the tables are put back
// from the export taken before the run.
func TestInstallFailingMigrationRollsBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		f := newBatchFixture(t, kind, 4096)
		tr := f.copy(t)
		shop := filepath.Join(tr.dir, "Updates_Pending", "shop-1.0.0.zip")
		os.Remove(shop)
		run(t, ".", "pack", source(t, "shop", "1.0.0", map[string]string{
			"cart.html":                   "<cart/>\n",
			"migrations/0001_cart.up.sql": "CREATE TABLE cart (id INTEGER PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n",
		}, nil, "cart"), "-o", shop).want(t, 0, nil, nil)
		want := state(t, tr) // this test's "before", with its own shop zip

		r := tr.run(t, "--install-updates", "--no-backup")
		r.want(t, 6, nil, []string{"install failed (batch ", "shop-1.0.0.zip, at migrate)", "0001_cart.up.sql", "no_such_table", "everything was put back as it was"})
		got := state(t, tr)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("after the failed migration:\n got  %v\n want %v", got, want)
		}
		if got["db:pack core"] != "2.0.0 schema 1" || got["db:table posts"] != "" || got["db:table cart"] != "" {
			t.Fatalf("the database kept part of the batch: %v", got)
		}
	})
}

// Eight installs started at once on one root: one installs, the others
// wait for the lock and then find nothing left to do.
func TestInstallConcurrent(t *testing.T) {
	f := newBatchFixture(t, "sqlite", 64<<10)
	tr := f.copy(t)
	root := tr.dir
	var wg sync.WaitGroup
	results := make([]result, 8)
	for i := range results {
		wg.Go(func() { results[i] = run(t, root, "--install-updates", "--no-backup", "--lock-timeout", "1m") })
	}
	wg.Wait()
	installs := 0
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("process %d: exit %d\n%s", i, r.code, r.stderr)
		}
		if strings.Contains(r.stdout, "Installed 3 updates") {
			installs++
		} else if !strings.Contains(r.stdout, "No updates pending") {
			t.Errorf("process %d neither installed nor found nothing to do:\n%s", i, r.stdout)
		}
	}
	if installs != 1 {
		t.Fatalf("%d processes installed, want exactly 1", installs)
	}
	if f.assertClean(t, tr, false) {
		t.Fatal("nothing was installed")
	}
}

// A second upkeep gives up after --lock-timeout, exits 5 and names the
// holder.
func TestLockTimeout(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, ".upkeep"), 0o755)
	lockPath := filepath.Join(root, ".upkeep", "lock")
	holder := exec.Command("flock", lockPath, "sleep", "30")
	if err := holder.Start(); err != nil {
		t.Skipf("flock(1): %v", err)
	}
	defer func() { holder.Process.Kill(); holder.Wait() }()
	time.Sleep(200 * time.Millisecond)
	r := run(t, root, "--check-updates", "--lock-timeout", "300ms")
	r.want(t, 5, nil, []string{"upkeep: error: " + lockPath + " is held by another process (waited 3"})
}

// upkeep built as people build it, without the tag upkeep_faults, ignores
// UPKEEP_TEST_FAULT: the install the variable would kill at its first step
// and fail at the next runs to the end.
func TestFaultVariableIgnoredWithoutBuildTag(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "upkeep")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	f := newBatchFixture(t, "sqlite", 4096)
	for _, fault := range []string{"crash@journal", "fail@stage:core", "enospc@stage:shop", "crash@preflight,fail@swapped"} {
		t.Run(fault, func(t *testing.T) {
			tr := f.copy(t)
			cmd := exec.Command(bin, "--install-updates", "--no-backup", "--root", tr.dir)
			cmd.Env = append(os.Environ(), "UPKEEP_ROOT=", "UPKEEP_TEST_FAULT="+fault)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("upkeep without the tag, UPKEEP_TEST_FAULT=%s: %v\n%s", fault, err, out)
			}
			if !strings.Contains(string(out), "Installed 3 updates") {
				t.Fatalf("output lacks the install:\n%s", out)
			}
			if before := f.assertClean(t, tr, false); before {
				t.Fatal("the root is as before the batch")
			}
			// The same fault does strike the tagged binary the tests use.
			tr = f.copy(t)
			if r := runEnv(t, tr.dir, []string{"UPKEEP_TEST_FAULT=" + fault}, "--install-updates", "--no-backup"); r.code == 0 {
				t.Fatalf("the tagged binary ignored %s:\n%s%s", fault, r.stdout, r.stderr)
			}
		})
	}
}
