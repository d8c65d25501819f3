//go:build unix

package packs

import (
	"io/fs"
	"path/filepath"
	"syscall"
)

// readFile reads the file name of folder dir as os.ReadFile does, with
// the system calls alone: opening a regular file through package os also
// asks for its flags twice and tries to register it with the poller, which
// doubles the calls when a pack's 1,000 migration files are read.
func readFile(dir, name string) ([]byte, error) {
	path := filepath.Join(dir, name)
	var fd int
	var err error
	for {
		if fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0); err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		return nil, &fs.PathError{Op: "read", Path: path, Err: syscall.EISDIR}
	}
	b := make([]byte, 0, int(st.Size)+1) // +1: the read that finds the end
	for {
		n, err := syscall.Read(fd, b[len(b):cap(b)])
		if n > 0 {
			b = b[:len(b)+n]
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		case n == 0:
			return b, nil
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grown on a file that grew
		}
	}
}
