package backupstore

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/klauspost/compress/zip"

	"github.com/upkeep/upkeep/layout"
)

// Verify re-reads every entry of backup id and checks it against
// backup.json: each listed file, symlink and the database snapshot is
// present with the recorded size and sha256 (which also checks the zip's
// CRC-32), each folder is present, and nothing unlisted is in the zip.
// It returns nil, or a [*VerifyError] with one [Problem] per entry
// (ErrCorrupt, ErrMissingEntry or ErrExtraEntry), or another error when
// the backup cannot be opened at all.
func Verify(root layout.Root, id string) error {
	path, err := backupPath(root, id)
	if err != nil {
		return err
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("%w: open %s: %v", ErrCorrupt, path, err)
	}
	defer zr.Close()
	m, err := readManifest(&zr.Reader, path)
	if err != nil {
		return err
	}
	problems := checkEntries(&zr.Reader, m, func(name string, f *zip.File, want File) error {
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

// expected maps each zip entry name backup.json promises to its record.
func expected(m *Manifest) (names []string, want map[string]File) {
	want = make(map[string]File, len(m.Files)+1)
	for _, f := range m.Files {
		name := m.prefix + f.Path
		if f.Type == TypeDir {
			name += "/"
		}
		names = append(names, name)
		want[name] = f
	}
	if s := m.Database.Snapshot; s != nil {
		names = append(names, s.Path)
		want[s.Path] = *s
	}
	return names, want
}

// checkEntries matches the zip's entries against backup.json and calls
// check for each listed one that is present.
func checkEntries(zr *zip.Reader, m *Manifest, check func(name string, f *zip.File, want File) error) []Problem {
	names, want := expected(m)
	have := make(map[string]*zip.File, len(zr.File))
	var problems []Problem
	for _, f := range zr.File {
		if _, dup := have[f.Name]; dup {
			problems = append(problems, Problem{f.Name, fmt.Errorf("%w: entry appears twice", ErrCorrupt)})
			continue
		}
		have[f.Name] = f
		if _, ok := want[f.Name]; !ok && f.Name != ManifestName {
			problems = append(problems, Problem{f.Name, ErrExtraEntry})
		}
	}
	for _, name := range names {
		f, ok := have[name]
		if !ok {
			problems = append(problems, Problem{name, ErrMissingEntry})
			continue
		}
		if err := check(name, f, want[name]); err != nil {
			problems = append(problems, Problem{name, err})
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
