package backupstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/upkeep/upkeep/layout"
)

// skipState are the paths a restore leaves alone in fillRoot's tree.
var skipState = []string{layout.PendingDir, layout.InstalledDir, layout.BackupsDir, layout.StateDir}

// mess changes the root after a backup: deletes, changes, adds files,
// changes modes and symlinks, and touches excluded paths.
func mess(t *testing.T, r layout.Root) {
	t.Helper()
	d := r.Dir
	for _, p := range []string{"README.txt", "packs/core/deep", "current"} {
		if err := os.RemoveAll(filepath.Join(d, p)); err != nil {
			t.Fatal(err)
		}
	}
	write(t, d, "bin/run.sh", []byte("#!/bin/sh\necho changed\n"), 0o644)
	write(t, d, "packs/blog/random.bin", randomBytes(99, 1000), 0o644)
	write(t, d, "added.txt", []byte("new"), 0o644)
	write(t, d, "packs/newpack/x/y.txt", []byte("new pack"), 0o644)
	os.Remove(filepath.Join(d, "empty-dir"))
	write(t, d, "empty-dir", []byte("now a file"), 0o644)
	os.Remove(filepath.Join(d, "dangling"))
	os.Symlink("elsewhere", filepath.Join(d, "dangling"))
	// Excluded paths must survive the restore as they are now.
	write(t, d, "logs/app.log", []byte("log, changed"), 0o644)
	write(t, d, "logs/other.log", []byte("new log"), 0o644)
	write(t, d, "cache/tmp/junk2", []byte("junk2"), 0o644)
	write(t, d, layout.PendingDir+"/new.zip", []byte("pending"), 0o644)
}

// Restore brings back deleted, changed and added files exactly, leaves
// excluded paths alone, and first takes a before-restore backup holding
// the state it replaced.
func TestRestore(t *testing.T) {
	r := newRoot(t)
	fillRoot(t, r)
	now := fixedClock()
	b := create(t, CreateOptions{Root: r, Reason: "good", Exclude: testExclude, Now: now})
	want := readTree(t, r.Dir, skipState...)
	mess(t, r)
	messed := readTree(t, r.Dir, skipState...)
	excludedNow := map[string]node{}
	for _, p := range []string{"logs/app.log", "logs/other.log", "cache/tmp", "cache/tmp/junk", "cache/tmp/junk2"} {
		excludedNow[p] = messed[p]
	}

	before, err := Restore(context.Background(), RestoreOptions{Root: r, ID: b.ID, Exclude: testExclude, Now: now})
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	got := readTree(t, r.Dir, skipState...)
	for p, n := range excludedNow {
		want[p] = n // the excluded paths as they were before the restore
	}
	diffTrees(t, got, want)
	if pend, err := os.ReadFile(filepath.Join(r.Pending(), "new.zip")); err != nil || string(pend) != "pending" {
		t.Errorf("Updates_Pending was touched: %q, %v", pend, err)
	}

	// The before-restore backup holds the messed-up state.
	if before == nil || !strings.HasSuffix(before.ID, "_"+ReasonBeforeRestore) {
		t.Fatalf("before-restore backup = %+v", before)
	}
	// (Exported first: it may reference files the first backup holds.)
	out := t.TempDir()
	full := filepath.Join(out, "before.zip")
	if _, err := Export(r, before.ID, full); err != nil {
		t.Fatal(err)
	}
	unzipTo(t, full, out)
	wantBefore := map[string]node{}
	for p, n := range messed {
		if !strings.HasPrefix(p+"/", "logs/app.log/") && !strings.HasPrefix(p+"/", "logs/other.log/") && !strings.HasPrefix(p+"/", "cache/tmp/") {
			wantBefore[p] = n
		}
	}
	diffTrees(t, readTree(t, filepath.Join(out, "files")), wantBefore)

	// Nothing is left in .upkeep/restore.
	if _, err := os.Stat(r.Restore()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf(".upkeep/restore left behind: %v", err)
	}
	if j, err := ReadJournal(r); j != nil || err != nil {
		t.Errorf("journal left: %+v, %v", j, err)
	}
}

