package packs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every problem of an installed pack's manifest is a line that names the
// file.
func TestReadNamesTheFileOnEachLine(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blog")
	os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, "manifest.json")
	os.WriteFile(path, []byte(`{"format": 1}`), 0o644)
	_, err := Read(dir)
	if err == nil {
		t.Fatal("a manifest without pack, version and files was read")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want one per problem (3):\n%v", len(lines), err)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "installed pack "+path+": manifest.json: ") {
			t.Errorf("line %q does not name %s", l, path)
		}
	}
}

func TestReadRefusesAnotherPacksManifest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blog")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"format": 1, "pack": "shop", "version": "1.0.0", "files": []}`), 0o644)
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), `manifest names pack "shop", folder is "blog"`) {
		t.Fatalf("err %v", err)
	}
}
