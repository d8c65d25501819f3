package updates

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/upkeep/upkeep/internal/testdb"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/manifest"
	"github.com/upkeep/upkeep/packs"
)

// In-process tests of the batch state machine: install, its rollback and
// the recovery of an interrupted batch, with faults injected at every step
// (testFaults, the hook the tagged binary's UPKEEP_TEST_FAULT fills).

// batchSteps is the path of the test batch, as the install declares it.
var batchSteps = []string{
	"preflight", "backup", "journal", "stage:core", "stage:blog", "staged", "swapping",
	"swap-out:core", "swap-in:core", "swap-out:blog", "swap-in:blog", "swapped",
	"migrate", "migrated", "commit", "protect", "move:core-1.1.0.zip", "move:blog-1.0.0.zip", "moved", "clean",
}

// committedFrom is the first step after which the batch is committed.
const committedFrom = "migrate"

// sqlPack is a pack whose migrations are the given SQL, one per entry.
func sqlPack(name, version string, tables []string, migrations ...string) *pack {
	p := newPack(name, version)
	for i, sql := range migrations {
		p.files[fmt.Sprintf("migrations/%04d_m%d.up.sql", i+1, i+1)] = sql
	}
	p.m.Database = &manifest.Database{SchemaVersion: len(migrations), Tables: tables, Changes: "Tables."}
	return p
}

const (
	coreUsers = "CREATE TABLE core_users (id INTEGER PRIMARY KEY, name VARCHAR(50));\nINSERT INTO core_users (id, name) VALUES (1, 'ada');\n"
	coreTags  = "CREATE TABLE core_tags (id INTEGER PRIMARY KEY, tag VARCHAR(20));\n"
	blogPosts = "CREATE TABLE blog_posts (id INTEGER PRIMARY KEY, title VARCHAR(100));\nINSERT INTO blog_posts (id, title) VALUES (1, 'Hello');\n"
)

// batchTrial is a root with core 1.0.0 installed and migrated, and core
// 1.1.0 (a second migration) and blog 1.0.0 (new, requires core 1.1)
// pending, on a fresh database of kind.
func batchTrial(t *testing.T, kind string) (layout.Root, Options) {
	t.Helper()
	root := newRoot(t)
	opts := Options{ScanOptions: ScanOptions{Root: root.Dir}, DB: testdb.Fresh(t, kind), UpkeepVersion: "test"}
	sqlPack("core", "1.0.0", []string{"core_users"}, coreUsers).install(t, root)
	start := opts
	start.Mode, start.MigrateDB, start.NoBackup = Ignore, true, true
	if _, err := Bootstrap(context.Background(), start); err != nil {
		t.Fatal(err)
	}
	sqlPack("core", "1.1.0", []string{"core_users", "core_tags"}, coreUsers, coreTags).writeZip(t, pending(root, "core-1.1.0.zip"))
	sqlPack("blog", "1.0.0", []string{"blog_posts"}, blogPosts).requires("core", ">= 1.1").writeZip(t, pending(root, "blog-1.0.0.zip"))
	opts.Mode = Install
	return root, opts
}

var stampRE = regexp.MustCompile(`_\d{8}T\d{6}Z(-\d+)?\.zip`)

// rootState is what the safety contract speaks of: every file under
// packs/ with its content, which zips are in Updates_Pending and in
// Updates_Installed, and the database (testdb.Dump).
func rootState(t *testing.T, root layout.Root, opts Options) map[string]string {
	t.Helper()
	s := map[string]string{}
	filepath.WalkDir(root.Packs(), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsDir() {
			data, _ := os.ReadFile(path)
			rel, _ := filepath.Rel(root.Dir, path)
			s[rel] = string(data)
		}
		return nil
	})
	for _, d := range []string{root.Pending(), root.Installed()} {
		des, _ := os.ReadDir(d)
		for _, e := range des {
			s[filepath.Base(d)+"/"+stampRE.ReplaceAllString(e.Name(), ".zip")] = "zip"
		}
	}
	for k, v := range testdb.Dump(t, opts.DB, root.Dir) {
		s["db "+k] = v
	}
	return s
}

