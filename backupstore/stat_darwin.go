package backupstore

import (
	"io/fs"
	"syscall"
)

// fileID returns a file's inode and change time (nanoseconds), which with
// its size and modification time tell an unchanged file (see [File]).
func fileID(fi fs.FileInfo) (inode uint64, ctime int64, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return uint64(st.Ino), st.Ctimespec.Nano(), true
}
