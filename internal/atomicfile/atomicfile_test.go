package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.txt")
	os.WriteFile(path, []byte("old"), 0o600)
	err := Write(path, 0o640, func(w io.Writer) error {
		_, err := io.WriteString(w, "new")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	info, _ := os.Stat(path)
	if string(data) != "new" || info.Mode().Perm() != 0o640 {
		t.Fatalf("content %q mode %v, want new 0640", data, info.Mode().Perm())
	}
	assertOnly(t, dir, "f.txt")
}

func TestWriteFailureLeavesOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.txt")
	os.WriteFile(path, []byte("old"), 0o644)
	boom := errors.New("disk full")
	err := Write(path, 0o644, func(w io.Writer) error {
		io.WriteString(w, "half of the n")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want the writer's", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "old" {
		t.Fatalf("content %q, want the old file untouched", data)
	}
	assertOnly(t, dir, "f.txt")
}

// assertOnly fails unless dir holds exactly the named entries: no
// temporary file is left behind.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if len(got) != len(names) || (len(got) > 0 && got[0] != names[0]) {
		t.Fatalf("folder holds %v, want %v", got, names)
	}
}

// A Write that dies in the middle (here a panic, as a kill would stop it)
// leaves its temporary file; CleanTemps removes exactly that, and neither
// the file it was replacing nor other dot-files.
func TestCleanTempsRemovesWhatAKilledWriteLeft(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.json")
	os.WriteFile(path, []byte("old"), 0o644)
	os.WriteFile(filepath.Join(dir, ".keep"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "notes.tmp"), nil, 0o644)
	var temp string
	func() {
		defer func() { recover() }()
		Write(path, 0o644, func(w io.Writer) error {
			temp = w.(*os.File).Name()
			io.WriteString(w, "half")
			panic("killed")
		})
	}()
	if _, err := os.Stat(temp); err != nil || !IsTemp(filepath.Base(temp)) {
		t.Fatalf("the killed write left no temporary file %s (IsTemp %v): %v", temp, IsTemp(filepath.Base(temp)), err)
	}
	if err := CleanTemps(dir); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if want := []string{".keep", "journal.json", "notes.tmp"}; !slices.Equal(got, want) {
		t.Fatalf("after CleanTemps the folder holds %v, want %v", got, want)
	}
	if data, _ := os.ReadFile(path); string(data) != "old" {
		t.Fatalf("content %q, want the old file", data)
	}
	if err := CleanTemps(filepath.Join(dir, "missing")); err != nil {
		t.Fatalf("CleanTemps of a missing folder: %v", err)
	}
}
