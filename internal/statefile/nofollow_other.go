//go:build !unix && !windows

package statefile

import (
	"io/fs"
	"os"
)

// openNoFollow refuses a link at path, then opens it.
func openNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &LinkError{Path: path}
	}
	return os.OpenFile(path, flag, perm)
}
