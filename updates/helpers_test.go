package updates

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/manifest"
)

// pack describes an update for the tests: a manifest and its payload.
type pack struct {
	m     manifest.Manifest
	files map[string]string // path -> content
}

func newPack(name, version string) *pack {
	return &pack{
		m:     manifest.Manifest{Format: 1, Pack: name, Version: version, Title: "The " + name},
		files: map[string]string{"index.html": "<p>" + name + " " + version + "</p>\n"},
	}
}

func (p *pack) requires(dep, constraint string) *pack {
	if p.m.Requires == nil {
		p.m.Requires = map[string]string{}
	}
	p.m.Requires[dep] = constraint
	return p
}

// migrations adds migrations 1..n and sets schema_version to n.
func (p *pack) migrations(n int, tables ...string) *pack {
	for i := 1; i <= n; i++ {
		p.files[fmt.Sprintf("migrations/%04d_step%d.up.sql", i, i)] = fmt.Sprintf("CREATE TABLE t%d (id INTEGER);\n", i)
	}
	p.m.Database = &manifest.Database{SchemaVersion: n, Tables: tables, Changes: "Adds tables."}
	return p
}

// complete fills the manifest's files from the payload.
func (p *pack) complete() manifest.Manifest {
	m := p.m
	m.Files = nil
	var names []string
	for name := range p.files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		sum := sha256.Sum256([]byte(p.files[name]))
		m.Files = append(m.Files, manifest.File{Path: name, Size: int64(len(p.files[name])), SHA256: hex.EncodeToString(sum[:]), Mode: "0644"})
	}
	return m
}

// writeZip writes p as an update zip at path with archive/zip.
func (p *pack) writeZip(t *testing.T, path string) string {
	t.Helper()
	m := p.complete()
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	add := func(name, content string) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	add(manifest.FileName, string(data))
	for _, file := range m.Files {
		add(file.Path, p.files[file.Path])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// install writes p as an installed pack of root: packs/<name>/ with its
// manifest and payload.
func (p *pack) install(t *testing.T, root layout.Root) {
	t.Helper()
	m := p.complete()
	dir := root.Pack(m.Pack)
	for name, content := range p.files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, manifest.FileName), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// newRoot makes an empty root with its folders.
func newRoot(t *testing.T) layout.Root {
	t.Helper()
	root, err := layout.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Ensure(); err != nil {
		t.Fatal(err)
	}
	return root
}

func pending(root layout.Root, name string) string { return filepath.Join(root.Pending(), name) }
