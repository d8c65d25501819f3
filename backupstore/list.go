package backupstore

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/klauspost/compress/zip"

	"github.com/upkeep/upkeep/layout"
)

// List returns the backups in the root's Updates_Backups, newest first. A
// backup whose backup.json cannot be read is listed with Err set. Temp
// files of unfinished backups (names starting with ".") and the pieces of
// pruned backups (ID.pieces.zip) are not listed.
// A missing Updates_Backups folder means no backups.
func List(root layout.Root) ([]Backup, error) {
	return list(root, true)
}

// errHeadRead stops the reading of backup.json once its head is read.
var errHeadRead = errors.New("head read")

// list is List; without records, only the keys before backup.json's
// records are read (not the records, nor base and depth after them), and
// Files and Bytes are 0: what prune needs to choose what to drop.
func list(root layout.Root, records bool) ([]Backup, error) {
	dir := root.Backups()
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backupstore: list %s: %w", dir, err)
	}
	protected, err := Protected(root)
	if err != nil {
		return nil, err
	}
	notes, err := Notes(root)
	if err != nil {
		return nil, err
	}
	var out []Backup
	for _, d := range des {
		id, ok := strings.CutSuffix(d.Name(), ".zip")
		if !ok || d.IsDir() || checkID(id) != nil {
			continue
		}
		b := Backup{ID: id, Path: filepath.Join(dir, d.Name()), Protected: slices.Contains(protected, id), Note: notes[id]}
		if fi, err := d.Info(); err == nil {
			b.Size = fi.Size()
		}
		// The records are counted as they are read, not kept: a backup of
		// 100,000 files has 100,000 of them.
		count := func(f *File) { b.Files++; b.Bytes += f.Size }
		var m *Manifest
		if records {
			m, err = readManifestFileEach(b.Path, nil, count)
		} else {
			m, err = readManifestHead(b.Path)
		}
		if err != nil {
			b.Err, b.Files, b.Bytes = err, 0, 0
			b.Created, b.Reason, _ = parseID(id)
		} else {
			b.Created, b.Reason, b.Database, b.Kind = m.Created, m.Reason, m.Database.Kind, m.kind()
			b.Base, b.Depth, b.refs = m.Base, m.Depth, m.References
			for _, f := range m.Files { // a table export written before backup.json
				count(&f)
			}
		}
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b Backup) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out, nil
}

// Show returns the contents of backup id's backup.json.
func Show(root layout.Root, id string) (*Manifest, error) {
	path, err := backupPath(root, id)
	if err != nil {
		return nil, err
	}
	return readManifestFile(path)
}

// backupPath is the zip of backup id, which must exist.
func backupPath(root layout.Root, id string) (string, error) {
	if err := checkID(id); err != nil {
		return "", err
	}
	path := filepath.Join(root.Backups(), id+".zip")
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%w: %s (no %s)", ErrNotFound, id, path)
		}
		return "", fmt.Errorf("backupstore: open backup %s: %w", path, err)
	}
	return path, nil
}

func readManifestFile(path string) (*Manifest, error) {
	return readManifestFileEach(path, nil, nil)
}

// readManifestFileEach is readManifestFile with decodeManifestKind's
// before and each.
func readManifestFileEach(path string, before func(*Manifest) error, each func(*File)) (*Manifest, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %v", ErrCorrupt, path, err)
	}
	defer zr.Close()
	return readManifestEach(&zr.Reader, path, before, each)
}

// readManifestHead reads the keys before the records of backup.json (of a
// table export written before backup.json: all of it).
func readManifestHead(path string) (*Manifest, error) {
	var head *Manifest
	stop := func(h *Manifest) error { head = h; return errHeadRead }
	m, err := readLastManifest(path, stop, nil)
	if head == nil {
		// Not the last entry, or an odd zip: the ordinary way.
		m, err = readManifestFileEach(path, stop, nil)
	}
	if head == nil {
		return m, err
	}
	if head.Format < 1 || head.Format > Format {
		return nil, fmt.Errorf("%w: %s in %s has format %d, this upkeep reads 1 to %d", ErrCorrupt, ManifestName, path, head.Format, Format)
	}
	return head, nil
}

