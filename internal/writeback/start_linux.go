package writeback

import (
	"os"
	"syscall"
)

// start asks the kernel to start writing a range of f to disk now.
func start(f *os.File, off, n int64) {
	_ = syscall.SyncFileRange(int(f.Fd()), off, n, 2 /* SYNC_FILE_RANGE_WRITE */)
}
