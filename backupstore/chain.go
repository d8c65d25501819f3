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

// baseStream is the backup a new backup builds on, read while the root is
// scanned. Its records come in the order they were written, which is the
// scan's (see walkCompare), and each scanned file is matched against them
// as it is found: a merge of two sorted lists, so no index of the base's
// records is ever held, and the reading (CPU) overlaps the scan (system
// calls).
type baseStream struct {
	batches chan []File // records of regular files with an inode, in order
	free    chan []File // batches given back, to be filled again
	batch   []File      // the batch being matched
	next    int         // its first record not yet passed
	done    chan struct{}

	// Set by the reader before done is closed.
	id    string
	depth int
	ok    bool // a base was read whole and may be built on
}

const baseBatch = 512

// errNotFull stops the reading of a backup that is not of kind full.
var errNotFull = errors.New("not a backup of the files")

// openBase starts reading, in the background, the newest full-kind backup
// of root. Its records may be matched at once; [baseStream.finish] says
// whether the base may be built on: it may not when there is none, when
// the chain has reached FullEvery backups, or when a zip it references is
// gone (the chain is broken: a new one starts).
func openBase(root layout.Root) *baseStream {
	s := &baseStream{
		batches: make(chan []File, 4),
		free:    make(chan []File, 8),
		done:    make(chan struct{}),
	}
	go s.read(root)
	return s
}

func (s *baseStream) read(root layout.Root) {
	defer close(s.done)
	defer close(s.batches)
	for _, id := range newestFirst(root) {
		p := filepath.Join(root.Backups(), id+".zip")
		started := false
		holders := map[string]bool{}
		batch := s.newBatch()
		emit := func(f *File) {
			if f.Backup == "" {
				f.Backup = id // the base's own zip holds it
			}
			holders[f.Backup] = true
			if f.Type != TypeFile || f.Inode == 0 {
				return
			}
			batch = append(batch, *f)
			if len(batch) == cap(batch) {
				s.batches <- batch
				batch = s.newBatch()
			}
		}
		m, err := readLastManifest(p, func(head *Manifest) error {
			if head.kind() != KindFull {
				return errNotFull
			}
			started = true
			return nil
		}, emit)
		if err != nil && !started && !errors.Is(err, errNotFull) {
			// backup.json is not the zip's last entry: read it the
			// ordinary way.
			if m, err = readManifestFile(p); err == nil && m.kind() == KindFull {
				started = true
				for i := range m.Files {
					emit(&m.Files[i])
				}
			}
		}
		if !started {
			continue
		}
		if len(batch) > 0 {
			s.batches <- batch
		}
		if err != nil || m.Depth+1 >= FullEvery {
			return
		}
		delete(holders, id)
		for h := range holders {
			if _, err := holderPath(root, h); err != nil {
				return
			}
		}
		s.id, s.depth, s.ok = id, m.Depth, true
		return
	}
}

// newestFirst lists the IDs of root's backups, newest first.
func newestFirst(root layout.Root) []string {
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
	ids := make([]string, len(cands))
	for i, c := range cands {
		ids[i] = c.id
	}
	return ids
}

func (s *baseStream) newBatch() []File {
	select {
	case b := <-s.free:
		return b[:0]
	default:
		return make([]File, 0, baseBatch)
	}
}

// match marks e as unchanged when the base holds it with the same size,
// modification time, change time, inode and mode. The entries must come in
// scan order.
func (s *baseStream) match(e *entry) {
	if s == nil || e.typ != TypeFile || e.inode == 0 {
		return
	}
	for {
		if s.next == len(s.batch) {
			if s.batch != nil {
				select {
				case s.free <- s.batch:
				default:
				}
			}
			b, ok := <-s.batches
			if !ok {
				s.batch, s.next = nil, 0
				return
			}
			s.batch, s.next = b, 0
		}
		prev := &s.batch[s.next]
		c := walkCompare(prev.Path, e.rel)
		if c > 0 {
			return
		}
		s.next++
		if c < 0 {
			continue
		}
		if e.inode == prev.Inode && e.ctime == prev.CTime && e.size == prev.Size &&
			e.mtime.Equal(prev.Modified) && modeString(e.mode) == prev.Mode {
			e.refSHA, e.refFrom = prev.SHA256, prev.Backup
		}
		return
	}
}

// finish waits for the reading to end and reports whether the matches
// stand: false when there is no base or it may not be built on.
func (s *baseStream) finish() bool {
	if s == nil {
		return false
	}
	for range s.batches {
	}
	<-s.done
	return s.ok
}

// walkCompare orders slash paths as scanRoot finds them: a folder before
// its contents, names in byte order within a folder. That is byte order
// with '/' below every other byte.
func walkCompare(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x == '/' {
			return -1
		}
		if y == '/' {
			return 1
		}
		return cmp.Compare(x, y)
	}
	return cmp.Compare(len(a), len(b))
}

// reference returns the record of an entry matched as unchanged.
func (e *entry) reference() File {
	return File{Path: e.rel, Type: TypeFile, Size: e.size, Mode: modeString(e.mode), SHA256: e.refSHA,
		Modified: e.mtime.UTC(), Backup: e.refFrom, Inode: e.inode, CTime: e.ctime}
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
