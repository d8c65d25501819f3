package backupstore

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zip"

	"github.com/upkeep/upkeep/layout"
)

// Export writes backup id as one standalone plain zip at out: every file
// under files/ (those it references in earlier backups' zips included),
// the database snapshot under database/, and a backup.json whose entries
// are all in that zip (no base, no references). Any unzip restores it; it
// is a backup upkeep reads too. Every entry is checked against its sha256
// on the way and copied as it is compressed. out is written through a temp
// file beside it, fsynced, then renamed over out.
func Export(root layout.Root, id, out string) (*Backup, error) {
	src, m, err := openBackup(root, id)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if m.Kind == KindTables {
		return nil, fmt.Errorf("%w: backup %s holds the tables of some packs; its zip is standalone already", ErrTablesBackup, id)
	}
	if m.Format < Format {
		m.Format = Format
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("backupstore: export %s: %w", id, err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	zw := zip.NewWriter(bw)
	recs := records(m)
	for i, f := range recs {
		name := m.name(f, i)
		if f.Type == TypeDir {
			h := &zip.FileHeader{Name: name, Modified: f.Modified}
			h.SetMode(fs.ModeDir | parseMode(f.Mode))
			if _, err := zw.CreateHeader(h); err != nil {
				return nil, fmt.Errorf("backupstore: export %s: %w", id, err)
			}
			continue
		}
		zf, err := src.file(f, name)
		if err != nil {
			return nil, &VerifyError{ID: id, Problems: []Problem{{name, err}}}
		}
		if err := checkContent(zf, f); err != nil {
			return nil, &VerifyError{ID: id, Problems: []Problem{{name, err}}}
		}
		if err := zw.Copy(zf); err != nil {
			return nil, fmt.Errorf("backupstore: export %s: %w", id, err)
		}
		if i < len(m.Files) {
			m.Files[i].Backup = ""
		}
	}
	m.Base, m.Depth = "", 0
	if err := writeManifest(zw, m, m.Created); err != nil {
		return nil, fmt.Errorf("backupstore: export %s: %w", id, err)
	}
	if err := finishZip(zw, bw, tmp); err != nil {
		return nil, fmt.Errorf("backupstore: export %s: %w", id, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, fmt.Errorf("backupstore: export %s: %w", id, err)
	}
	if err := syncDir(filepath.Dir(out)); err != nil {
		return nil, err
	}
	b := &Backup{ID: id, Kind: KindFull, Path: out, Created: m.Created, Reason: m.Reason, Database: m.Database.Kind}
	if fi, err := os.Stat(out); err == nil {
		b.Size = fi.Size()
	}
	for _, f := range m.Files {
		b.Files++
		b.Bytes += f.Size
	}
	return b, nil
}
