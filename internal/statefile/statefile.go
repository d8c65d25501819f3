// Package statefile opens the files upkeep keeps in ROOT/.upkeep (the
// lock, the journals, the record of failures, the protected backups)
// without following symbolic links. Whoever may write the root may plant
// a link there; followed by an upkeep that runs as another user (root, at
// a service's start), it would let them read or truncate any file. So a
// link in the state folder, or a state folder that is a link, is refused.
package statefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrSymlink is matched by the errors this package returns for a symbolic
// link where upkeep keeps its state.
var ErrSymlink = errors.New("is a symbolic link; upkeep never follows links in its state folder")

// LinkError names the link.
type LinkError struct{ Path string }

func (e *LinkError) Error() string { return e.Path + " " + ErrSymlink.Error() }

// Is makes errors.Is(err, ErrSymlink) true.
func (e *LinkError) Is(target error) bool { return target == ErrSymlink }

// CheckDir returns a *LinkError when dir is a symbolic link, and an error
// when it is something else than a folder. A dir that does not exist is
// fine: it is created as a folder.
func CheckDir(dir string) error {
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return &LinkError{Path: dir}
	case !fi.IsDir():
		return fmt.Errorf("%s is not a folder", dir)
	}
	return nil
}

// Check checks the state folder dir and what is in it: neither it nor any
// entry of it may be a symbolic link.
func Check(dir string) error {
	if err := CheckDir(dir); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink != 0 {
			return &LinkError{Path: filepath.Join(dir, e.Name())}
		}
	}
	return nil
}

// OpenFile is os.OpenFile that does not follow a symbolic link at path (nor
// one at its folder): a link gives a *LinkError.
func OpenFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	if err := CheckDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	f, err := openNoFollow(path, flag, perm)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, &LinkError{Path: path}
		}
		return nil, err
	}
	return f, nil
}

// ReadFile is os.ReadFile through [OpenFile].
func ReadFile(path string) ([]byte, error) {
	f, err := OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
