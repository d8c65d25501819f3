package backupstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/upkeep/upkeep/layout"
)

// PruneReason removes the backups taken for reason (e.g. "install") beyond
// the keep newest of them, and never one marked by [MarkProtected] (which
// counts among the keep when it is among the newest): the retention an
// install applies after it commits. keep <= 0 keeps all. It returns the
// IDs it removed, newest first.
func PruneReason(root layout.Root, keep int, reason string) ([]string, error) {
	if keep <= 0 {
		return nil, nil
	}
	marked, err := Protected(root)
	if err != nil {
		return nil, err
	}
	all, err := List(root)
	if err != nil {
		return nil, err
	}
	var removed []string
	kept := 0
	for _, b := range all {
		if b.Reason != reason {
			continue
		}
		if kept < keep || slices.Contains(marked, b.ID) {
			kept++
			continue
		}
		if err := os.Remove(b.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("backupstore: remove backup %s: %w", b.Path, err)
		}
		removed = append(removed, b.ID)
	}
	if len(removed) > 0 {
		if err := syncDir(root.Backups()); err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// Estimate says how much a full backup of the root's files would hold:
// the files and bytes [Create] would read (an upper bound of what it
// writes, which may reference unchanged files an earlier backup holds).
// dbFiles are the database's files inside the root, slash paths from it,
// which the database part of a backup covers instead.
func Estimate(root layout.Root, dbFiles []string) (files int, bytes int64, err error) {
	x, err := newExcluder(nil, dbFiles)
	if err != nil {
		return 0, 0, err
	}
	entries, total, err := scanRoot(root.Dir, x)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		if e.typ == TypeFile {
			files++
		}
	}
	return files, total, nil
}
