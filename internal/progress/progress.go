// Package progress reports the progress of long work (backup, restore) to a
// writer: a redrawn bar when the writer is a terminal, plain lines at most
// once a second otherwise, nothing when the writer is nil.
//
// A nil *Meter is valid and silent, so callers need no nil checks.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Meter counts files and bytes done against a total and reports them.
// Its methods may be called from several goroutines.
type Meter struct {
	mu         sync.Mutex
	w          io.Writer
	label      string
	terminal   bool
	now        func() time.Time
	start      time.Time
	last       time.Time // last report
	files      int
	totalFiles int
	bytes      int64
	totalBytes int64
	done       bool
}

// Options tunes a Meter; the zero value is what production code wants.
type Options struct {
	// Terminal forces bar (true) or line (false) mode when not nil;
	// by default the mode follows whether w is a terminal.
	Terminal *bool
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// New returns a Meter writing to w under label (e.g. "backup"), or nil when
// w is nil.
func New(w io.Writer, label string, totalFiles int, totalBytes int64, opts Options) *Meter {
	if w == nil {
		return nil
	}
	m := &Meter{w: w, label: label, totalFiles: totalFiles, totalBytes: totalBytes, now: opts.Now}
	if m.now == nil {
		m.now = time.Now
	}
	if opts.Terminal != nil {
		m.terminal = *opts.Terminal
	} else if f, ok := w.(*os.File); ok {
		m.terminal = isTerminal(f.Fd())
	}
	m.start = m.now()
	m.last = m.start
	return m
}

// Add records files and bytes done since the last call, and reports when
// it is time to.
func (m *Meter) Add(files int, bytes int64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done {
		return
	}
	m.files += files
	m.bytes += bytes
	now := m.now()
	every := time.Second
	if m.terminal {
		every = 100 * time.Millisecond
	}
	if now.Sub(m.last) < every {
		return
	}
	m.last = now
	m.report(now)
}

// Done reports the final figures once and ends the bar's line.
func (m *Meter) Done() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done {
		return
	}
	m.done = true
	m.report(m.now())
	if m.terminal {
		fmt.Fprint(m.w, "\n")
	}
}

func (m *Meter) report(now time.Time) {
	if !m.terminal {
		fmt.Fprintf(m.w, "%s: %d/%d files, %s/%s\n", m.label, m.files, m.totalFiles,
			FormatBytes(m.bytes), FormatBytes(m.totalBytes))
		return
	}
	const width = 30
	frac := 1.0
	if m.totalBytes > 0 {
		frac = min(float64(m.bytes)/float64(m.totalBytes), 1)
	}
	fill := int(frac * width)
	bar := strings.Repeat("=", fill)
	if fill < width {
		bar += ">" + strings.Repeat(" ", width-fill-1)
	}
	rate := ""
	if el := now.Sub(m.start).Seconds(); el > 0 {
		rate = FormatBytes(int64(float64(m.bytes)/el)) + "/s"
	}
	fmt.Fprintf(m.w, "\r%s [%s] %3.0f%% %s/%s %d/%d files %s\x1b[K", m.label, bar, frac*100,
		FormatBytes(m.bytes), FormatBytes(m.totalBytes), m.files, m.totalFiles, rate)
}

// FormatBytes renders n in decimal units as people read them: 999 B, 45 MB,
// 1.2 GB.
func FormatBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB"} {
		f /= unit
		if f < unit || u == "TB" {
			if f < 10 {
				return fmt.Sprintf("%.1f %s", f, u)
			}
			return fmt.Sprintf("%.0f %s", f, u)
		}
	}
	panic("unreachable")
}
