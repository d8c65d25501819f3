//go:build !linux

package backupstore

import "io/fs"

// lstatEntry sets e's mode, size, modification time, inode and change
// time from d's FileInfo (an lstat).
func lstatEntry(_ string, d fs.DirEntry, e *entry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	e.mode, e.size, e.mtime = info.Mode(), info.Size(), info.ModTime()
	e.inode, e.ctime, _ = fileID(info)
	return nil
}