// A failure at any step of the swap puts the root back as it was, says so,
// and leaves no journal; the before-restore backup exists.
func TestRestoreRollsBack(t *testing.T) {
	for _, step := range []string{"aside", "in", "database"} {
		t.Run(step, func(t *testing.T) {
			r := newRoot(t)
			fillRoot(t, r)
			mkSQLite(t, filepath.Join(r.Dir, "data/app.db"), 3)
			b := create(t, CreateOptions{Root: r, Reason: "good", Exclude: testExclude})
			mess(t, r)
			mkSQLite(t, filepath.Join(r.Dir, "data/app.db"), 7)
			wantTree := readTree(t, r.Dir, skipState...)
			calls := 0
			boom := errors.New("boom")
			_, err := Restore(context.Background(), RestoreOptions{Root: r, ID: b.ID, Exclude: testExclude,
				failAt: func(s string) error {
					if s != step {
						return nil
					}
					if calls++; calls == 3 || step == "database" {
						return boom
					}
					return nil
				}})
			var re *RestoreError
			if !errors.As(err, &re) || !re.RolledBack || !errors.Is(err, boom) {
				t.Fatalf("Restore = %v, want a rolled-back *RestoreError", err)
			}
			if !strings.Contains(err.Error(), "failed and was rolled back") {
				t.Errorf("message: %v", err)
			}
			diffTrees(t, readTree(t, r.Dir, skipState...), wantTree)
			if n := countRows(t, filepath.Join(r.Dir, "data/app.db")); n != 7 {
				t.Errorf("database has %d rows after rollback, want 7", n)
			}
			if j, _ := ReadJournal(r); j != nil {
				t.Errorf("journal left: %+v", j)
			}
			if _, err := Show(r, re.BeforeRestore); err != nil {
				t.Errorf("before-restore backup %s: %v", re.BeforeRestore, err)
			}
		})
	}
}

// A corrupted entry is found while staging: the root is not touched.
func TestRestoreRefusesCorruptBackup(t *testing.T) {
	r := newRoot(t)
	fillRoot(t, r)
	b := create(t, CreateOptions{Root: r, DB: "none", Exclude: testExclude})
	rewriteZip(t, b.Path, func(name string, data []byte) ([]byte, bool) {
		if name == "files/packs/blog/random.bin" {
			data[100] ^= 0xff
		}
		return data, true
	})
	mess(t, r)
	wantTree := readTree(t, r.Dir, skipState...)
	_, err := Restore(context.Background(), RestoreOptions{Root: r, ID: b.ID, DB: "none", Exclude: testExclude})
	var p Problem
	if !errors.As(err, &p) || p.Entry != "files/packs/blog/random.bin" || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Restore = %v, want ErrCorrupt naming files/packs/blog/random.bin", err)
	}
	diffTrees(t, readTree(t, r.Dir, skipState...), wantTree)
	// A missing entry is refused before anything, even the before-restore backup.
	rewriteZip(t, b.Path, func(name string, data []byte) ([]byte, bool) { return data, name != "files/README.txt" })
	n := len(backupFiles(t, r))
	if _, err := Restore(context.Background(), RestoreOptions{Root: r, ID: b.ID, DB: "none"}); !errors.Is(err, ErrMissingEntry) {
		t.Errorf("Restore of a backup missing an entry = %v", err)
	}
	if len(backupFiles(t, r)) != n {
		t.Error("a before-restore backup was taken for a backup that cannot be restored")
	}
}

// An unfinished restore (journal present) blocks the next one.
func TestRestoreRefusesWhileJournalExists(t *testing.T) {
	r := newRoot(t)
	write(t, r.Dir, "a", []byte("a"), 0o644)
	b := create(t, CreateOptions{Root: r, DB: "none"})
	write(t, r.State(), "restore/journal.json", []byte(`{"state":"swapping","backup":"x","before_restore":"y"}`), 0o644)
	_, err := Restore(context.Background(), RestoreOptions{Root: r, ID: b.ID, DB: "none"})
	if !errors.Is(err, ErrRestoreInProgress) || !strings.Contains(err.Error(), `"swapping"`) {
		t.Errorf("Restore = %v, want ErrRestoreInProgress naming the state", err)
	}
}

// A backup of one kind of database does not restore into another.
func TestRestoreDatabaseMismatch(t *testing.T) {
	r := newRoot(t)
	mkSQLite(t, filepath.Join(r.Dir, "data/app.db"), 1)
	b := create(t, CreateOptions{Root: r})
	_, err := Restore(context.Background(), RestoreOptions{Root: r, ID: b.ID, DB: "postgres://u@127.0.0.1:1/x"})
	if !errors.Is(err, ErrDatabaseMismatch) {
		t.Errorf("Restore = %v, want ErrDatabaseMismatch", err)
	}
}
