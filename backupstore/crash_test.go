//go:build unix

// Killing a process with SIGKILL is a Unix test.

package backupstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/upkeep/upkeep/layout"
)

// The crash tests run this test binary again as a child that does one
// backup or restore and kills itself with SIGKILL at a chosen instant; the
// parent then checks what is on disk.
func TestMain(m *testing.M) {
	if action := os.Getenv("UPKEEP_TEST_CHILD"); action != "" {
		childMain(action)
		os.Exit(3) // not killed: the parent reports it
	}
	os.Exit(m.Run())
}

func die() { syscall.Kill(os.Getpid(), syscall.SIGKILL) }

func childMain(action string) {
	r := layout.Root{Dir: os.Getenv("UPKEEP_TEST_ROOT")}
	at, _ := strconv.Atoi(os.Getenv("UPKEEP_TEST_KILL_AT"))
	var err error
	switch action {
	case "create":
		_, err = Create(context.Background(), CreateOptions{Root: r, Exclude: testExclude,
			wrapOutput: func(w io.Writer) io.Writer { return &killingWriter{w: w, at: int64(at)} }})
	case "prune":
		step, n := os.Getenv("UPKEEP_TEST_KILL_STEP"), 0
		pruneStep = func(s string) {
			if s == step {
				if n++; n == at {
					die()
				}
			}
		}
		var protect []string
		if id := os.Getenv("UPKEEP_TEST_ID"); id != "" {
			protect = append(protect, id)
		}
		_, err = Prune(r, 2, protect)
	case "restore":
		step, n := os.Getenv("UPKEEP_TEST_KILL_STEP"), 0
		_, err = Restore(context.Background(), RestoreOptions{Root: r, ID: os.Getenv("UPKEEP_TEST_ID"), Exclude: testExclude,
			failAt: func(s string) error {
				if s == step {
					if n++; n == at {
						die()
					}
				}
				return nil
			}})
	}
	fmt.Fprintln(os.Stderr, "child finished:", err)
}

// killingWriter kills the process once at bytes have been written.
type killingWriter struct {
	w     io.Writer
	at, n int64
}

func (k *killingWriter) Write(p []byte) (int, error) {
	if k.n+int64(len(p)) >= k.at {
		die()
	}
	k.n += int64(len(p))
	return k.w.Write(p)
}

// runChild runs a child and checks that it was killed.
func runChild(t *testing.T, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !strings.Contains(ee.String(), "killed") {
		t.Fatalf("child was not killed: %v\n%s", err, out)
	}
}

// A backup killed while writing leaves no zip under a backup's name;
// List does not show its temp file and Prune removes it.
func TestCreateKilled(t *testing.T) {
	r := newRoot(t)
	fillRoot(t, r)
	fillBig(t, r)
	mkSQLite(t, filepath.Join(r.Dir, "data/app.db"), 5)
	runChild(t, "UPKEEP_TEST_CHILD=create", "UPKEEP_TEST_ROOT="+r.Dir, "UPKEEP_TEST_KILL_AT=3000000")
	names := backupFiles(t, r)
	for _, n := range names {
		if strings.HasSuffix(n, ".zip") {
			t.Errorf("a killed backup left %s", n)
		}
	}
	if len(names) == 0 {
		t.Error("no temp file left: the child was killed before it wrote")
	}
	if list, err := List(r); err != nil || len(list) != 0 {
		t.Errorf("List = %v, %v", list, err)
	}
	b := create(t, CreateOptions{Root: r, Exclude: testExclude})
	if _, err := Prune(r, 5, nil); err != nil {
		t.Fatal(err)
	}
	if names := backupFiles(t, r); len(names) != 1 || names[0] != b.ID+".zip" {
		t.Errorf("after Prune: %v, want the one backup", names)
	}
}

