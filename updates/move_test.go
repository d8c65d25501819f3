package updates

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// move run again after a kill between the copy's rename and the removal
// of the source (two files, same bytes, not linked) removes the source;
// a destination with other bytes is never overwritten, and the source
// stays.
func TestMoveAfterAnInterruptedCopy(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "a.zip"), filepath.Join(dir, "b.zip")
	data := []byte(strings.Repeat("zip bytes ", 100_000))
	for _, p := range []string{src, dst} {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := move(src, dst, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(src); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the source is still there: %v", err)
	}

	other := append([]byte(nil), data...)
	other[len(other)-1] ^= 1
	if err := os.WriteFile(src, other, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := move(src, dst, nil); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Fatalf("move over other bytes: %v, want refused", err)
	}
	if got, _ := os.ReadFile(src); string(got) != string(other) {
		t.Fatal("the source was changed")
	}
	if got, _ := os.ReadFile(dst); string(got) != string(data) {
		t.Fatal("the destination was overwritten")
	}
}

// copyFile, the move where no hard link can be made, calls halfway in the
// middle of the copy; when that fails (a kill, in the fault tests), no
// file of dst's name exists, only a temporary one that CleanTemps removes.
func TestCopyFileStoppedHalfway(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "a.zip"), filepath.Join(dir, "out", "b.zip")
	os.MkdirAll(filepath.Dir(dst), 0o755)
	data := []byte(strings.Repeat("0123456789", 50_000))
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stopped")
	if err := copyFile(src, dst, 0o600, func() error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("copyFile: %v, want it stopped", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dst)); len(entries) != 0 {
		t.Fatalf("a stopped copy left %v", entries)
	}
	calls := 0
	if err := copyFile(src, dst, 0o600, func() error { calls++; return nil }); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || string(got) != string(data) || calls != 1 {
		t.Fatalf("copy: %d bytes, %v, halfway called %d times; want %d bytes, once", len(got), err, calls, len(data))
	}
	if info, _ := os.Stat(dst); info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", info.Mode())
	}
}
