package backupstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/layout"
)

// Back up a root, list its backups, verify one and read its backup.json.
func ExampleCreate() {
	dir, _ := os.MkdirTemp("", "upkeep-example-")
	defer os.RemoveAll(dir)
	root, _ := layout.Open(dir)
	root.Ensure()
	os.MkdirAll(filepath.Join(dir, "packs", "core"), 0o755)
	os.WriteFile(filepath.Join(dir, "packs", "core", "manifest.json"), []byte(`{"pack":"core"}`), 0o644)

	b, err := backupstore.Create(context.Background(), backupstore.CreateOptions{
		Root:   root,
		Reason: "before install",
		Packs:  map[string]string{"core": "2.1.0"},
		DB:     "none",
		Now:    func() time.Time { return time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("created", b.ID)

	list, _ := backupstore.List(root)
	for _, b := range list {
		fmt.Println("listed", b.ID, b.Reason, b.Files, "entries")
	}
	fmt.Println("verify:", backupstore.Verify(root, b.ID))

	m, _ := backupstore.Show(root, b.ID)
	for _, f := range m.Files {
		fmt.Println(f.Type, f.Path, f.Mode, f.Size)
	}
	fmt.Println("database:", m.Database.Kind, "-", m.Database.Note)
	// Output:
	// created 20261121T080000Z_before-install
	// listed 20261121T080000Z_before-install before-install 3 entries
	// verify: <nil>
	// dir packs 0755 0
	// dir packs/core 0755 0
	// file packs/core/manifest.json 0644 15
	// database: none - no database configured
}
