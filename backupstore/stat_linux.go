package backupstore

import (
	"io/fs"
	"syscall"
	"time"
)

// fileID returns a file's inode and change time (nanoseconds), which with
// its size and modification time tell an unchanged file (see [File]).
func fileID(fi fs.FileInfo) (inode uint64, ctime int64, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return uint64(st.Ino), st.Ctim.Nano(), true
}

// lstatEntry sets e's mode, size, modification time, inode and change
// time from lstat(2), as os.Lstat would, without the FileInfo a root of
// 100,000 files would allocate 100,000 of.
func lstatEntry(abs string, _ fs.DirEntry, e *entry) error {
	var st syscall.Stat_t
	err := syscall.Lstat(abs, &st)
	for err == syscall.EINTR {
		err = syscall.Lstat(abs, &st)
	}
	if err != nil {
		return &fs.PathError{Op: "lstat", Path: abs, Err: err}
	}
	mode := fs.FileMode(st.Mode & 0o777)
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
	case syscall.S_IFDIR:
		mode |= fs.ModeDir
	case syscall.S_IFLNK:
		mode |= fs.ModeSymlink
	default:
		mode |= fs.ModeIrregular
	}
	if st.Mode&syscall.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if st.Mode&syscall.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if st.Mode&syscall.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	e.mode, e.size = mode, st.Size
	e.mtime = time.Unix(st.Mtim.Unix())
	e.inode, e.ctime = st.Ino, st.Ctim.Nano()
	return nil
}
