package updates

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/internal/diskspace"
	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/layout"
)

// The two ends of a batch, shared by the install and the recovery of an
// interrupted one: finishSteps completes a committed batch, rollback puts
// an uncommitted one back. Each can run again after a crash in itself.

// finishSteps completes a committed batch: it keeps the batch's backup
// from pruning, moves each zip (and its signature) to Updates_Installed,
// then removes the batch's folders and journal. f are the batch's faults
// (nil in recovery).
func finishSteps(b batchPaths, j *journal, f faults) []step {
	root := b.root
	steps := []step{{name: stepProtect, run: func(context.Context) error {
		if j.Backup == "" {
			return nil
		}
		return protectBackup(root, j.Backup)
	}}}
	for _, p := range j.Packs {
		steps = append(steps, step{name: stepMove + p.Zip, zip: p.Zip, run: func(context.Context) error {
			if err := os.MkdirAll(root.Installed(), 0o755); err != nil {
				return err
			}
			// A copy a killed run left half done (see move) is waste: the
			// zip is still whole in Updates_Pending.
			if err := atomicfile.CleanTemps(root.Installed()); err != nil {
				return err
			}
			src, dst := filepath.Join(root.Pending(), p.Zip), filepath.Join(root.Installed(), p.Installed)
			halfway := func() error { return f.at(stepCopy + p.Zip) }
			if err := move(src, dst, halfway); err != nil {
				return err
			}
			return move(src+signing.SigExt, dst+signing.SigExt, nil)
		}})
	}
	return append(steps,
		step{name: stepMoved, run: func(context.Context) error {
			for _, d := range []string{root.Installed(), root.Pending()} {
				if err := atomicfile.SyncDir(d); err != nil {
					return err
				}
			}
			return nil
		}},
		step{name: stepClean, run: func(context.Context) error { return b.clear() }},
	)
}

// finish runs finishSteps without faults (recovery).
func finish(ctx context.Context, b batchPaths, j *journal) error {
	if s, err := runSteps(ctx, finishSteps(b, j, nil), nil); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}

// move moves src to dst without ever overwriting dst: a hard link, then
// the removal of src. After a crash between the two, both names are the
// same file, and running move again finishes it.
//
// Where no hard link can be made (Updates_Pending on another file system,
// or one without hard links), it copies src into a temporary file beside
// dst, fsyncs it, renames it to dst, then removes src; halfway, when not
// nil, is called in the middle of the copy (a fault point). A crash during
// the copy leaves src whole and a temporary file that the next run
// removes; a crash after the rename leaves two identical files, and
// running move again removes src. Either way, once move has run to its
// end, the zip is in exactly one folder.
func move(src, dst string, halfway func() error) error {
	si, err := os.Lstat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // moved already, or there was none (a signature)
	}
	if err != nil {
		return err
	}
	if di, err := os.Lstat(dst); err == nil {
		if !os.SameFile(si, di) {
			same, err := sameContent(src, dst)
			if err != nil {
				return fmt.Errorf("move %s: %w", src, err)
			}
			if !same {
				return fmt.Errorf("move %s: %s exists already", src, dst)
			}
		}
	} else if lerr := os.Link(src, dst); lerr != nil {
		if errors.Is(lerr, fs.ErrNotExist) {
			return fmt.Errorf("move %s to %s: %w", src, dst, lerr)
		}
		if err := copyFile(src, dst, si.Mode().Perm(), halfway); err != nil {
			return fmt.Errorf("move %s to %s: no hard link (%v), and copying failed: %w", src, dst, errors.Unwrap(lerr), err)
		}
	}
	if err := os.Remove(src); err != nil {
		return fmt.Errorf("move %s: %w", src, err)
	}
	return nil
}

// copyFile copies src to dst (which does not exist) atomically: into a
// temporary file beside dst (see atomicfile), fsynced, renamed.
func copyFile(src, dst string, perm fs.FileMode, halfway func() error) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	return atomicfile.Write(dst, perm, func(w io.Writer) error {
		if _, err := io.CopyN(w, in, info.Size()/2); err != nil {
			return err
		}
		if halfway != nil {
			if err := halfway(); err != nil {
				return err
			}
		}
		_, err := io.Copy(w, in)
		return err
	})
}

// sameContent reports whether the files a and b hold the same bytes.
func sameContent(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ia, err := fa.Stat()
	if err != nil {
		return false, err
	}
	ib, err := fb.Stat()
	if err != nil {
		return false, err
	}
	if ia.Size() != ib.Size() {
		return false, nil
	}
	ba, bb := make([]byte, 256<<10), make([]byte, 256<<10)
	for {
		na, erra := io.ReadFull(fa, ba)
		nb, errb := io.ReadFull(fb, bb)
		if !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		if erra == io.EOF || erra == io.ErrUnexpectedEOF {
			return errb == io.EOF || errb == io.ErrUnexpectedEOF, nil
		}
		if erra != nil {
			return false, erra
		}
		if errb != nil {
			return false, errb
		}
	}
}

