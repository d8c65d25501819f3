package updates

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/upkeep/upkeep/layout"
)

// Defaults of [WatchOptions].
const (
	DefaultDebounce = 100 * time.Millisecond
	DefaultRescan   = time.Minute
	DefaultPoll     = time.Second
	DefaultSteady   = 300 * time.Millisecond
)

// WatchOptions configures [Watch].
type WatchOptions struct {
	ScanOptions // Steady defaults to DefaultSteady here

	// Debounce is how long the watcher waits after a file event for more
	// before it rescans; the rescan comes at most 5 Debounce after the first.
	Debounce time.Duration
	// Rescan is the period of the full rescan that runs whatever the events
	// say: the fallback for events the kernel did not deliver.
	Rescan time.Duration
	// Poll lists Updates_Pending every PollInterval instead of asking the
	// kernel for events: for network file systems, where inotify does not
	// see other machines' writes. Watch polls by itself when it cannot
	// watch (the inotify limits reached, or no inotify at all).
	Poll         bool
	PollInterval time.Duration
}

// Change is what one rescan found different from the one before: the whole
// report, and one line per zip that came, went or changed its status.
type Change struct {
	Report *Report
	Err    error        // the scan failed; Report is the last good one (nil at first)
	Files  []FileChange // empty for the first report
	// Polling is set when the watcher lists the folder instead of getting
	// events, and Why says why.
	Polling bool
	Why     string
}

// FileChange is one zip whose state changed.
type FileChange struct {
	File    string `json:"file"`
	Status  string `json:"status"` // a Status, or "gone"
	Pack    string `json:"pack,omitempty"`
	Version string `json:"version,omitempty"`
	Problem string `json:"problem,omitempty"` // the first problem
}

func (c FileChange) String() string {
	if c.File == "" {
		return c.Status
	}
	s := c.File + ": " + c.Status
	if c.Pack != "" {
		s += " (" + c.Pack + " " + c.Version + ")"
	}
	if c.Problem != "" {
		s += ": " + c.Problem
	}
	return s
}

// Watch scans the root's Updates_Pending at once and again after every
// change to it, and calls fn with the first report and then with each one
// that differs from the one before. File events (fsnotify) only trigger a
// full rescan, debounced; a periodic rescan catches what events miss. A zip
// still being copied is reported [Incomplete], never ready nor invalid, and
// is rescanned until it is whole. Names that [Ignored] tells are ignored
// cause no rescan. Watch returns when ctx is done, with nil, or when the
// folder cannot be read at all.
func Watch(ctx context.Context, opts WatchOptions, fn func(Change)) error {
	root, err := layout.Open(opts.Root)
	if err != nil {
		return err
	}
	opts.Root = root.Dir
	if opts.Steady == 0 {
		opts.Steady = DefaultSteady
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.Rescan <= 0 {
		opts.Rescan = DefaultRescan
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPoll
	}
	w := &watcher{opts: opts, root: root, fn: fn}
	return w.run(ctx)
}

type watcher struct {
	opts    WatchOptions
	root    layout.Root
	fn      func(Change)
	last    *Report
	lastErr string
	polling bool
	why     string
	listing string // the folder's names, sizes and times at the last poll
}

func (w *watcher) run(ctx context.Context) error {
	var events chan fsnotify.Event
	var errs chan error
	if w.opts.Poll {
		w.polling, w.why = true, "polling was asked for"
	} else if fw, err := fsnotify.NewWatcher(); err != nil {
		w.polling, w.why = true, fmt.Sprintf("cannot watch %s (%v): polling every %s", w.root.Pending(), err, w.opts.PollInterval)
	} else {
		defer fw.Close()
		if err := fw.Add(w.root.Pending()); err != nil {
			w.polling, w.why = true, fmt.Sprintf("cannot watch %s (%v): polling every %s", w.root.Pending(), err, w.opts.PollInterval)
		} else {
			events, errs = fw.Events, fw.Errors
		}
	}

	debounce := newTimer()
	recheck := newTimer() // while a zip is incomplete
	rescan := time.NewTicker(w.opts.Rescan)
	defer rescan.Stop()
	var poll <-chan time.Time
	if w.polling {
		t := time.NewTicker(w.opts.PollInterval)
		defer t.Stop()
		poll = t.C
		w.listing = w.list()
	}
	var firstEvent time.Time
	w.scan(ctx, recheck)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if ev.Name == w.root.Pending() && ev.Has(fsnotify.Remove|fsnotify.Rename) {
				// The folder itself went: nothing more comes from the kernel.
				events, errs = nil, nil
				w.startPolling(&poll, "Updates_Pending was removed or renamed")
				continue
			}
			if Ignored(filepath.Base(ev.Name)) || ev.Op == fsnotify.Chmod {
				continue
			}
			now := time.Now()
			if !debounce.armed {
				firstEvent = now
			}
			// Wait for quiet, but not for ever while a copy goes on.
			debounce.set(min(w.opts.Debounce, max(0, firstEvent.Add(5*w.opts.Debounce).Sub(now))))
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// The kernel's queue overflowed, or the watch broke: rescan,
			// and poll when events no longer come.
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				debounce.set(0)
				continue
			}
			events, errs = nil, nil
			w.startPolling(&poll, fmt.Sprintf("watching %s failed (%v)", w.root.Pending(), err))
		case <-debounce.c():
			debounce.armed = false
			w.scan(ctx, recheck)
		case <-recheck.c():
			recheck.armed = false
			w.scan(ctx, recheck)
		case <-rescan.C:
			w.scan(ctx, recheck)
		case <-poll:
			if l := w.list(); l != w.listing {
				w.listing = l
				w.scan(ctx, recheck)
			}
		}
	}
}

