package backupstore

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/klauspost/compress/zip"

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
// What kept backups reference survives as pieces (see [prune]).
// Prune also removes the temp files of backups that a crash interrupted
// (.tmp-backup-*), so the caller must hold the root's lock.
func Prune(root layout.Root, keep int, protect []string) (removed []string, err error) {
	if keep <= 0 {
		keep = DefaultKeep
	}
	return prune(root, true, func(b Backup, marked bool, kept *int) bool {
		if marked || slices.Contains(protect, b.ID) {
			return false
		}
		*kept++
		return *kept > keep
	})
}

// PruneReason removes the backups taken for reason (e.g. "install") beyond
// the keep newest of them, and never one marked by [MarkProtected] (which
// counts among the keep when it is among the newest): the retention an
// install applies after it commits. keep <= 0 keeps all. It returns the
// IDs it removed, newest first. Like [Prune] it keeps what kept backups
// reference.
func PruneReason(root layout.Root, keep int, reason string) ([]string, error) {
	if keep <= 0 {
		return nil, nil
	}
	return prune(root, false, func(b Backup, marked bool, kept *int) bool {
		if b.Reason != reason {
			return false
		}
		*kept++
		return *kept > keep && !marked
	})
}

// prune removes the backups that drop says to, newest first (kept counts
// what the policy kept so far), and keeps every entry a kept backup
// references. A removed backup that kept backups reference becomes
// ID.pieces.zip: renamed when the entries they need take most of it,
// otherwise repacked (a temp file holding backup.json and the entries
// needed, fsynced, then renamed into place before ID.zip goes). Pieces no
// kept backup needs any more go; pieces that kept backups need less of are
// repacked the same way. Each step is one rename or removal of a file no
// kept backup needs, so a crash at any instant leaves every kept backup
// restorable (at worst an ID.zip beside its ID.pieces.zip, which the next
// prune finishes).
//
// With tidy false (the install's retention), a prune that removes no
// backup reads no backup.json past its head and leaves the pieces alone.
func prune(root layout.Root, tidy bool, drop func(b Backup, marked bool, kept *int) bool) (removed []string, err error) {
	marked, err := Protected(root)
	if err != nil {
		return nil, err
	}
	// The policy needs what precedes the records of each backup.json;
	// the records are read below, and only when something is to go.
	all, err := list(root, false)
	if err != nil {
		return nil, err
	}
	RemoveTemp(root)
	dir := root.Backups()
	kept := 0
	var gone, keep []Backup
	for _, b := range all {
		if drop(b, slices.Contains(marked, b.ID), &kept) {
			gone = append(gone, b)
		} else if b.Err == nil && b.Kind == KindFull {
			keep = append(keep, b)
		}
	}
	if len(gone) == 0 && !tidy {
		// Pieces are needed less only once a backup goes: the install's
		// retention leaves them to the next prune that removes one.
		return nil, nil
	}
	if !tidy {
		if needed, ok := referenced(keep); ok {
			return pruneByHeads(dir, gone, needed)
		}
	}
	need := map[string]map[string]bool{} // holder ID -> entry names kept backups need
	for _, b := range keep {
		m, err := readManifestFile(b.Path)
		if err != nil {
			return nil, err
		}
		for _, f := range m.Files {
			if f.Backup != "" {
				if need[f.Backup] == nil {
					need[f.Backup] = map[string]bool{}
				}
				need[f.Backup][m.entryName(f)] = true
			}
		}
	}
	for _, b := range gone {
		pieces := filepath.Join(dir, b.ID+PiecesSuffix)
		if need[b.ID] == nil {
			if err := removeFile(b.Path); err != nil {
				return removed, err
			}
			if err := removeFile(pieces); err != nil {
				return removed, err
			}
		} else if err := keepPieces(b.Path, pieces, need[b.ID], true); err != nil {
			return removed, err
		}
		removed = append(removed, b.ID)
	}
	// The pieces of backups pruned before.
	ids, err := piecesIn(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return removed, nil
	}
	if err != nil {
		return removed, err
	}
	for _, id := range ids {
		p := filepath.Join(dir, id+PiecesSuffix)
		_, err := os.Stat(filepath.Join(dir, id+".zip"))
		switch {
		case err == nil || need[id] == nil:
			// A backup of that ID is kept (its zip serves), or nothing needs them.
			if err := removeFile(p); err != nil {
				return removed, err
			}
		default:
			if err := keepPieces(p, p, need[id], false); err != nil {
				return removed, err
			}
		}
	}
	return removed, syncDir(dir)
}

