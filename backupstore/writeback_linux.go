package backupstore

import (
	"os"
	"syscall"
)

// startWriteback asks the kernel to start writing a range of f to disk
// now, so that the final fsync of a large backup has little left to do.
func startWriteback(f *os.File, off, n int64) {
	_ = syscall.SyncFileRange(int(f.Fd()), off, n, 2 /* SYNC_FILE_RANGE_WRITE */)
}
