package packs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/upkeep/upkeep/manifest"
)

// Installed is a pack installed in a root: the folder packs/<Name>/ and the
// manifest.json in it.
type Installed struct {
	Name     string
	Dir      string
	Manifest *manifest.Manifest
}

// List reads the manifest of every pack installed under packsDir, sorted by
// name. A missing packsDir means no pack is installed. A folder without a
// valid manifest.json, or whose manifest names another pack, is an error
// that names the file, except a testdata/ folder without one: Go's test
// data, in the repository of upkeep itself, which is a root too (so that
// `go run . --check-updates` works in a fresh clone).
func List(packsDir string) ([]Installed, error) {
	entries, err := os.ReadDir(packsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list installed packs: %w", err)
	}
	var out []Installed
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(packsDir, e.Name())
		if e.Name() == "testdata" {
			if _, err := os.Lstat(filepath.Join(dir, manifest.FileName)); errors.Is(err, fs.ErrNotExist) {
				continue
			}
		}
		p, err := Read(dir)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Read reads the installed pack in dir.
func Read(dir string) (Installed, error) {
	path := filepath.Join(dir, manifest.FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		return Installed{}, fmt.Errorf("installed pack %s: %w", dir, err)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		// One line per problem, each naming the file.
		var errs []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = append(errs, j.Unwrap()...)
		} else {
			errs = []error{err}
		}
		for i, e := range errs {
			errs[i] = fmt.Errorf("installed pack %s: %w", path, e)
		}
		return Installed{}, errors.Join(errs...)
	}
	if name := filepath.Base(dir); m.Pack != name {
		return Installed{}, fmt.Errorf("installed pack %s: manifest names pack %q, folder is %q", path, m.Pack, name)
	}
	return Installed{Name: m.Pack, Dir: dir, Manifest: m}, nil
}
