//go:build !linux

package updates

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

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
