//go:build windows

package statefile

import (
	"io/fs"
	"os"
)

// openNoFollow refuses a link (a reparse point) at path, then opens it.
// Windows has no O_NOFOLLOW; creating a link there needs a privilege that
// the users who may write a root do not usually hold.
func openNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 {
		return nil, &LinkError{Path: path}
	}
	return os.OpenFile(path, flag, perm)
}