// referenced returns the IDs of the zips the kept backups reference, as
// their backup.json's heads list them; false when one was written before
// heads listed them.
func referenced(keep []Backup) (map[string]bool, bool) {
	needed := map[string]bool{}
	for _, b := range keep {
		if b.refs == nil {
			return nil, false
		}
		for _, id := range b.refs {
			needed[id] = true
		}
	}
	return needed, true
}

// pruneByHeads is the install's retention when the heads of the kept
// backups say which zips they reference: a gone backup that is referenced
// becomes ID.pieces.zip whole (a rename; repacking what is no longer
// needed is left to Prune, which reads the records), one that is not goes,
// and so do the pieces of earlier prunes that nothing references any more.
// No record is read.
func pruneByHeads(dir string, gone []Backup, needed map[string]bool) (removed []string, err error) {
	for _, b := range gone {
		pieces := filepath.Join(dir, b.ID+PiecesSuffix)
		if needed[b.ID] {
			pruneStep("rename")
			if err := os.Rename(b.Path, pieces); err != nil {
				return removed, fmt.Errorf("backupstore: rename %s to %s: %w", b.Path, pieces, err)
			}
		} else {
			if err := removeFile(b.Path); err != nil {
				return removed, err
			}
			if err := removeFile(pieces); err != nil {
				return removed, err
			}
		}
		removed = append(removed, b.ID)
	}
	ids, err := piecesIn(dir)
	if err != nil {
		return removed, err
	}
	for _, id := range ids {
		_, err := os.Stat(filepath.Join(dir, id+".zip"))
		if err == nil || !needed[id] {
			// A backup of that ID is kept (its zip serves), or nothing needs them.
			if err := removeFile(filepath.Join(dir, id+PiecesSuffix)); err != nil {
				return removed, err
			}
		}
	}
	return removed, syncDir(dir)
}

// piecesIn lists the IDs whose pieces are in dir (ID.pieces.zip).
func piecesIn(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("backupstore: list %s: %w", dir, err)
	}
	var ids []string
	for _, d := range des {
		if id, ok := strings.CutSuffix(d.Name(), PiecesSuffix); ok && !d.IsDir() && !strings.HasPrefix(id, ".") {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// pruneStep is called before each removal or rename prune makes (crash
// tests kill the process there).
var pruneStep = func(step string) {}

func removeFile(p string) error {
	pruneStep("remove")
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backupstore: remove %s: %w", p, err)
	}
	return nil
}

// keepPieces makes dst hold what src holds of the entries in need (and
// its backup.json): src renamed to dst when at most a quarter of src is
// not needed (left as it is when src is dst), otherwise a repacked copy
// renamed over dst, after which src is removed.
func keepPieces(src, dst string, need map[string]bool, mustMove bool) error {
	zr, err := zip.OpenReader(src)
	if err != nil {
		return fmt.Errorf("%w: open %s: %v", ErrCorrupt, src, err)
	}
	defer zr.Close()
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	var waste int64
	for _, f := range zr.File {
		if f.Name != ManifestName && !need[f.Name] {
			waste += int64(f.CompressedSize64) + int64(len(f.Name)) + 76 // + local and central headers
		}
	}
	if waste*4 <= fi.Size() {
		zr.Close()
		if !mustMove {
			return nil
		}
		pruneStep("rename")
		if err := os.Rename(src, dst); err != nil {
			return fmt.Errorf("backupstore: rename %s to %s: %w", src, dst, err)
		}
		return syncDir(filepath.Dir(dst))
	}
	dir := filepath.Dir(dst)
	tmp, err := os.CreateTemp(dir, tmpPrefix+"*.partial")
	if err != nil {
		return fmt.Errorf("backupstore: create temp file in %s: %w", dir, err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	zw := zip.NewWriter(bw)
	for _, f := range zr.File {
		if f.Name != ManifestName && !need[f.Name] {
			continue
		}
		if err := zw.Copy(f); err != nil {
			return fmt.Errorf("backupstore: repack %s: %w", src, err)
		}
	}
	if err := finishZip(zw, bw, tmp); err != nil {
		return fmt.Errorf("backupstore: repack %s: %w", src, err)
	}
	pruneStep("repack")
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("backupstore: rename %s to %s: %w", tmp.Name(), dst, err)
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	if src != dst {
		zr.Close()
		return removeFile(src)
	}
	return nil
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
