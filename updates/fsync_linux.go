package updates

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncFS makes everything under dir durable: one syncfs(2) of its file
// system.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
