package manifest_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/upkeep/upkeep/manifest"
)

// Parse returns every problem at once; split them to print one a line.
func ExampleParse() {
	_, err := manifest.Parse([]byte(`{"format": 1, "pack": "Blog", "version": "1.4", "released": "2026-11-31", "files": []}`))
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			fmt.Println(e)
		}
	}
	fmt.Println(errors.Is(err, manifest.ErrInvalidManifest))
	// Output:
	// manifest.json: pack "Blog": not a valid pack name (lowercase letters, digits, '-' and '_', starting with a letter, at most 64 characters)
	// manifest.json: released "2026-11-31": not a date like "2026-11-01" (YYYY-MM-DD)
	// true
}

// Build an update zip from a pack's source folder, then open it as the
// bootstrap does: manifest first, content only when installing.
func ExampleBuild() {
	tmp, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "blog")
	os.MkdirAll(filepath.Join(src, "migrations"), 0o755)
	os.WriteFile(filepath.Join(src, "manifest.json"), []byte(`{"format": 1, "pack": "blog", "version": "1.4.0", "whats_new": "Tags on posts."}`), 0o644)
	os.WriteFile(filepath.Join(src, "migrations", "0001_tags.up.sql"), []byte("create table tags (id int);\n"), 0o644)
	os.WriteFile(filepath.Join(src, "index.html"), []byte("<h1>Blog</h1>\n"), 0o644)

	out := filepath.Join(tmp, "blog.zip")
	f, err := os.Create(out)
	if err != nil {
		panic(err)
	}
	if _, err := manifest.Build(src, f); err != nil {
		panic(err)
	}
	f.Close()

	z, err := manifest.OpenZip(out, manifest.DefaultLimits())
	if err != nil {
		panic(err)
	}
	defer z.Close()
	m := z.Manifest
	fmt.Println(m.Pack, m.Version, m.WhatsNew, "schema", m.SchemaVersion())
	for _, f := range m.Files {
		fmt.Println(f.Path, f.Size, f.Mode)
	}
	fmt.Println("verify:", z.Verify())
	// Output:
	// blog 1.4.0 Tags on posts. schema 1
	// index.html 14 0644
	// migrations/0001_tags.up.sql 28 0644
	// verify: <nil>
}

// A zip still being copied has no end of central directory yet: it is
// incomplete, not invalid.
func ExampleOpenZip_incomplete() {
	tmp, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, "blog.zip")
	os.WriteFile(path, []byte("PK\x03\x04 the first bytes of a zip"), 0o644)
	_, err = manifest.OpenZip(path, manifest.DefaultLimits())
	fmt.Println(errors.Is(err, manifest.ErrNotZip))
	// Output:
	// true
}
