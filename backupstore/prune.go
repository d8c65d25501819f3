package backupstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/internal/statefile"
	"github.com/upkeep/upkeep/layout"
)

// [MarkProtected] records the IDs of backups that [Prune] never removes in
// .upkeep/protected-backups (layout.Root.ProtectedBackups), one ID a line.

// Protected returns the IDs recorded by [MarkProtected], sorted.
func Protected(root layout.Root) ([]string, error) {
	path := root.ProtectedBackups()
	data, err := statefile.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backupstore: read %s: %w", path, err)
	}
	var ids []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(ids, l) {
			ids = append(ids, l)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// MarkProtected records that backup id must survive [Prune], e.g. the
// backup taken before the last install, which is what a person restores
// when the new version misbehaves. The install code calls it; the mark
// stays until [Unprotect].
func MarkProtected(root layout.Root, id string) error {
	if _, err := backupPath(root, id); err != nil {
		return err
	}
	ids, err := Protected(root)
	if err != nil {
		return err
	}
	if slices.Contains(ids, id) {
		return nil
	}
	return writeProtected(root, append(ids, id))
}

// Unprotect removes the mark [MarkProtected] set. An ID that is not
// marked is not an error.
func Unprotect(root layout.Root, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	ids, err := Protected(root)
	if err != nil {
		return err
	}
	if !slices.Contains(ids, id) {
		return nil
	}
	return writeProtected(root, slices.DeleteFunc(ids, func(s string) bool { return s == id }))
}

func writeProtected(root layout.Root, ids []string) error {
	slices.Sort(ids)
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(id + "\n")
	}
	if err := os.MkdirAll(root.State(), 0o755); err != nil {
		return fmt.Errorf("backupstore: create %s: %w", root.State(), err)
	}
	return atomicfile.WriteFile(root.ProtectedBackups(), []byte(b.String()), 0o644)
}

// Prune removes old backups: it keeps the keep newest ([DefaultKeep] when
// keep <= 0), and also every backup whose ID is in protect or marked by
// [MarkProtected] (these do not count towards keep). It returns the IDs it
// removed, oldest last as [List] orders them. A backup whose backup.json is
// unreadable is ordered by the time in its name and pruned like the others.
// Prune also removes the temp files of backups that a crash interrupted
// (.tmp-backup-*), so the caller must hold the root's lock.
func Prune(root layout.Root, keep int, protect []string) (removed []string, err error) {
	if keep <= 0 {
		keep = DefaultKeep
	}
	marked, err := Protected(root)
	if err != nil {
		return nil, err
	}
	all, err := List(root)
	if err != nil {
		return nil, err
	}
	RemoveTemp(root)
	kept := 0
	for _, b := range all {
		if slices.Contains(protect, b.ID) || slices.Contains(marked, b.ID) {
			continue
		}
		if kept < keep {
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

// RemoveTemp removes what a backup killed before it finished left in
// Updates_Backups: its .tmp-backup-*.partial zip and spill files. Nothing
// refers to them. Every start calls it, under the root's lock; errors are
// ignored (a read-only root keeps them until it is writable).
func RemoveTemp(root layout.Root) {
	des, err := os.ReadDir(root.Backups())
	if err != nil {
		return
	}
	for _, d := range des {
		if strings.HasPrefix(d.Name(), tmpPrefix) && !d.IsDir() {
			os.Remove(filepath.Join(root.Backups(), d.Name()))
		}
	}
}
