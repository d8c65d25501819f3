package backupstore

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/zip"

	"github.com/upkeep/upkeep/layout"
)

// PiecesSuffix ends the name of the zip of a pruned backup whose files
// kept backups still reference: Updates_Backups/ID.pieces.zip. It is not a
// backup ([List] does not show it); [Prune] removes it once nothing refers
// to it.
const PiecesSuffix = ".pieces.zip"

// racyWindow: a file whose change time is less than this before a backup
// began may change again within the same time stamp, so its record gets
// no inode and change time and the next backup stores it again (git's
// "racily clean" entries).
const racyWindow = time.Second

// holderPath returns the zip that holds the entries of backup id: ID.zip,
// or ID.pieces.zip once the backup was pruned.
func holderPath(root layout.Root, id string) (string, error) {
	if err := checkID(id); err != nil {
		return "", err
	}
	for _, name := range []string{id + ".zip", id + PiecesSuffix} {
		p := filepath.Join(root.Backups(), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("backupstore: open backup %s: %w", p, err)
		}
	}
	return "", fmt.Errorf("%w: %s (pruned, or removed by hand)", ErrNotFound, id)
}

// base is the backup a new backup builds on, indexed by path.
type base struct {
	id      string
	depth   int
	byPath  map[string]*File
	chunk   []File          // where add copies records
	holders map[string]bool // the backups the records reference
}

// findBase returns the newest full-kind backup whose every referenced zip
// is still there, or nil when the new backup must be full: there is none,
// or the chain has reached FullEvery backups.
func findBase(root layout.Root) *base {
	des, err := os.ReadDir(root.Backups())
	if err != nil {
		return nil
	}
	type cand struct {
		id  string
		t   time.Time // from the name: to the second
		mod time.Time // the zip's: orders backups of the same second
	}
	var cands []cand
	for _, d := range des {
		id, ok := strings.CutSuffix(d.Name(), ".zip")
		if !ok || d.IsDir() || checkID(id) != nil {
			continue
		}
		t, _, _ := parseID(id)
		c := cand{id: id, t: t}
		if fi, err := d.Info(); err == nil {
			c.mod = fi.ModTime()
		}
		cands = append(cands, c)
	}
	slices.SortFunc(cands, func(a, b cand) int {
		return cmp.Or(b.t.Compare(a.t), b.mod.Compare(a.mod), cmp.Compare(b.id, a.id))
	})
	for _, c := range cands {
		p := filepath.Join(root.Backups(), c.id+".zip")
		b := &base{id: c.id}
		m, err := readLastManifest(p, b.add)
		if err != nil {
			b = &base{id: c.id}
			if m, err = readManifestFile(p); err == nil {
				for i := range m.Files {
					b.add(&m.Files[i])
				}
			}
		}
		if err != nil || m.kind() != KindFull {
			continue
		}
		if m.Depth+1 >= FullEvery {
			return nil
		}
		b.depth = m.Depth
		for id := range b.holders {
			if _, err := holderPath(root, id); err != nil {
				return nil // the chain is broken: start a new one
			}
		}
		b.holders = nil
		return b
	}
	return nil
}

// add indexes one record of the base's backup.json, as decodeManifest
// gives them: only files with an inode can be referenced, and they are
// copied into chunks of baseChunk records (no slice of all the records
// that doubles as it grows, no allocation per record).
func (b *base) add(f *File) {
	if f.Backup != "" {
		if b.holders == nil {
			b.holders = map[string]bool{}
		}
		b.holders[f.Backup] = true
	}
	if f.Type != TypeFile || f.Inode == 0 {
		return
	}
	if len(b.chunk) == cap(b.chunk) {
		b.chunk = make([]File, 0, baseChunk)
	}
	b.chunk = append(b.chunk, *f)
	if b.byPath == nil {
		b.byPath = map[string]*File{}
	}
	b.byPath[f.Path] = &b.chunk[len(b.chunk)-1]
}

const baseChunk = 4096