// A restore killed at any instant leaves a journal; Restore then refuses,
// and Recover puts the root and the database back as they were before it
// (or, killed in cleanup, finishes it).
func TestRestoreKilledThenRecover(t *testing.T) {
	for _, tc := range []struct {
		step  string
		at    int
		state State
	}{
		{"aside", 1, StateSwapping},
		{"aside", 4, StateSwapping},
		{"in", 3, StateSwapping},
		{"database", 1, StateSwapping},
		{"sqlite", 2, StateDatabase}, // app.db moved aside, its WAL not yet
		{"cleanup", 1, StateCleanup},
	} {
		t.Run(fmt.Sprintf("%s-%d", tc.step, tc.at), func(t *testing.T) {
			r := newRoot(t)
			fillRoot(t, r)
			dbPath := filepath.Join(r.Dir, "data/app.db")
			mkSQLite(t, dbPath, 3)
			b := create(t, CreateOptions{Root: r, Exclude: testExclude})
			restored := readTree(t, r.Dir, skipState...)
			mess(t, r)
			mkSQLite(t, dbPath, 7)
			before := readTree(t, r.Dir, skipState...)
			for _, p := range []string{"logs/app.log", "logs/other.log", "cache/tmp", "cache/tmp/junk", "cache/tmp/junk2"} {
				restored[p] = before[p]
			}
			runChild(t, "UPKEEP_TEST_CHILD=restore", "UPKEEP_TEST_ROOT="+r.Dir, "UPKEEP_TEST_ID="+b.ID,
				"UPKEEP_TEST_KILL_STEP="+tc.step, "UPKEEP_TEST_KILL_AT="+strconv.Itoa(tc.at))

			j, err := ReadJournal(r)
			if err != nil || j == nil || j.State != tc.state || j.Backup != b.ID {
				t.Fatalf("journal after the kill = %+v, %v; want state %s", j, err, tc.state)
			}
			if _, err := Restore(context.Background(), RestoreOptions{Root: r, ID: b.ID, Exclude: testExclude}); !errors.Is(err, ErrRestoreInProgress) {
				t.Fatalf("Restore after a crash = %v, want ErrRestoreInProgress", err)
			}
			got, err := Recover(context.Background(), r, "")
			if err != nil || got == nil || got.State != tc.state {
				t.Fatalf("Recover = %+v, %v", got, err)
			}
			if j, _ := ReadJournal(r); j != nil {
				t.Errorf("journal left after Recover: %+v", j)
			}
			if _, err := os.Stat(r.Restore()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf(".upkeep/restore left after Recover: %v", err)
			}
			wantTree, wantRows := before, 7
			if tc.state == StateCleanup {
				wantTree, wantRows = restored, 3
			}
			// The database is compared by rows: a snapshot is not a byte copy.
			delete(wantTree, "data/app.db")
			diffTrees(t, readTree(t, r.Dir, append(skipState, "data/app.db")...), wantTree)
			if n := countRows(t, dbPath); n != wantRows {
				t.Errorf("database has %d rows, want %d", n, wantRows)
			}
			for _, s := range sqliteSuffixes {
				for _, x := range []string{sqliteNew, sqliteOld} {
					if _, err := os.Lstat(dbPath + s + x); err == nil {
						t.Errorf("%s left", dbPath+s+x)
					}
				}
			}
			// Recover again: nothing to do.
			if j, err := Recover(context.Background(), r, ""); j != nil || err != nil {
				t.Errorf("second Recover = %+v, %v", j, err)
			}
		})
	}
}

// A backup killed while it writes, or a prune killed at any of its
// renames and removals, leaves every backup still listed restorable: each
// verifies (every file's sha256, referenced ones included), the newest
// restores, and the next prune finishes the work.
func TestChainKilled(t *testing.T) {
	r := newRoot(t)
	fillRoot(t, r)
	fillBig(t, r)
	chain := buildChain(t, r)
	checkAll := func(t *testing.T, r layout.Root) {
		t.Helper()
		list, err := List(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range list {
			if err := Verify(r, b.ID); err != nil {
				t.Errorf("after the kill: %v", err)
			}
		}
	}
	// clone copies the root and its backups (cp -a keeps what a backup
	// compares: sizes, times; inodes differ, so backups store files again).
	clone := func(t *testing.T) layout.Root {
		dst := t.TempDir()
		if out, err := exec.Command("cp", "-a", r.Dir+"/.", dst).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, out)
		}
		return layout.Root{Dir: dst}
	}
	t.Run("create", func(t *testing.T) {
		r := clone(t)
		write(t, r.Dir, "packs/blog/big-text.txt", textBytes(7<<20), 0o640)
		runChild(t, "UPKEEP_TEST_CHILD=create", "UPKEEP_TEST_ROOT="+r.Dir, "UPKEEP_TEST_KILL_AT=3000000")
		checkAll(t, r)
		if list, _ := List(r); len(list) != len(chain) {
			t.Errorf("%d backups after the kill, want %d", len(list), len(chain))
		}
	})
	// Keeping the first backup and the last two, the middle ones are
	// repacked (they hold little that is needed) or removed; keeping the
	// last two alone, the first one's zip is renamed to its pieces (most of
	// it is needed).
	for _, tc := range []struct {
		step      string
		at        int
		keepFirst bool
	}{{"remove", 1, true}, {"remove", 2, true}, {"repack", 1, true}, {"repack", 2, true}, {"rename", 1, false}, {"remove", 1, false}} {
		t.Run(fmt.Sprintf("prune-%s-%d-%v", tc.step, tc.at, tc.keepFirst), func(t *testing.T) {
			r := clone(t)
			var protect []string
			if tc.keepFirst {
				protect = []string{chain[0].id}
			}
			runChild(t, "UPKEEP_TEST_CHILD=prune", "UPKEEP_TEST_ROOT="+r.Dir, "UPKEEP_TEST_ID="+strings.Join(protect, ""),
				"UPKEEP_TEST_KILL_STEP="+tc.step, "UPKEEP_TEST_KILL_AT="+strconv.Itoa(tc.at))
			checkAll(t, r)
			if _, err := Prune(r, 2, protect); err != nil {
				t.Fatal(err)
			}
			checkAll(t, r)
			if list, _ := List(r); len(list) != 2+len(protect) {
				t.Errorf("after the second prune: %d backups, want %d", len(list), 2+len(protect))
			}
			restoreAndCompare(t, r, chain[len(chain)-1])
		})
	}
}
