package backupstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// syncDir makes the creations, renames and removals in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("backupstore: sync folder %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("backupstore: sync folder %s: %w", dir, err)
	}
	return nil
}

// writeFileAtomic replaces name with data: temp file, fsync, rename,
// fsync of the folder. A crash leaves the old or the new file, never a mix.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("backupstore: create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return fmt.Errorf("backupstore: write %s: %w", name, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("backupstore: write %s: %w", name, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("backupstore: write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("backupstore: write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("backupstore: write %s: %w", name, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("backupstore: write %s: %w", name, err)
	}
	ok = true
	return syncDir(dir)
}

// statfsFree is the default free-space probe: blocks available to
// unprivileged users times the block size.
func statfsFree(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("backupstore: statfs %s: %w", dir, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}

// checkSpace refuses with a *NoSpaceError when dir has less than needed.
func checkSpace(free func(string) (uint64, error), dir string, needed uint64) error {
	if free == nil {
		free = statfsFree
	}
	avail, err := free(dir)
	if err != nil {
		return err
	}
	if avail < needed {
		return &NoSpaceError{Dir: dir, Needed: needed, Available: avail}
	}
	return nil
}
