package updates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/upkeep/upkeep/internal/progress"
	"github.com/upkeep/upkeep/internal/writeback"
	"github.com/upkeep/upkeep/manifest"
)

// stage extracts the update zip f (at path) into dir, which must not exist:
// every file its manifest lists, each checked against its size and sha256
// while it is written, and the manifest itself. check, when not nil, may
// refuse the manifest before anything is written. Files are written by
// several workers; durability comes from one sync of the file system after
// all packs are staged (see syncFS). It stops early, with ctx.Err(), once
// ctx ends.
//
// The workers are handed the files of different folders in turn (see
// acrossFolders): creating a file holds its folder's lock while the file
// system finds a free inode, which is long on ext4 without a journal after
// many files were deleted, and workers creating files of one folder at
// once spun on that lock instead of extracting.
func stage(ctx context.Context, f *os.File, path, dir string, lim manifest.Limits, meter *progress.Meter, diskFull bool, check func(*manifest.Zip) error) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	z, err := manifest.NewZip(f, info.Size(), path, lim)
	if err != nil {
		return err
	}
	m := z.Manifest
	if check != nil {
		if err := check(z); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	// Folders first, so that workers only create files.
	made := map[string]bool{}
	for _, f := range m.Files {
		for d := filepath.Dir(filepath.FromSlash(f.Path)); d != "." && !made[d]; d = filepath.Dir(d) {
			made[d] = true
		}
	}
	dirs := make([]string, 0, len(made))
	for d := range made {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}

	work := make(chan manifest.File)
	errs := make(chan error, len(m.Files))
	var wg sync.WaitGroup
	for range min(4, max(1, len(m.Files))) {
		wg.Go(func() {
			buf := make([]byte, 256<<10)
			for f := range work {
				if err := extract(z, f, dir, buf, diskFull); err != nil {
					errs <- err
				}
				meter.Add(1, f.Size)
			}
		})
	}
	for _, f := range acrossFolders(m.Files) {
		if ctx.Err() != nil {
			break // interrupted: the caller removes the partial folder
		}
		work <- f
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := ctx.Err(); err != nil {
		return err
	}
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if len(all) > 0 {
		return errors.Join(all...)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, manifest.FileName), append(data, '\n'), 0o644)
}

// acrossFolders returns files in the order that takes one file of each
// folder in turn: the first file of every folder (in the order the
// folders first appear), then the second, and so on.
func acrossFolders(files []manifest.File) []manifest.File {
	var folders [][]manifest.File
	index := map[string]int{}
	for _, f := range files {
		d := path.Dir(f.Path)
		i, ok := index[d]
		if !ok {
			i = len(folders)
			index[d] = i
			folders = append(folders, nil)
		}
		folders[i] = append(folders[i], f)
	}
	if len(folders) < 2 {
		return files
	}
	out := make([]manifest.File, 0, len(files))
	for round := 0; len(out) < len(files); round++ {
		for _, g := range folders {
			if round < len(g) {
				out = append(out, g[round])
			}
		}
	}
	return out
}

// extract writes one file of z into dir through the checking reader.
func extract(z *manifest.Zip, f manifest.File, dir string, buf []byte, diskFull bool) error {
	rc, err := z.Open(f.Path)
	if err != nil {
		return err
	}
	defer rc.Close()
	mode := os.FileMode(0o644)
	if f.Mode != "" {
		if v, err := strconv.ParseUint(f.Mode, 8, 32); err == nil {
			mode = os.FileMode(v) & os.ModePerm
		}
	}
	path := filepath.Join(dir, filepath.FromSlash(f.Path))
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	// The file's writeback starts as soon as it is written: the disk works
	// while the next files are extracted, and the sync before the swap
	// has little left to do.
	wb := writeback.New(out, 0)
	var w io.Writer = wb
	if diskFull {
		w = fullDisk{}
	}
	if _, err := io.CopyBuffer(w, rc, buf); err != nil {
		out.Close()
		return fmt.Errorf("extract %s: %w", f.Path, err)
	}
	wb.Flush()
	if err := out.Close(); err != nil {
		return fmt.Errorf("extract %s: %w", f.Path, err)
	}
	return nil
}

// fullDisk is a writer that fails as a full disk does.
type fullDisk struct{}

func (fullDisk) Write([]byte) (int, error) { return 0, syscall.ENOSPC }
