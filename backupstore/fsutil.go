package backupstore

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/klauspost/compress/zip"

	"github.com/upkeep/upkeep/internal/diskspace"
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

// checkSpace refuses with a *NoSpaceError when dir has less than needed;
// free nil is the file system's real free space.
func checkSpace(free func(string) (uint64, error), dir string, needed uint64) error {
	return diskspace.Check(free, "backupstore", "", dir, needed)
}

// finishZip closes zw, flushes bw (nil when zw writes to f directly), and
// fsyncs and closes f: the zip is whole and on disk.
func finishZip(zw *zip.Writer, bw *bufio.Writer, f *os.File) error {
	if err := zw.Close(); err != nil {
		return fmt.Errorf("backupstore: write %s: %w", f.Name(), err)
	}
	if bw != nil {
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("backupstore: write %s: %w", f.Name(), err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("backupstore: sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("backupstore: close %s: %w", f.Name(), err)
	}
	return nil
}
