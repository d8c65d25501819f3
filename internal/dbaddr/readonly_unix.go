//go:build unix

package dbaddr

import (
	"errors"

	"golang.org/x/sys/unix"
)

// readOnlyFS reports whether dir is on a file system mounted read-only.
func readOnlyFS(dir string) bool {
	return errors.Is(unix.Access(dir, unix.W_OK), unix.EROFS)
}