// assertSettled checks the state after a start: as before or as after the
// batch (which, says after), each zip in exactly one of Pending and
// Installed, and .upkeep holding only upkeep's state files: no journal,
// batch folder or temporary file.
func assertSettled(t *testing.T, root layout.Root, opts Options, want map[string]string, what string) {
	t.Helper()
	got := rootState(t, root, opts)
	if !maps.Equal(got, want) {
		t.Fatalf("the root is not as %s the batch:\n got  %v\n want %v", what, got, want)
	}
	for _, zip := range []string{"core-1.1.0.zip", "blog-1.0.0.zip"} {
		if _, p := got["Updates_Pending/"+zip]; p == (got["Updates_Installed/"+zip] != "") {
			t.Fatalf("%s is in both or neither of Updates_Pending and Updates_Installed", zip)
		}
	}
	des, _ := os.ReadDir(root.State())
	for _, e := range des {
		switch e.Name() {
		case "lock", "failed.json", "protected-backups", "trusted", "host-id", "backup-notes.json":
		default:
			t.Fatalf(".upkeep holds %s after the start", e.Name())
		}
	}
}

// states returns the state of a trial root before and after a clean
// install of the batch.
func states(t *testing.T, kind string) (before, after map[string]string) {
	t.Helper()
	root, opts := batchTrial(t, kind)
	before = rootState(t, root, opts)
	r, err := Bootstrap(context.Background(), opts)
	if err != nil || r.Batch == nil {
		t.Fatalf("clean install: %v", err)
	}
	return before, rootState(t, root, opts)
}

// The path of a batch is the list the install declares: the test's list
// is the code's, step for step.
func TestBatchStepsAreDeclaredOnce(t *testing.T) {
	root, opts := batchTrial(t, "sqlite")
	r, err := Scan(context.Background(), opts.ScanOptions)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newBatchRun(opts, root, r)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range b.steps() {
		names = append(names, s.name)
	}
	if !slices.Equal(names, batchSteps) {
		t.Fatalf("the batch's steps are\n %v\nthe test knows\n %v", names, batchSteps)
	}
}

func forEachKind(t *testing.T, test func(t *testing.T, kind string)) {
	for _, kind := range testdb.Backends {
		t.Run(kind, func(t *testing.T) { test(t, kind) })
	}
}

// atEveryStep runs test once for each step of the batch, in a subtest on
// a root of its own with the fault action set at that step; committed says
// whether the batch had committed when the fault struck (after the step).
func atEveryStep(t *testing.T, kind, action string, test func(t *testing.T, step string, committed bool, root layout.Root, opts Options)) {
	committed := false
	for _, step := range batchSteps {
		if step == committedFrom {
			committed = true // the fault strikes after the step: committed
		}
		t.Run(step, func(t *testing.T) {
			root, opts := batchTrial(t, kind)
			withFaults(t, faults{step: action})
			test(t, step, committed, root, opts)
		})
	}
}

func withFaults(t *testing.T, f faults) {
	testFaults = f
	t.Cleanup(func() { testFaults = nil })
}

