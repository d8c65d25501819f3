package updates

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/layout"
)

// The two ends of a batch, shared by the install and the recovery of an
// interrupted one: finishSteps completes a committed batch, rollback puts
// an uncommitted one back. Each can run again after a crash in itself.

// finishSteps completes a committed batch: it keeps the batch's backup
// from pruning, moves each zip (and its signature) to Updates_Installed,
// then removes the batch's folders and journal.
func finishSteps(b batchPaths, j *journal) []step {
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
			src, dst := filepath.Join(root.Pending(), p.Zip), filepath.Join(root.Installed(), p.Installed)
			if err := move(src, dst); err != nil {
				return err
			}
			return move(src+signing.SigExt, dst+signing.SigExt)
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
	if s, err := runSteps(ctx, finishSteps(b, j), nil); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}

// move moves src to dst without ever overwriting dst: a hard link, then
// the removal of src. After a crash between the two, both names are the
// same file, and running move again finishes it.
func move(src, dst string) error {
	si, err := os.Lstat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // moved already, or there was none (a signature)
	}
	if err != nil {
		return err
	}
	if di, err := os.Lstat(dst); err == nil {
		if !os.SameFile(si, di) {
			return fmt.Errorf("move %s: %s exists already", src, dst)
		}
	} else if err := os.Link(src, dst); err != nil {
		return fmt.Errorf("move %s to %s: %w", src, dst, err)
	}
	if err := os.Remove(src); err != nil {
		return fmt.Errorf("move %s: %w", src, err)
	}
	return nil
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