func readManifest(zr *zip.Reader, path string) (*Manifest, error) {
	return readManifestEach(zr, path, nil, nil)
}

func readManifestEach(zr *zip.Reader, path string, before func(*Manifest) error, each func(*File)) (*Manifest, error) {
	for _, f := range zr.File {
		if f.Name != ManifestName {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%w: read %s in %s: %v", ErrCorrupt, ManifestName, path, err)
		}
		defer rc.Close()
		m, err := decodeManifestKind(bufio.NewReaderSize(io.LimitReader(rc, 1<<30), 64<<10), before, each)
		if errors.Is(err, errHeadRead) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("%w: parse %s in %s: %v", ErrCorrupt, ManifestName, path, err)
		}
		if m.Format < 1 || m.Format > Format {
			return nil, fmt.Errorf("%w: %s in %s has format %d, this upkeep reads 1 to %d", ErrCorrupt, ManifestName, path, m.Format, Format)
		}
		m.prefix = FilesDir
		if m.Kind == KindTables {
			m.prefix = TablesDir
		}
		return m, nil
	}
	return legacyManifest(zr, path)
}

// decodeManifest reads backup.json one file record at a time (the decoder
// never holds the whole document: a backup of 100,000 files has 30 MB of
// it); the other keys are decoded as json.Unmarshal would. With each not
// nil, the records are not kept in Files: each is called with every one
// (the File is reused for the next record: it copies what it keeps).
func decodeManifest(r io.Reader, each func(*File)) (*Manifest, error) {
	return decodeManifestKind(r, nil, each)
}

// decodeManifestKind is decodeManifest that calls before, once the keys
// that precede the records are read, with what they say (the kind, the
// creation time, the reason...; not the keys after the records, such as
// base and depth); an error from before stops the decoding and is
// returned.
func decodeManifestKind(r io.Reader, before func(head *Manifest) error, each func(*File)) (*Manifest, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	dec := json.NewDecoder(br)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object (%v)", err)
	}
	head := map[string]json.RawMessage{}
	var files []File
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		if key != "files" {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, err
			}
			head[key] = raw
			continue
		}
		if before != nil {
			m, err := headManifest(head)
			if err != nil {
				return nil, err
			}
			if err := before(m); err != nil {
				return nil, err
			}
			before = nil
		}
		if t, err := dec.Token(); err != nil || (t != json.Delim('[') && t != nil) {
			return nil, fmt.Errorf("files is not a list (%v)", err)
		} else if t == nil {
			continue
		}
		// The records are read by hand (see recordReader), from what the
		// decoder holds and then the rest; the keys after them, by a new
		// decoder.
		rest := bufio.NewReaderSize(io.MultiReader(dec.Buffered(), br), 64<<10)
		rr := recordReader{r: rest, intern: map[string]string{}}
		var rec File
		for {
			f := &rec
			if each == nil {
				files = append(files, File{})
				f = &files[len(files)-1]
			}
			more, err := rr.next(f)
			if err != nil {
				return nil, fmt.Errorf("files: %v", err)
			}
			if !more {
				if each == nil {
					files = files[:len(files)-1]
				}
				break
			}
			if each != nil {
				each(f)
			}
		}
		c, err := skipSpace(rest)
		if err != nil {
			return nil, err
		}
		switch c {
		case '}':
			dec = json.NewDecoder(strings.NewReader("{}"))
		case ',':
			dec = json.NewDecoder(io.MultiReader(strings.NewReader("{"), rest))
		default:
			return nil, fmt.Errorf("unexpected %q after the files", c)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
	}
	m, err := headManifest(head)
	if err != nil {
		return nil, err
	}
	m.Files = files
	return m, nil
}

// headManifest decodes the keys of backup.json but its records.
func headManifest(head map[string]json.RawMessage) (*Manifest, error) {
	hj, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(hj, &m); err != nil {
		return nil, err
	}
	return &m, nil
}