// A failure at each step: before the commit, Bootstrap returns an
// *InstallError naming the step and everything is as before; from the
// commit on, the batch is installed, the error says so, and the next start
// finishes it.
func TestInstallFailsAtEveryStep(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		before, after := states(t, kind)
		atEveryStep(t, kind, actionFail, func(t *testing.T, step string, committed bool, root layout.Root, opts Options) {
			_, err := Bootstrap(context.Background(), opts)
			testFaults = nil
			var ie *InstallError
			if !committed {
				if !errors.As(err, &ie) || ie.Step != step || !errors.Is(err, ErrInstallFailed) || errors.Is(err, ErrManual) {
					t.Fatalf("Bootstrap = %v, want an InstallError at %s", err, step)
				}
				if !strings.Contains(err.Error(), "injected failure at "+step) {
					t.Fatalf("the error does not say what failed: %v", err)
				}
				assertSettled(t, root, opts, before, "before")
				return
			}
			if err == nil || errors.As(err, &ie) || !strings.Contains(err.Error(), "is installed, but finishing it failed at "+step) {
				t.Fatalf("Bootstrap = %v, want the batch installed and its finishing failed at %s", err, step)
			}
			check := opts
			check.Mode = Check
			r, err := Bootstrap(context.Background(), check)
			if err != nil {
				t.Fatalf("the next start: %v", err)
			}
			if step != "clean" && (r.Recovery == nil || r.Recovery.Action != Finished) {
				t.Fatalf("the next start's recovery %+v, want finished", r.Recovery)
			}
			assertSettled(t, root, opts, after, "after")
		})
	})
}

// A migration that fails puts everything back: the files, and the
// database (in one transaction where DDL is transactional, from the export
// taken before the run on MySQL); the error names the zip whose migration
// failed, and the same batch, mended, installs afterwards.
func TestInstallMigrationFailureRollsBack(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		before, after := states(t, kind)
		root, opts := batchTrial(t, kind)
		bad := sqlPack("blog", "1.0.0", []string{"blog_posts"}, blogPosts+"INSERT INTO no_such_table VALUES (1);\n").requires("core", ">= 1.1")
		bad.writeZip(t, pending(root, "blog-1.0.0.zip"))
		before["Updates_Pending/blog-1.0.0.zip"] = "zip"
		_, err := Bootstrap(context.Background(), opts)
		var ie *InstallError
		if !errors.As(err, &ie) || ie.Step != "migrate" || ie.Zip != "blog-1.0.0.zip" || !errors.Is(err, packs.ErrMigrationFailed) {
			t.Fatalf("Bootstrap = %v, want an InstallError at migrate for blog-1.0.0.zip", err)
		}
		assertSettled(t, root, opts, before, "before")
		sqlPack("blog", "1.0.0", []string{"blog_posts"}, blogPosts).requires("core", ">= 1.1").writeZip(t, pending(root, "blog-1.0.0.zip"))
		if _, err := Bootstrap(context.Background(), opts); err != nil {
			t.Fatalf("the mended batch: %v", err)
		}
		assertSettled(t, root, opts, after, "after")
	})
}

// The batch stopped dead (as by kill -9) at each step boundary: the next
// start undoes it when it had not committed and finishes it when it had,
// and says which; the root is then as before or as after the batch, and
// an undone batch installs afterwards.
func TestInstallStoppedAtEveryStepThenRecovered(t *testing.T) {
	forEachKind(t, func(t *testing.T, kind string) {
		before, after := states(t, kind)
		atEveryStep(t, kind, actionStop, func(t *testing.T, step string, committed bool, root layout.Root, opts Options) {
			stoppedAt := func() (at string) {
				defer func() {
					if s, ok := recover().(stopped); ok {
						at = s.step
					}
				}()
				Bootstrap(context.Background(), opts)
				return ""
			}()
			testFaults = nil
			if stoppedAt != step {
				t.Fatalf("the batch did not stop at %s", step)
			}
			check := opts
			check.Mode = Check
			r, err := Bootstrap(context.Background(), check)
			journaled := !slices.Contains([]string{"preflight", "backup", "clean"}, step)
			switch {
			case committed:
				if err != nil {
					t.Fatalf("the start after the stop: %v", err)
				}
				if journaled && (r.Recovery == nil || r.Recovery.Action != Finished || !strings.Contains(r.Recovery.String(), "finished the interrupted install of batch ")) {
					t.Fatalf("recovery %+v, want finished", r.Recovery)
				}
				assertSettled(t, root, opts, after, "after")
			default:
				if !errors.Is(err, ErrPending) {
					t.Fatalf("the start after the stop: %v, want updates pending", err)
				}
				if journaled && (r.Recovery == nil || r.Recovery.Action != Undone || r.Recovery.String() != "undid the interrupted install of batch "+r.Recovery.Batch+" (core 1.1.0, blog 1.0.0)") {
					t.Fatalf("recovery %+v, want undone", r.Recovery)
				}
				if !journaled && r.Recovery != nil {
					t.Fatalf("recovery %+v of a batch that had no journal", r.Recovery)
				}
				assertSettled(t, root, opts, before, "before")
				if _, err := Bootstrap(context.Background(), opts); err != nil {
					t.Fatalf("installing after the undo: %v", err)
				}
				assertSettled(t, root, opts, after, "after")
			}
		})
	})
}

