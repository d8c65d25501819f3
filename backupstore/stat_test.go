package backupstore

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// lstatEntry reads what os.Lstat would: mode with its type and special
// bits, size, modification time, inode and change time.
func TestLstatEntryMatchesLstat(t *testing.T) {
	dir := t.TempDir()
	file, sub, link, suid := filepath.Join(dir, "f.txt"), filepath.Join(dir, "sub"), filepath.Join(dir, "link"), filepath.Join(dir, "suid")
	if err := os.WriteFile(file, []byte("hello"), 0o640); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(sub, 0o750)
	os.Symlink("f.txt", link)
	os.WriteFile(suid, nil, 0o755)
	os.Chmod(suid, 0o755|fs.ModeSetuid|fs.ModeSetgid)
	os.Chmod(sub, 0o750|fs.ModeSticky)
	des, err := os.ReadDir(dir)
	if err != nil || len(des) != 4 {
		t.Fatal(des, err)
	}
	for _, d := range des {
		abs := filepath.Join(dir, d.Name())
		var e entry
		if err := lstatEntry(abs, d, &e); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(abs)
		if err != nil {
			t.Fatal(err)
		}
		inode, ctime, _ := fileID(fi)
		if e.mode != fi.Mode() || e.size != fi.Size() || !e.mtime.Equal(fi.ModTime()) || e.inode != inode || e.ctime != ctime {
			t.Errorf("%s: lstatEntry %v %d %v %d %d, os.Lstat %v %d %v %d %d", d.Name(), e.mode, e.size, e.mtime, e.inode, e.ctime,
				fi.Mode(), fi.Size(), fi.ModTime(), inode, ctime)
		}
	}
	if runtime.GOOS != "linux" {
		return // elsewhere lstatEntry reads the DirEntry's FileInfo
	}
	if err := lstatEntry(filepath.Join(dir, "gone"), nil, &entry{}); !os.IsNotExist(err) {
		t.Errorf("a missing file: %v", err)
	}
}
