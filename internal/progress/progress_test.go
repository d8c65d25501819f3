package progress

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/upkeep/upkeep/internal/golden"
)

// fakeClock advances by step on every call.
func fakeClock(step time.Duration) func() time.Time {
	t := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(step); return t }
}

func run(term bool) []byte {
	var buf bytes.Buffer
	m := New(&buf, "backup", 2000, 400_000_000, Options{Terminal: &term, Now: fakeClock(300 * time.Millisecond)})
	for range 10 {
		m.Add(200, 40_000_000)
	}
	m.Done()
	m.Done() // a second Done reports nothing
	m.Add(1, 1)
	return buf.Bytes()
}

// Plain lines come at most once a second and end with the totals.
func TestLines(t *testing.T) { golden.Check(t, "lines.golden", run(false)) }

// The bar is redrawn in place with \r and ends with a newline.
func TestBar(t *testing.T) { golden.Check(t, "bar.golden", run(true)) }

func TestNilIsSilent(t *testing.T) {
	m := New(nil, "backup", 1, 1, Options{})
	if m != nil {
		t.Fatal("New(nil) returned a meter")
	}
	m.Add(1, 1)
	m.Done()
}

// A pipe or a file is not a terminal: plain lines.
func TestFileIsNotTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if m := New(f, "x", 1, 1, Options{}); m.terminal {
		t.Error("a regular file was taken for a terminal")
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 45_000_000: "45 MB", 1_234_000_000: "1.2 GB", 5e15: "5000 TB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