// ref returns the record of e when the base holds it unchanged (same
// size, modification time, change time, inode and mode), or nil. The
// record is the base's own, its Backup set (the base is read for this
// backup alone).
func (b *base) ref(e *entry) *File {
	if b == nil || e.typ != TypeFile {
		return nil
	}
	prev, ok := b.byPath[e.rel]
	if !ok {
		return nil
	}
	if e.inode == 0 || e.inode != prev.Inode || e.ctime != prev.CTime || e.size != prev.Size ||
		!e.mtime.Equal(prev.Modified) || modeString(e.mode) != prev.Mode {
		return nil
	}
	if prev.Backup == "" {
		prev.Backup = b.id
	}
	return prev
}

// statRecord sets the inode and change time of a stored file's record
// from the stat taken before it was read, unless the file changed within
// racyWindow of the backup's start.
func statRecord(rec *File, fi fs.FileInfo, start time.Time) {
	inode, ctime, ok := fileID(fi)
	if !ok || ctime >= start.Add(-racyWindow).UnixNano() {
		return
	}
	rec.Inode, rec.CTime = inode, ctime
}

// sources reads a backup's entries from its own zip and from the zips of
// the earlier backups it references, each opened once.
type sources struct {
	root layout.Root
	self string
	zips map[string]*zipSource
}

type zipSource struct {
	path   string
	rc     *zip.ReadCloser
	byName map[string]*zip.File
	dups   []string
	err    error
}

func newSources(root layout.Root, self string, zr *zip.ReadCloser, path string) *sources {
	s := &sources{root: root, self: self, zips: map[string]*zipSource{}}
	s.zips[self] = indexZip(zr, path)
	return s
}

func indexZip(zr *zip.ReadCloser, path string) *zipSource {
	z := &zipSource{path: path, rc: zr, byName: make(map[string]*zip.File, len(zr.File))}
	for _, f := range zr.File {
		if _, dup := z.byName[f.Name]; dup {
			z.dups = append(z.dups, f.Name)
			continue
		}
		z.byName[f.Name] = f
	}
	return z
}

// zip returns the zip of backup id, opening it the first time.
func (s *sources) zip(id string) *zipSource {
	if z, ok := s.zips[id]; ok {
		return z
	}
	z := &zipSource{}
	if z.path, z.err = holderPath(s.root, id); z.err == nil {
		var zr *zip.ReadCloser
		if zr, z.err = zip.OpenReader(z.path); z.err == nil {
			z = indexZip(zr, z.path)
		} else {
			z.err = fmt.Errorf("%w: open %s: %v", ErrCorrupt, z.path, z.err)
		}
	}
	s.zips[id] = z
	return z
}

// file returns the zip entry name that holds rec: in this backup's zip,
// or in the zip of rec.Backup. The error wraps ErrMissingEntry (or
// ErrCorrupt for a zip that cannot be read).
func (s *sources) file(rec File, name string) (*zip.File, error) {
	holder := s.self
	if rec.Backup != "" {
		holder = rec.Backup
	}
	z := s.zip(holder)
	if z.err != nil {
		if errors.Is(z.err, ErrNotFound) {
			return nil, fmt.Errorf("%w: backup %s, which holds it, is gone", ErrMissingEntry, holder)
		}
		return nil, z.err
	}
	f, ok := z.byName[name]
	if !ok {
		if holder != s.self {
			return nil, fmt.Errorf("%w: not in %s, which should hold it", ErrMissingEntry, filepath.Base(z.path))
		}
		return nil, ErrMissingEntry
	}
	return f, nil
}

// Close closes the zips the backup references (not its own).
func (s *sources) Close() {
	for id, z := range s.zips {
		if id != s.self && z.rc != nil {
			z.rc.Close()
		}
	}
}

// entryName is the zip entry of a record of m.
func (m *Manifest) entryName(f File) string {
	name := m.prefix + f.Path
	if f.Type == TypeDir {
		name += "/"
	}
	return name
}
