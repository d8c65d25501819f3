package backupstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// With too little free space, Create refuses before writing anything and
// says how much it needs and how much there is.
func TestCreateRefusesWithoutSpace(t *testing.T) {
	r := newRoot(t)
	write(t, r.Dir, "big.bin", randomBytes(1, 3_000_000), 0o644)
	var asked string
	_, err := Create(context.Background(), CreateOptions{Root: r, DB: "none",
		FreeSpace: func(dir string) (uint64, error) { asked = dir; return 2_000_000, nil }})
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Create = %v, want ErrNoSpace", err)
	}
	var ne *NoSpaceError
	if !errors.As(err, &ne) || ne.Needed < 3_000_000 || ne.Available != 2_000_000 || ne.Dir != r.Backups() || asked != r.Backups() {
		t.Errorf("error = %#v (asked about %s)", ne, asked)
	}
	if ok, _ := regexp.MatchString(`^backupstore: not enough free space in .*/Updates_Backups: needed 4\.\d MB \(\d+ bytes\), available 2\.0 MB \(2000000 bytes\)$`, err.Error()); !ok {
		t.Errorf("message = %q", err)
	}
	if names := backupFiles(t, r); len(names) != 0 {
		t.Errorf("Updates_Backups holds %v", names)
	}
}

// failingWriter fails once more than limit bytes went through it.
type failingWriter struct {
	w     io.Writer
	limit int64
	n     int64
}

var errDiskFull = errors.New("disk full (injected)")

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n+int64(len(p)) > f.limit {
		return 0, errDiskFull
	}
	f.n += int64(len(p))
	return f.w.Write(p)
}

// A write failure in the middle of a backup leaves neither a zip under a
// backup's name nor a temp file.
func TestCreateWriteFailureLeavesNothing(t *testing.T) {
	r := newRoot(t)
	fillRoot(t, r)
	fillBig(t, r)
	mkSQLite(t, r.Dir+"/data/app.db", 10)
	ok := create(t, CreateOptions{Root: r, Exclude: testExclude})
	if err := os.Remove(ok.Path); err != nil {
		t.Fatal(err)
	}
	// At the start, in the middle, and in the central directory at the end.
	for _, limit := range []int64{0, ok.Size / 3, ok.Size - 100} {
		_, err := Create(context.Background(), CreateOptions{Root: r, Exclude: testExclude,
			wrapOutput: func(w io.Writer) io.Writer { return &failingWriter{w: w, limit: limit} }})
		if !errors.Is(err, errDiskFull) {
			t.Fatalf("limit %d: Create = %v, want the injected failure", limit, err)
		}
		t.Logf("limit %d: %v", limit, err)
		if !strings.Contains(err.Error(), "Updates_Backups/.tmp-backup-") {
			t.Errorf("limit %d: error does not name the file: %v", limit, err)
		}
		if names := backupFiles(t, r); len(names) != 0 {
			t.Errorf("limit %d: Updates_Backups holds %v", limit, names)
		}
	}
	// A cancelled context too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Create(ctx, CreateOptions{Root: r, DB: "none"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Create with a cancelled context = %v", err)
	}
	if names := backupFiles(t, r); len(names) != 0 {
		t.Errorf("after cancel: Updates_Backups holds %v", names)
	}
}

// Progress to a non-terminal writer is plain lines ending with the totals.
func TestCreateProgress(t *testing.T) {
	r := newRoot(t)
	fillRoot(t, r)
	var buf bytes.Buffer
	b := create(t, CreateOptions{Root: r, DB: "none", Exclude: testExclude, Progress: &buf})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	last := lines[len(lines)-1]
	want := regexp.MustCompile(`^backup: (\d+)/(\d+) files, [0-9.]+ [kM]?B/[0-9.]+ [kM]?B$`)
	m := want.FindStringSubmatch(last)
	if m == nil || m[1] != m[2] || m[1] != strconv.Itoa(b.Files) {
		t.Errorf("last progress line = %q, want all %d files", last, b.Files)
	}
}

// A name backup.json cannot hold is refused up front, or skipped when
// excluded.
func TestCreateRefusesNonUTF8Names(t *testing.T) {
	r := newRoot(t)
	write(t, r.Dir, "ok.txt", []byte("ok"), 0o644)
	write(t, r.Dir, "bad-\xff.txt", []byte("bad"), 0o644)
	_, err := Create(context.Background(), CreateOptions{Root: r, DB: "none"})
	if err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Errorf("Create = %v, want a refusal naming the file", err)
	}
	if names := backupFiles(t, r); len(names) != 0 {
		t.Errorf("Updates_Backups holds %v", names)
	}
	create(t, CreateOptions{Root: r, DB: "none", Exclude: []string{"bad-*"}})
}