// checkMoves checks, before the batch commits, that its zips can be moved
// into Updates_Installed once it has: by a hard link (tried on each zip
// and signature, into a temporary name), or else by a copy, for which
// Updates_Installed must be writable and have room.
func (b *batchRun) checkMoves() error {
	installed := b.root.Installed()
	if err := os.MkdirAll(installed, 0o755); err != nil {
		return err
	}
	if err := atomicfile.CleanTemps(installed); err != nil {
		return err
	}
	var copies uint64
	var why error
	for _, u := range b.ready {
		for _, src := range []string{u.path, u.path + signing.SigExt} {
			info, err := os.Stat(src)
			if errors.Is(err, fs.ErrNotExist) && src != u.path {
				continue // no signature
			}
			if err != nil {
				return err
			}
			probe := filepath.Join(installed, "."+filepath.Base(src)+".link.tmp")
			if err := os.Link(src, probe); err != nil {
				copies += uint64(info.Size())
				why = errors.Unwrap(err)
				continue
			}
			if err := os.Remove(probe); err != nil {
				return err
			}
		}
	}
	if copies == 0 {
		return nil
	}
	what := fmt.Sprintf("copying the zips into %s after the install (no hard link can be made from %s: %v)", layout.InstalledDir, layout.PendingDir, why)
	f, err := os.CreateTemp(installed, ".write.*.tmp")
	if err != nil {
		return fmt.Errorf("%s: cannot write there: %w", what, err)
	}
	f.Close()
	os.Remove(f.Name())
	return diskspace.Check(nil, "updates", what, installed, copies)
}

// rollback puts the root and the database back as before the uncommitted
// batch j: first the tables exported before its migrations (where the
// backend needed an export), then the pack folders. It returns what could
// not be put back.
func rollback(ctx context.Context, opts Options, b batchPaths, j *journal) error {
	var errs []error
	if _, err := restoreExport(ctx, opts, b.root, j); err != nil {
		// MySQL/MariaDB commit DDL as it runs, and the export taken before
		// the run could not be put back: only the backup has the database
		// as it was. The files go back all the same.
		errs = append(errs, err)
	}
	if err := undo(b, j); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// undo puts the root's files back as they were before the batch: each
// pack's folder swapped back, in reverse order, then the batch's folders
// removed. It can be run again after a crash at any point of itself.
func undo(b batchPaths, j *journal) error {
	root := b.root
	for i := len(j.Packs) - 1; i >= 0; i-- {
		p := j.Packs[i]
		live, old, staged := root.Pack(p.Pack), b.old(p.Pack), b.staged(p.Pack)
		// Swapping starts once every pack is staged. From then on, a pack
		// that had a folder has it in packs/ (not swapped yet, staged still
		// there) or in old/ (swapped out): with neither staged nor old
		// there, packs/ holds the new version and the old one is lost.
		if j.Phase != phaseStaging && p.HadOld && !exists(old) && !exists(staged) {
			return fmt.Errorf("undo %s: the installed folder was moved to %s and is gone", p.Pack, old)
		}
		// The new folder is in packs/ when staging no longer holds it and
		// the folder in packs/ is not the old one: the old one was moved
		// aside, or there was none.
		swappedIn := exists(live) && !exists(staged) && (exists(old) || !p.HadOld)
		if swappedIn {
			if err := os.Rename(live, staged); err != nil {
				return fmt.Errorf("undo %s: %w", p.Pack, err)
			}
		}
		if exists(old) {
			if err := os.Rename(old, live); err != nil {
				return fmt.Errorf("undo %s: %w", p.Pack, err)
			}
		}
	}
	if err := atomicfile.SyncDir(root.Packs()); err != nil {
		return err
	}
	return b.clear()
}

// storeBackup takes backups with package backupstore.
func storeBackup(opts Options, root layout.Root, r *Report) func(context.Context, string) (string, error) {
	return func(ctx context.Context, reason string) (string, error) {
		versions := map[string]string{}
		for _, p := range r.Installed {
			versions[p.Pack] = p.Version
		}
		db, release, err := openDB(ctx, opts, root)
		if err != nil {
			return "", err
		}
		defer release()
		addr, err := dbAddress(opts, db)
		if err != nil {
			return "", err
		}
		b, err := backupstore.Create(ctx, backupstore.CreateOptions{
			Root: root, Reason: reason, UpkeepVersion: opts.UpkeepVersion, Packs: versions,
			DB: addr, SQL: db.SQL(), Progress: opts.Progress,
		})
		if err != nil {
			return "", err
		}
		return b.ID, nil
	}
}

// protectBackup makes the backup taken before this batch the one that
// pruning never removes: the backup of the last install.
// installBackupID matches the IDs of the backups taken before installs:
// STAMP_install, or STAMP_install-N when the name was taken.
var installBackupID = regexp.MustCompile(`_install(-\d+)?$`)

func protectBackup(root layout.Root, id string) error {
	ids, err := backupstore.Protected(root)
	if err != nil {
		return err
	}
	for _, old := range ids {
		if old != id && installBackupID.MatchString(old) {
			if err := backupstore.Unprotect(root, old); err != nil {
				return err
			}
		}
	}
	return backupstore.MarkProtected(root, id)
}