// Undo that cannot put a pack back (its old folder, moved aside, is gone)
// ends in a *ManualError: it matches ErrManual and not ErrInstallFailed,
// and names the backup to restore.
func TestManualErrorIsNotInstallFailed(t *testing.T) {
	root, opts := batchTrial(t, "sqlite")
	withFaults(t, faults{"swap-in:blog": actionStop})
	func() {
		defer func() { recover() }()
		Bootstrap(context.Background(), opts)
	}()
	testFaults = nil
	if err := os.RemoveAll(filepath.Join(root.State(), "batch", "old", "core")); err != nil {
		t.Fatal(err)
	}
	check := opts
	check.Mode = Check
	_, err := Bootstrap(context.Background(), check)
	var me *ManualError
	if !errors.As(err, &me) || !errors.Is(err, ErrManual) || errors.Is(err, ErrInstallFailed) {
		t.Fatalf("err %v: want a ManualError matching ErrManual and not ErrInstallFailed", err)
	}
	if me.Backup == "" || !strings.HasSuffix(me.Backup, "_install") || me.Hint() != "restore the backup taken before the batch: upkeep backups restore "+me.Backup {
		t.Fatalf("backup %q, hint %q", me.Backup, me.Hint())
	}

	// One made from a failed install: the InstallError it carries says
	// everything was put back, which is not so; it is neither matched nor
	// quoted.
	cause := &InstallError{Batch: "b1", Step: "swap-in:blog", Zip: "blog.zip", Err: packs.ErrDatabaseBehind}
	me = &ManualError{Batch: "b1", Backup: "x_install", Cause: cause, Err: errors.New("undo core: gone")}
	var ie *InstallError
	if errors.Is(me, ErrInstallFailed) || errors.As(me, &ie) || !errors.Is(me, ErrManual) || !errors.Is(me, packs.ErrDatabaseBehind) {
		t.Fatalf("ManualError matches: ErrInstallFailed %v, InstallError %v, ErrManual %v, its cause %v",
			errors.Is(me, ErrInstallFailed), errors.As(me, &ie), errors.Is(me, ErrManual), errors.Is(me, packs.ErrDatabaseBehind))
	}
	if strings.Contains(me.Error(), "put back") || !strings.Contains(me.Error(), "install failed (batch b1, blog.zip, at swap-in:blog)") {
		t.Fatalf("message: %s", me)
	}
}

// The fault variable's syntax: ACTION@STEP, comma-separated, with the
// actions a binary may take from its environment ("stop" is for tests in
// this package only).
func TestParseFaults(t *testing.T) {
	f, err := parseFaults("crash@swap-in:blog,fail@staged,enospc@stage:shop")
	if err != nil || !maps.Equal(f, faults{"swap-in:blog": "crash", "staged": "fail", "stage:shop": "enospc"}) {
		t.Fatalf("parseFaults = %v, %v", f, err)
	}
	if f, err := parseFaults(""); f != nil || err != nil {
		t.Fatalf("parseFaults of nothing = %v, %v", f, err)
	}
	for _, bad := range []string{"crash", "stop@staged", "fail@", "explode@staged"} {
		if _, err := parseFaults(bad); err == nil || !strings.Contains(err.Error(), faultEnv) {
			t.Errorf("parseFaults(%q) = %v, want an error naming %s", bad, err, faultEnv)
		}
	}
}
