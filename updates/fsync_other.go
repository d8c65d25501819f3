//go:build !linux

package updates

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// syncsWhole says that syncFile syncs the whole file system at once; here
// it walks the folder, which in the background would sync half-written
// folders again and again.
const syncsWhole = false

// syncFile makes everything under the open folder f durable (see syncFS).
func syncFile(f *os.File) error { return syncFS(f.Name()) }

// syncFS makes everything under dir durable: without syncfs(2), each file
// and folder is synced in turn.
func syncFS(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := f.Sync(); err != nil && !d.IsDir() {
			return fmt.Errorf("sync %s: %w", path, err)
		}
		return nil
	})
}
