package layout

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsureCreatesTheFolders(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "Updates_Pending", "app.zip")
	os.MkdirAll(filepath.Dir(keep), 0o755)
	os.WriteFile(keep, []byte("zip"), 0o644)

	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Ensure(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"Updates_Pending", "Updates_Installed", "Updates_Backups", "packs", ".upkeep"} {
		if info, err := os.Stat(filepath.Join(dir, d)); err != nil || !info.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
	if data, err := os.ReadFile(keep); err != nil || string(data) != "zip" {
		t.Errorf("Ensure touched what was there: %q, %v", data, err)
	}
	if r.Pack("blog") != filepath.Join(dir, "packs", "blog") || r.Trusted() != filepath.Join(dir, ".upkeep", "trusted") {
		t.Errorf("paths %s %s", r.Pack("blog"), r.Trusted())
	}
}

func TestOpenIsAbsolute(t *testing.T) {
	r, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if r.Dir != wd {
		t.Fatalf("Open(\"\") = %s, want the working folder %s", r.Dir, wd)
	}
}

func TestCheckAndInit(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ dir, want string }{
		{filepath.Join(dir, "missing"), "does not exist"},
		{dir, "holds neither Updates_Pending/ nor .upkeep/"},
	} {
		r, _ := Open(tc.dir)
		if err := r.Check(); !errors.Is(err, ErrNotRoot) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%s) = %v, want ErrNotRoot, %q", tc.dir, err, tc.want)
		}
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	if r, _ := Open(file); !errors.Is(r.Check(), ErrNotRoot) {
		t.Errorf("a file is a root: %v", r.Check())
	}

	r, _ := Open(filepath.Join(dir, "app"))
	made, err := r.Init()
	if err != nil || len(made) != 6 || made[0] != r.Dir || made[5] != r.State() {
		t.Fatalf("Init = %v, %v", made, err)
	}
	if err := r.Check(); err != nil {
		t.Fatalf("after Init: %v", err)
	}
	if made, err := r.Init(); err != nil || len(made) != 0 {
		t.Fatalf("Init again = %v, %v; want nothing made", made, err)
	}
	os.RemoveAll(r.Pending())
	if err := r.Check(); err != nil {
		t.Fatalf(".upkeep alone: %v", err)
	}
}
