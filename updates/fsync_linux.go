package updates

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncsWhole says that syncFile syncs the whole file system at once, so
// that syncing it in the background while files are written helps.
const syncsWhole = true

// syncFS makes everything under dir durable: one syncfs(2) of its file
// system.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return syncFile(f)
}

// syncFile makes everything under the open folder f durable: one
// syncfs(2) of its file system, which reports the write errors of that
// file system since f was opened.
func syncFile(f *os.File) error {
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	return nil
}
