package updates

import (
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestFlusherSyncsWhileStaging shows the flusher syncing in the background
// until its final sync, keeping the first error of a background sync for
// that final sync to return (a write error reported once by syncfs(2) is
// not reported again), and stopping for good.
func TestFlusherSyncsWhileStaging(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	broken := errors.New("sync " + dir + ": input/output error")
	fl := newFlusher(f, func(f *os.File) error {
		if calls.Add(1) == 2 {
			return broken // the second background sync fails
		}
		return syncFile(f)
	}, true)
	if err := os.WriteFile(filepath.Join(dir, "a"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for calls.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(flushEvery / 4)
	}
	if n := calls.Load(); n < 3 {
		t.Fatalf("%d background syncs in 10 s, want at least 3 (one every %v)", n, flushEvery)
	}
	if err := fl.sync(); !errors.Is(err, broken) {
		t.Fatalf("final sync after a failed background sync: %v, want %v", err, broken)
	}
	after := calls.Load()
	time.Sleep(3 * flushEvery)
	if n := calls.Load(); n != after {
		t.Fatalf("%d syncs after the final one, want none", n-after)
	}
	fl.close()
	fl.close() // a failed batch closes it again: harmless
	if _, err := f.Stat(); err == nil {
		t.Fatal("the folder is still open after close")
	}
}

// TestFlusherWithoutBackground shows the final sync alone where the file
// system cannot be synced whole, and close without a sync.
func TestFlusherWithoutBackground(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	fl := newFlusher(f, func(*os.File) error { calls.Add(1); return nil }, false)
	time.Sleep(3 * flushEvery)
	if n := calls.Load(); n != 0 {
		t.Fatalf("%d syncs before the final one, want none", n)
	}
	if err := fl.sync(); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d syncs, want 1", n)
	}
	fl.close()
	var none *flusher
	none.close() // a batch that failed before its journal has none
}
