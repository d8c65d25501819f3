package updates

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/manifest"
)

// DryRun is what an install would do, worked out without changing
// anything ([Options].DryRun).
type DryRun struct {
	Packs []DryRunPack `json:"packs"` // in install order
	// Recovery is set when an interrupted batch waits: a real start
	// finishes or undoes it first.
	Recovery string `json:"recovery,omitempty"`
	// BackupFiles and BackupBytes estimate the backup taken first: the
	// root's files (at most: unchanged files may be referenced from an
	// earlier backup), plus DatabaseBytes for a SQLite file.
	BackupFiles   int   `json:"backup_files"`
	BackupBytes   int64 `json:"backup_bytes"`
	DatabaseBytes int64 `json:"database_bytes"`
	NoBackup      bool  `json:"no_backup"`
	// FreeBytes is the free space of the file system of Updates_Backups
	// and .upkeep, where the backup and the staged packs go.
	FreeBytes  uint64 `json:"free_bytes"`
	StageBytes int64  `json:"stage_bytes"` // what staging the packs writes
}

// DryRunPack is one update of the plan: its files against the installed
// folder, and its migrations.
type DryRunPack struct {
	Pack       string   `json:"pack"`
	Zip        string   `json:"zip"`
	From       string   `json:"from"` // "" for a new pack
	To         string   `json:"to"`
	Added      []string `json:"added"`
	Changed    []string `json:"changed"`
	Removed    []string `json:"removed"`
	Unchanged  int      `json:"unchanged"`
	Migrations []string `json:"migrations"`
}

// dryRun works out the plan of installing r's ready updates.
func dryRun(opts Options, root layout.Root, r *Report) (*DryRun, error) {
	d := &DryRun{Packs: []DryRunPack{}, NoBackup: opts.NoBackup}
	if j, err := (batchPaths{root}).load(); err != nil {
		return nil, err
	} else if j != nil {
		d.Recovery = "batch " + j.Batch + " was interrupted (" + string(j.Phase) + "); the install finishes or undoes it first"
	}
	for _, u := range r.Ready() {
		p, err := planPack(root, u)
		if err != nil {
			return nil, err
		}
		for _, f := range u.manifest.Files {
			d.StageBytes += f.Size
		}
		d.Packs = append(d.Packs, p)
	}
	var dbFiles []string
	if db := sqliteFile(root, opts.DB); db != "" {
		if rel, err := filepath.Rel(root.Dir, db); err == nil && filepath.IsLocal(rel) {
			rel = filepath.ToSlash(rel)
			dbFiles = []string{rel, rel + "-wal", rel + "-shm", rel + "-journal"}
		}
		if fi, err := os.Stat(db); err == nil {
			d.DatabaseBytes = fi.Size()
		}
	}
	if !opts.NoBackup {
		files, bytes, err := backupstore.Estimate(root, dbFiles)
		if err != nil {
			return nil, err
		}
		d.BackupFiles, d.BackupBytes = files, bytes
	}
	dir := root.Backups()
	if !exists(dir) {
		dir = root.Dir
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err == nil {
		d.FreeBytes = st.Bavail * uint64(st.Bsize)
	}
	return d, nil
}

// sqliteFile is the SQLite database file of the address db, "" for a
// server.
func sqliteFile(root layout.Root, db string) string {
	p, ok := "", false
	switch {
	case db == "":
		p, ok = layout.DefaultDB, true
	case len(db) > 7 && db[:7] == "sqlite:":
		p, ok = db[7:], true
	}
	if !ok {
		return ""
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(root.Dir, p)
	}
	return p
}

// planPack compares u's files with the pack's installed folder: by size,
// then by sha256.
func planPack(root layout.Root, u *Update) (DryRunPack, error) {
	p := DryRunPack{Pack: u.Pack, Zip: u.File, From: u.InstalledVersion, To: u.Version,
		Added: []string{}, Changed: []string{}, Removed: []string{}, Migrations: []string{}}
	if u.Database != nil {
		p.Migrations = append(p.Migrations, u.Database.Migrations...)
	}
	dir := root.Pack(u.Pack)
	shipped := map[string]bool{manifest.FileName: true}
	for _, f := range u.manifest.Files {
		shipped[f.Path] = true
		abs := filepath.Join(dir, filepath.FromSlash(f.Path))
		fi, err := os.Lstat(abs)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			p.Added = append(p.Added, f.Path)
			continue
		case err != nil:
			return p, err
		case !fi.Mode().IsRegular() || fi.Size() != f.Size:
			p.Changed = append(p.Changed, f.Path)
			continue
		}
		sum, err := fileSHA256(abs)
		if err != nil {
			return p, err
		}
		if sum != f.SHA256 {
			p.Changed = append(p.Changed, f.Path)
		} else {
			p.Unchanged++
		}
	}
	err := filepath.WalkDir(dir, func(abs string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && abs == dir {
			return filepath.SkipDir // a new pack
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, abs)
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); !shipped[rel] {
			p.Removed = append(p.Removed, rel)
		}
		return nil
	})
	slices.Sort(p.Removed)
	return p, err
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// dryRunStep is the Install mode of a dry run: scan and plan, change
// nothing.
func dryRunStep(ctx context.Context, opts Options, root layout.Root) (*Report, error) {
	r, err := Scan(ctx, opts.ScanOptions)
	if err != nil {
		return nil, err
	}
	if r.DryRun, err = dryRun(opts, root, r); err != nil {
		return r, err
	}
	if len(r.Updates) > 0 && len(r.Ready()) == 0 {
		return r, &PendingError{Count: len(r.Updates), Dir: root.Pending()}
	}
	return r, nil
}
