package signing

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// errTooLarge is returned by readCapped; callers turn it into a message.
var errTooLarge = errors.New("too large")

// readCapped reads all of r, or fails with errTooLarge past max bytes.
func readCapped(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, errTooLarge
	}
	return data, nil
}

// writeFileAtomic replaces path with data: it writes a temporary file in
// the same folder, syncs it, gives it mode perm and renames it over path,
// so readers see the old file or the new one, never a part.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a new or renamed entry of dir durable. It is best effort:
// some systems cannot sync a folder, and the entry is there either way.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