func (w *watcher) startPolling(poll *<-chan time.Time, why string) {
	if w.polling {
		return
	}
	w.polling, w.why = true, why+": polling every "+w.opts.PollInterval.String()
	t := time.NewTicker(w.opts.PollInterval)
	*poll = t.C // the ticker lives as long as the watcher
	w.listing = w.list()
	w.last = nil // tell the caller at the next scan
}

// list is a cheap fingerprint of the folder: names, sizes and times.
func (w *watcher) list() string {
	entries, err := os.ReadDir(w.root.Pending())
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	for _, e := range entries {
		if Ignored(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "%s\x00%d\x00%d\n", e.Name(), info.Size(), info.ModTime().UnixNano())
	}
	return b.String()
}

// scan rescans, tells fn when anything changed, and arms recheck while a
// zip is still being copied.
func (w *watcher) scan(ctx context.Context, recheck *timer) {
	r, err := Scan(ctx, w.opts.ScanOptions)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		if err.Error() != w.lastErr {
			w.lastErr = err.Error()
			w.fn(Change{Report: w.last, Err: err, Polling: w.polling, Why: w.why})
		}
		recheck.set(w.opts.PollInterval)
		return
	}
	w.lastErr = ""
	if next := recheckAfter(r, w.opts); next > 0 {
		recheck.set(next)
	}
	if w.last != nil {
		files := diff(w.last, r)
		w.last = r
		if len(files) > 0 {
			w.fn(Change{Report: r, Files: files, Polling: w.polling, Why: w.why})
		}
		return
	}
	w.last = r
	w.fn(Change{Report: r, Polling: w.polling, Why: w.why})
}

// recheckAfter is when to scan again for the incomplete zips of r: soon
// for those changed lately, now and then for those that stopped changing
// without becoming whole (they turn invalid once opts.Settle has passed).
func recheckAfter(r *Report, opts WatchOptions) time.Duration {
	var next time.Duration
	for _, u := range r.Updates {
		if u.Status != Incomplete {
			continue
		}
		d := 2 * time.Second
		if u.info != nil && time.Since(u.info.ModTime()) < 5*time.Second {
			d = max(opts.Steady/2, 50*time.Millisecond)
		}
		if next == 0 || d < next {
			next = d
		}
	}
	return next
}

// diff lists the zips whose state differs between two reports.
func diff(old, cur *Report) []FileChange {
	before := map[string]*Update{}
	for _, u := range old.Updates {
		before[u.File] = u
	}
	var out []FileChange
	seen := map[string]bool{}
	for _, u := range cur.Updates {
		seen[u.File] = true
		if o, ok := before[u.File]; ok && sameState(o, u) {
			continue
		}
		fc := FileChange{File: u.File, Status: string(u.Status), Pack: u.Pack, Version: u.Version}
		if len(u.Problems) > 0 {
			fc.Problem = u.Problems[0]
		}
		out = append(out, fc)
	}
	for _, u := range old.Updates {
		if !seen[u.File] {
			out = append(out, FileChange{File: u.File, Status: "gone"})
		}
	}
	if len(out) == 0 && !sameInstalled(old.Installed, cur.Installed) {
		// Installed packs changed (an install ran): the report differs even
		// when no zip's own line does.
		out = append(out, FileChange{File: "", Status: "installed packs changed"})
	}
	return out
}

func sameState(a, b *Update) bool {
	return a.Status == b.Status && a.Size == b.Size && a.Pack == b.Pack && a.Version == b.Version &&
		a.Order == b.Order && a.InstalledVersion == b.InstalledVersion && slices.Equal(a.Problems, b.Problems) &&
		a.Signature == b.Signature && a.LastFailure == b.LastFailure
}

func sameInstalled(a, b []InstalledPack) bool { return slices.Equal(a, b) }

// timer is a stoppable one-shot timer whose channel is nil while unarmed.
type timer struct {
	t     *time.Timer
	armed bool
}

func newTimer() *timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &timer{t: t}
}

func (t *timer) set(d time.Duration) {
	t.t.Reset(d)
	t.armed = true
}

func (t *timer) c() <-chan time.Time {
	if !t.armed {
		return nil
	}
	return t.t.C
}
