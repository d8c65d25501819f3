package backupstore

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/upkeep/upkeep/layout"
)

// entry is one thing found in the root.
type entry struct {
	rel    string // slash-separated path from the root
	abs    string
	typ    string // TypeFile, TypeDir or TypeSymlink
	size   int64  // regular files: as stat saw it
	mode   fs.FileMode
	mtime  time.Time
	inode  uint64 // with ctime: see fileID; 0 when unknown
	ctime  int64
	target string // symlinks
	ref    *File  // an unchanged file an earlier backup holds: its record
	// Set by baseStream.match for a file the base holds unchanged: its
	// sha256 and the backup whose zip holds it.
	refSHA, refFrom string
}

// excluder decides which root paths a backup or a restore leaves alone:
// upkeep's own folders at the top, the database files, and the caller's
// globs. Anything that is not a regular file, a folder or a symlink (a
// socket, a device, a FIFO) is left alone too.
type excluder struct {
	fixed map[string]bool // slash paths from the root
	globs []string
}

func newExcluder(globs []string, dbPaths []string) (*excluder, error) {
	x := &excluder{fixed: map[string]bool{
		layout.PendingDir:   true,
		layout.InstalledDir: true,
		layout.BackupsDir:   true,
		layout.StateDir:     true,
	}}
	for _, p := range dbPaths {
		x.fixed[p] = true
	}
	for _, g := range globs {
		g = strings.Trim(filepath.ToSlash(g), "/")
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("backupstore: exclude glob %q: %w", g, err)
		}
		if g != "" {
			x.globs = append(x.globs, g)
		}
	}
	return x, nil
}

func (x *excluder) excluded(rel string, mode fs.FileMode) bool {
	if !mode.IsRegular() && !mode.IsDir() && mode&fs.ModeSymlink == 0 {
		return true
	}
	if x.fixed[rel] {
		return true
	}
	base := path.Base(rel)
	for _, g := range x.globs {
		name := rel
		if !strings.Contains(g, "/") {
			name = base
		}
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// scanRoot lists what a backup of root holds, folders before their
// contents, in lexical order, without following symlinks.
// The entries are allocated in chunks of scanChunk and listed by
// pointer: a slice of 100,000 entries grown by append would allocate
// about five times its final size on the way.
// Each entry is passed to each (when not nil) as soon as it is found.
func scanRoot(root string, x *excluder, each func(*entry)) ([]*entry, int64, error) {
	var entries []*entry
	var chunk []entry
	var total int64
	prefix := root + string(filepath.Separator)
	err := filepath.WalkDir(root, func(abs string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("backupstore: scan %s: %w", abs, err)
		}
		if abs == root {
			return nil
		}
		// rel is a substring of abs where it can be (one string per entry,
		// not two).
		rel := strings.TrimPrefix(abs, prefix)
		if len(rel) == len(abs) {
			if rel, err = filepath.Rel(root, abs); err != nil {
				return err
			}
		}
		rel = filepath.ToSlash(rel)
		if x.excluded(rel, d.Type()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !utf8.ValidString(rel) {
			// backup.json is JSON: such a name could not be listed, verified
			// or restored. Better no backup than one that cannot be restored.
			return fmt.Errorf("backupstore: cannot back up %q: its name is not valid UTF-8 (rename it or exclude it)", abs)
		}
		// The entry keeps what it needs of the stat, not the FileInfo:
		// a root of 100,000 files would hold 100,000 of them.
		e := entry{rel: rel, abs: abs}
		if err := lstatEntry(abs, d, &e); err != nil {
			return fmt.Errorf("backupstore: stat %s: %w", abs, err)
		}
		switch {
		case e.mode.IsRegular():
			e.typ = TypeFile
			total += e.size
		case e.mode.IsDir():
			e.typ, e.size = TypeDir, 0
		default:
			e.typ = TypeSymlink
			if e.target, err = os.Readlink(abs); err != nil {
				return fmt.Errorf("backupstore: read symlink %s: %w", abs, err)
			}
			e.size = int64(len(e.target))
		}
		if len(chunk) == cap(chunk) {
			chunk = make([]entry, 0, scanChunk)
		}
		chunk = append(chunk, e)
		entries = append(entries, &chunk[len(chunk)-1])
		if each != nil {
			each(entries[len(entries)-1])
		}
		return nil
	})
	return entries, total, err
}

const scanChunk = 1024

// movable lists the paths (slash, from root) a restore moves aside: the
// largest subtrees of dir that hold nothing excluded. clean reports whether
// dir itself holds nothing excluded (then its caller moves it whole).
func movable(root, rel string, x *excluder) (moves []string, clean bool, err error) {
	dir := filepath.Join(root, filepath.FromSlash(rel))
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, false, fmt.Errorf("backupstore: read folder %s: %w", dir, err)
	}
	clean = true
	var whole []string
	for _, d := range des {
		child := path.Join(rel, d.Name())
		if x.excluded(child, d.Type()) {
			clean = false
			continue
		}
		if !d.IsDir() {
			whole = append(whole, child)
			continue
		}
		sub, subClean, err := movable(root, child, x)
		if err != nil {
			return nil, false, err
		}
		if subClean {
			whole = append(whole, child)
		} else {
			clean = false
			moves = append(moves, sub...)
		}
	}
	if clean && rel != "" {
		return nil, true, nil
	}
	moves = append(moves, whole...)
	slices.Sort(moves)
	return moves, false, nil
}

// Estimate says how much a full backup of the root's files would hold:
// the files and bytes [Create] would read (an upper bound of what it
// writes, which may reference unchanged files an earlier backup holds).
// dbFiles are the database's files inside the root, slash paths from it,
// which the database part of a backup covers instead.
func Estimate(root layout.Root, dbFiles []string) (files int, bytes int64, err error) {
	x, err := newExcluder(nil, dbFiles)
	if err != nil {
		return 0, 0, err
	}
	entries, total, err := scanRoot(root.Dir, x, nil)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		if e.typ == TypeFile {
			files++
		}
	}
	return files, total, nil
}
