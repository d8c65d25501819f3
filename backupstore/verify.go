package backupstore

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/klauspost/compress/zip"

	"github.com/upkeep/upkeep/layout"
)

// Verify re-reads every entry of backup id and checks it against
// backup.json: each listed file, symlink and the database snapshot is
// present with the recorded size and sha256 (which also checks the zip's
// CRC-32), files the backup references in earlier backups' zips included,
// each folder is present, and nothing unlisted is in the zip. It returns
// nil, or a [*VerifyError] with one [Problem] per entry (ErrCorrupt,
// ErrMissingEntry, also for a referenced backup that is gone, or
// ErrExtraEntry), or another error when the backup cannot be opened at all.
func Verify(root layout.Root, id string) error {
	src, m, err := openBackup(root, id)
	if err != nil {
		return err
	}
	defer src.Close()
	problems := checkEntries(src.sources, m, func(name string, f *zip.File, want File) error {
		if m.legacy {
			return checkCRC(f)
		}
		return checkContent(f, want)
	})
	if len(problems) > 0 {
		return &VerifyError{ID: id, Problems: problems}
	}
	return nil
}

// openBackup opens backup id and reads its backup.json; Close the sources
// when done (it closes the backup's zip too).
func openBackup(root layout.Root, id string) (*openedBackup, *Manifest, error) {
	path, err := backupPath(root, id)
	if err != nil {
		return nil, nil, err
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: open %s: %v", ErrCorrupt, path, err)
	}
	m, err := readManifest(&zr.Reader, path)
	if err != nil {
		zr.Close()
		return nil, nil, err
	}
	return &openedBackup{sources: newSources(root, id, zr, path), zr: zr}, m, nil
}

// openedBackup is a backup's zip and the zips it references.
type openedBackup struct {
	*sources
	zr *zip.ReadCloser
}

func (o *openedBackup) Close() {
	o.sources.Close()
	o.zr.Close()
}

// records lists the entries backup.json promises, files then the snapshot.
func records(m *Manifest) []File {
	recs := m.Files
	if s := m.Database.Snapshot; s != nil {
		recs = append(slices.Clip(recs), *s)
	}
	return recs
}

// name is the zip entry of a record returned by records: the snapshot's
// Path is its entry name.
func (m *Manifest) name(f File, i int) string {
	if i >= len(m.Files) {
		return f.Path
	}
	return m.entryName(f)
}

// checkEntries matches the entries of the backup (in its zip, or in the
// zips of the earlier backups it references) against backup.json and
// calls check for each listed one that is present.
func checkEntries(src *sources, m *Manifest, check func(name string, f *zip.File, want File) error) []Problem {
	own := src.zip(src.self)
	var problems []Problem
	for _, name := range own.dups {
		problems = append(problems, Problem{name, fmt.Errorf("%w: entry appears twice", ErrCorrupt)})
	}
	local := map[string]bool{ManifestName: true}
	for i, f := range records(m) {
		name := m.name(f, i)
		if f.Backup == "" {
			local[name] = true
		}
		zf, err := src.file(f, name)
		if err != nil {
			problems = append(problems, Problem{name, err})
			continue
		}
		if err := check(name, zf, f); err != nil {
			problems = append(problems, Problem{name, err})
		}
	}
	for _, f := range own.rc.File {
		if !local[f.Name] {
			problems = append(problems, Problem{f.Name, ErrExtraEntry})
		}
	}
	return problems
}

// checkContent reads one entry and compares it with its record.
func checkContent(f *zip.File, want File) error {
	if err := checkType(f, want); err != nil {
		return err
	}
	if want.Type == TypeDir {
		return nil
	}
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return checkSum(n, h.Sum(nil), want)
}

func checkType(f *zip.File, want File) error {
	mode := f.Mode()
	var got string
	switch {
	case mode.IsDir():
		got = TypeDir
	case mode&fs.ModeSymlink != 0:
		got = TypeSymlink
	default:
		got = TypeFile
	}
	if got != want.Type {
		return fmt.Errorf("%w: entry is a %s, backup.json says %s", ErrCorrupt, got, want.Type)
	}
	return nil
}

func checkSum(n int64, sum []byte, want File) error {
	var errs []string
	if n != want.Size {
		errs = append(errs, fmt.Sprintf("size %d, backup.json says %d", n, want.Size))
	}
	if got := hexSum(sum); got != want.SHA256 {
		errs = append(errs, fmt.Sprintf("sha256 %s, backup.json says %s", got, want.SHA256))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrCorrupt, strings.Join(errs, "; "))
	}
	return nil
}

// checkCRC reads an entry of a legacy export through, which checks its
// size and CRC-32: all such an export records.
func checkCRC(f *zip.File) error {
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return nil
}
