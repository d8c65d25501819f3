package layout

import (
	"os"
	"path/filepath"
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
