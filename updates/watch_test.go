package updates

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// watchLog runs Watch on root and records every change it reports.
type watchLog struct {
	mu      sync.Mutex
	changes []Change
	notify  chan struct{}
}

func startWatch(t *testing.T, opts WatchOptions) *watchLog {
	t.Helper()
	l := &watchLog{notify: make(chan struct{}, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, opts, func(c Change) {
			l.mu.Lock()
			l.changes = append(l.changes, c)
			l.mu.Unlock()
			l.notify <- struct{}{}
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	})
	l.wait(t, func(c Change) bool { return c.Report != nil }, 5*time.Second)
	return l
}

// wait waits for a change that ok accepts, failing after d.
func (l *watchLog) wait(t *testing.T, ok func(Change) bool, d time.Duration) Change {
	t.Helper()
	deadline := time.After(d)
	seen := 0
	for {
		l.mu.Lock()
		for ; seen < len(l.changes); seen++ {
			if ok(l.changes[seen]) {
				c := l.changes[seen]
				l.mu.Unlock()
				return c
			}
		}
		l.mu.Unlock()
		select {
		case <-l.notify:
		case <-deadline:
			t.Fatalf("no such change within %s; got %v", d, l.all())
		}
	}
}

func (l *watchLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, c := range l.changes {
		for _, f := range c.Files {
			out = append(out, f.String())
		}
	}
	return out
}

func fileIs(name string, s Status) func(Change) bool {
	return func(c Change) bool {
		for _, f := range c.Files {
			if f.File == name && f.Status == string(s) {
				return true
			}
		}
		return false
	}
}

func TestWatchSeesARenamedZipReady(t *testing.T) {
	for _, poll := range []bool{false, true} {
		t.Run(map[bool]string{false: "events", true: "polling"}[poll], func(t *testing.T) {
			root := newRoot(t)
			l := startWatch(t, WatchOptions{ScanOptions: ScanOptions{Root: root.Dir}, Poll: poll, PollInterval: 100 * time.Millisecond})
			part := pending(root, "blog-1.0.0.zip.part")
			newPack("blog", "1.0.0").writeZip(t, part)
			// Old enough to be steady: a copy that finished a while ago.
			old := time.Now().Add(-time.Minute)
			os.Chtimes(part, old, old)
			start := time.Now()
			if err := os.Rename(part, pending(root, "blog-1.0.0.zip")); err != nil {
				t.Fatal(err)
			}
			c := l.wait(t, fileIs("blog-1.0.0.zip", Ready), 3*time.Second)
			if d := time.Since(start); d > time.Second {
				t.Errorf("ready after %s, want under 1s", d)
			}
			if c.Polling != poll {
				t.Errorf("polling %v, want %v", c.Polling, poll)
			}
			if len(c.Report.Ready()) != 1 {
				t.Errorf("report: %d ready, want 1", len(c.Report.Ready()))
			}
			os.Remove(pending(root, "blog-1.0.0.zip"))
			l.wait(t, fileIs("blog-1.0.0.zip", "gone"), 3*time.Second)
		})
	}
}

// A zip written slowly, a chunk every 100ms over 3s, is incomplete until
// its last byte is written, never ready nor invalid before.
func TestWatchNeverShowsASlowCopyReadyEarly(t *testing.T) {
	root := newRoot(t)
	src := newPack("blog", "1.0.0").writeZip(t, filepath.Join(t.TempDir(), "src.zip"))
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	l := startWatch(t, WatchOptions{ScanOptions: ScanOptions{Root: root.Dir}})
	dst := pending(root, "blog-1.0.0.zip")
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	const steps = 30
	for i := range steps {
		lo, hi := len(data)*i/steps, len(data)*(i+1)/steps
		if _, err := f.Write(data[lo:hi]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	f.Close()
	l.wait(t, fileIs("blog-1.0.0.zip", Ready), 5*time.Second)
	l.mu.Lock()
	defer l.mu.Unlock()
	sawIncomplete := false
	for _, c := range l.changes {
		for _, fc := range c.Files {
			if fc.File != "blog-1.0.0.zip" {
				continue
			}
			switch fc.Status {
			case string(Incomplete):
				sawIncomplete = true
			case string(Ready):
				// Reported ready: only once the copy had ended.
				if !sawIncomplete {
					t.Errorf("ready without being incomplete first")
				}
			default:
				t.Errorf("reported %s while being copied: %s", fc.Status, fc)
			}
		}
	}
	if !sawIncomplete {
		t.Errorf("never reported incomplete: %v", l.changes)
	}
}

func TestWatchIgnoresPartTmpAndDotFiles(t *testing.T) {
	root := newRoot(t)
	l := startWatch(t, WatchOptions{ScanOptions: ScanOptions{Root: root.Dir}})
	for _, name := range []string{"a.zip.part", "b.zip.tmp", ".c.zip", "d.ZIP.PART"} {
		newPack("blog", "1.0.0").writeZip(t, pending(root, name))
	}
	os.MkdirAll(pending(root, ".incoming"), 0o755)
	newPack("blog", "1.0.0").writeZip(t, pending(root, ".incoming/e.zip"))
	time.Sleep(600 * time.Millisecond)
	if got := l.all(); len(got) != 0 {
		t.Fatalf("ignored names were reported: %v", got)
	}
	r, err := Scan(context.Background(), ScanOptions{Root: root.Dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Updates) != 0 {
		t.Fatalf("scan reported ignored names: %v", r.Updates[0].File)
	}
	for _, name := range []string{"x.zip.part", "x.tmp", ".x.zip", ".incoming"} {
		if !Ignored(name) {
			t.Errorf("Ignored(%q) = false", name)
		}
	}
	if Ignored("blog-1.0.0.zip") || Ignored("part.zip") {
		t.Errorf("a plain zip is ignored")
	}
}

// A zip that stops growing without ever getting its end of central
// directory is incomplete until Settle has passed, then invalid.
func TestWatchTruncatedZipTurnsInvalidAfterSettle(t *testing.T) {
	root := newRoot(t)
	src := newPack("blog", "1.0.0").writeZip(t, filepath.Join(t.TempDir(), "src.zip"))
	data, _ := os.ReadFile(src)
	l := startWatch(t, WatchOptions{ScanOptions: ScanOptions{Root: root.Dir, Settle: 1500 * time.Millisecond}})
	if err := os.WriteFile(pending(root, "cut.zip"), data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	l.wait(t, fileIs("cut.zip", Incomplete), 3*time.Second)
	c := l.wait(t, fileIs("cut.zip", Invalid), 6*time.Second)
	if !strings.Contains(c.Files[0].Problem, "cut.zip") {
		t.Errorf("problem does not name the zip: %q", c.Files[0].Problem)
	}
}
