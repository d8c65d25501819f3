package updates

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/internal/progress"
	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

// Batch is what an install did.
type Batch struct {
	ID      string         `json:"id"`
	Backup  string         `json:"backup,omitempty"` // the backup taken before, "" with NoBackup
	Updates []InstalledZip `json:"updates"`          // in install order
	// Migrations are the migrations the batch ran, in order.
	Migrations []AppliedMigration `json:"migrations,omitempty"`
	// Pruned are the old install backups removed after it (KeepBackups).
	Pruned []string `json:"pruned_backups,omitempty"`
}

// InstalledZip is one update of a committed batch.
type InstalledZip struct {
	Pack      string `json:"pack"`
	From      string `json:"from,omitempty"` // "" for a new pack
	To        string `json:"to"`
	Zip       string `json:"zip"`       // its name in Updates_Pending
	Installed string `json:"installed"` // its name in Updates_Installed
}

// install installs the ready updates of r as one batch, holding the root's
// lock. On failure it puts everything back and returns an *InstallError;
// when it cannot, a *ManualError.
func install(ctx context.Context, opts Options, root layout.Root, r *Report) (*Batch, error) {
	ready := r.Ready()
	if len(ready) == 0 {
		return nil, nil
	}
	b := batchPaths{root}
	f := loadFaults()
	now := time.Now().UTC()
	j := &journal{Batch: now.Format(stamp), Phase: phaseStaging, Started: now}
	taken := map[string]bool{}
	from := map[string]string{}
	for _, p := range r.Installed {
		from[p.Pack] = p.Version
	}
	for _, u := range ready {
		name, err := installedName(root, u.File, now, taken)
		if err != nil {
			return nil, err
		}
		j.Packs = append(j.Packs, journalPack{
			Pack: u.Pack, Version: u.Version, From: from[u.Pack], Zip: u.File, Installed: name,
			HadOld: exists(root.Pack(u.Pack)),
		})
	}
	if err := preflight(root, ready); err != nil {
		return nil, &InstallError{Batch: j.Batch, Step: "preflight", Err: err}
	}
	if !opts.NoBackup {
		backup := opts.Backup
		if backup == nil {
			backup = storeBackup(opts, root, r)
		}
		id, err := backup(ctx, "install")
		if err != nil {
			return nil, &InstallError{Batch: j.Batch, Step: "backup", Err: err}
		}
		j.Backup = id
	}

	// The batch's row in upkeep_batches: running now; committed in the
	// migrations' transaction; how it ended, at the end.
	host, err := EnsureHostID(root)
	if err != nil {
		return nil, &InstallError{Batch: j.Batch, Step: "history", Err: err}
	}
	rec, err := startBatch(ctx, opts, root, j, host, from)
	if err != nil {
		return nil, &InstallError{Batch: j.Batch, Step: "history", Err: err}
	}
	ended := func(phase, outcome string, cause error) {
		reason := ""
		if cause != nil {
			reason = cause.Error()
		}
		endBatch(ctx, opts, root, rec, phase, outcome, reason, time.Now())
		noteBackup(root, j.Backup, outcome, j.Batch)
	}

	fail := func(step, zip string, err error) (*Batch, error) {
		ierr := &InstallError{Batch: j.Batch, Step: step, Zip: zip, Err: err}
		if uerr := undo(b, j); uerr != nil {
			merr := &ManualError{Batch: j.Batch, Backup: j.Backup, Cause: ierr, Err: uerr}
			ended(string(j.Phase), packs.OutcomeManual, merr)
			return nil, merr
		}
		recordFailure(root, zip, ierr)
		ended(string(j.Phase), packs.OutcomeRolledBack, ierr)
		return nil, ierr
	}

	// 1. Journal, then stage every pack.
	if err := os.MkdirAll(b.staging(), 0o755); err != nil {
		return nil, err
	}
	if err := b.save(j); err != nil {
		return fail("journal", "", err)
	}
	if err := f.at("journal"); err != nil {
		return fail("journal", "", err)
	}
	var files int
	var size int64
	for _, u := range ready {
		for _, mf := range u.manifest.Files {
			files, size = files+1, size+mf.Size
		}
	}
	meter := progress.New(opts.Progress, "staging", files, size, progress.Options{})
	keys, err := signing.LoadKeyring(root.Trusted(), opts.TrustedKeys)
	if err != nil {
		return fail("stage", "", err)
	}
	for _, u := range ready {
		step := "stage:" + u.Pack
		if err := stageOne(opts, keys, u, b, meter, f.diskFull(step)); err != nil {
			return fail(step, u.File, err)
		}
		if err := f.at(step); err != nil {
			return fail(step, u.File, err)
		}
	}
	meter.Done()
	if err := syncFS(root.Dir); err != nil {
		return fail("staged", "", err)
	}
	if err := f.at("staged"); err != nil {
		return fail("staged", "", err)
	}

	// 2. Swap the folders in, in install order.
	j.Phase = phaseSwapping
	if err := b.save(j); err != nil {
		return fail("swapping", "", err)
	}
	if err := os.MkdirAll(b.oldDir(), 0o755); err != nil {
		return fail("swapping", "", err)
	}
	for _, p := range j.Packs {
		if p.HadOld {
			if err := os.Rename(root.Pack(p.Pack), b.old(p.Pack)); err != nil {
				return fail("swap-out:"+p.Pack, p.Zip, err)
			}
		}
		if err := f.at("swap-out:" + p.Pack); err != nil {
			return fail("swap-out:"+p.Pack, p.Zip, err)
		}
		if err := os.Rename(b.staged(p.Pack), root.Pack(p.Pack)); err != nil {
			return fail("swap-in:"+p.Pack, p.Zip, err)
		}
		if err := f.at("swap-in:" + p.Pack); err != nil {
			return fail("swap-in:"+p.Pack, p.Zip, err)
		}
	}
	for _, d := range []string{root.Packs(), b.oldDir(), b.staging()} {
		if err := atomicfile.SyncDir(d); err != nil {
			return fail("swapped", "", err)
		}
	}
	if err := f.at("swapped"); err != nil {
		return fail("swapped", "", err)
	}

	// 3. Migrate the batch's packs, in install order: on SQLite and
	// PostgreSQL in one transaction. Its rows in upkeep_packs, each pack at
	// its new version, are the batch's commit: from the instant it commits,
	// recovery finishes the batch instead of undoing it.
	applied, err := migrateBatch(ctx, opts, root, b, j, &rec)
	if err != nil {
		var me *packs.MigrationError
		zip := ""
		if errors.As(err, &me) {
			zip = j.zipOf(me.Pack)
		}
		ierr := &InstallError{Batch: j.Batch, Step: "migrate", Zip: zip, Err: err}
		if rerr := restoreExport(ctx, opts, root, j); rerr != nil {
			// MySQL/MariaDB commit DDL as it runs, and the export taken
			// before the run could not be put back: only the backup has
			// the database as it was.
			if uerr := undo(b, j); uerr != nil {
				rerr = errors.Join(rerr, uerr)
			}
			merr := &ManualError{Batch: j.Batch, Backup: j.Backup, Cause: ierr, Err: rerr}
			ended(string(j.Phase), packs.OutcomeManual, merr)
			return nil, merr
		}
		return fail("migrate", zip, err)
	}
	if err := f.at("migrated"); err != nil {
		return fail("migrated", "", err)
	}

	// 4. Commit the journal, and finish.
	j.Phase = phaseCommitted
	if err := b.save(j); err != nil {
		return fail("commit", "", err)
	}
	f.at("commit")
	if err := finish(b, j, f); err != nil {
		// Committed: nothing to undo. The next start finishes the job.
		return nil, fmt.Errorf("batch %s is installed, but finishing it failed (the next start will finish it): %w", j.Batch, err)
	}
	forgetFailures(root, j)
	ended("finished", packs.OutcomeCommitted, nil)
	// Retention: the install backups beyond the newest KeepBackups go; the
	// one just taken is the protected one. A failure here loses nothing.
	var pruned []string
	if opts.KeepBackups > 0 && j.Backup != "" {
		pruned, _ = backupstore.PruneReason(root, opts.KeepBackups, "install")
	}
	batch := batchOf(j, r)
	batch.Migrations = applied
	batch.Pruned = pruned
	return batch, nil
}

// batchPacks loads the batch's packs from their folders in packs/, in
// install order.
func batchPacks(root layout.Root, j *journal) ([]packs.Pack, error) {
	var out []packs.Pack
	for _, p := range j.Packs {
		in, err := packs.Read(root.Pack(p.Pack))
		if err != nil {
			return nil, err
		}
		pk, err := packs.LoadPack(in)
		if err != nil {
			return nil, err
		}
		out = append(out, pk)
	}
	return out, nil
}

// migrateBatch runs the migrations of the batch's packs and records each
// pack at its new version. Where DDL is transactional (SQLite,
// PostgreSQL) a failed or killed run leaves nothing behind. Where it is not
// (MySQL/MariaDB), the packs' tables are exported first and the export is
// named in the journal before any migration runs, so that a failure, or the
// recovery after a kill, can put them back (see restoreExport).
func migrateBatch(ctx context.Context, opts Options, root layout.Root, b batchPaths, j *journal, rec *packs.BatchRecord) ([]AppliedMigration, error) {
	code, err := batchPacks(root, j)
	if err != nil {
		return nil, err
	}
	db, err := packs.Open(ctx, opts.DB, root.Dir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if db.Backend() == "mysql" {
		if j.Export, err = db.Export(ctx, code, ""); err != nil {
			return nil, err
		}
		if err := b.save(j); err != nil {
			return nil, err
		}
	}
	res, err := db.Up(ctx, packs.UpOptions{Packs: code, NoBackup: true, LockTimeout: opts.LockTimeout, Batch: rec})
	if err != nil {
		return nil, err
	}
	return appliedOf(res), nil
}

// restoreExport puts back the tables exported before the batch's
// migrations, where the backend needed an export (j.Export).
func restoreExport(ctx context.Context, opts Options, root layout.Root, j *journal) error {
	if j.Export == "" {
		return nil
	}
	db, err := packs.Open(ctx, opts.DB, root.Dir)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.RestoreExport(ctx, j.Export); err != nil {
		return fmt.Errorf("put back the tables exported to %s: %w", j.Export, err)
	}
	return nil
}

func appliedOf(res *packs.Result) []AppliedMigration {
	var out []AppliedMigration
	for _, a := range res.Applied {
		out = append(out, AppliedMigration{Pack: a.Pack, Version: a.Version, Name: a.Name})
	}
	return out
}

// dbState reads, for each pack of the batch, the version and schema
// version the database records.
func dbState(ctx context.Context, opts Options, root layout.Root, j *journal) (map[string]packs.PackStatus, error) {
	db, err := packs.Open(ctx, opts.DB, root.Dir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var names []packs.Pack
	for _, p := range j.Packs {
		names = append(names, packs.Pack{Name: p.Pack, Version: p.Version})
	}
	st, err := db.Status(ctx, names)
	if err != nil {
		return nil, err
	}
	out := map[string]packs.PackStatus{}
	for _, ps := range st.Packs {
		out[ps.Pack] = ps
	}
	return out, nil
}

// batchCommitted tells whether the database recorded the batch: every
// pack of it at its new version.
func batchCommitted(ctx context.Context, opts Options, root layout.Root, j *journal) (bool, error) {
	st, err := dbState(ctx, opts, root, j)
	if err != nil {
		return false, fmt.Errorf("cannot tell whether batch %s committed: %w", j.Batch, err)
	}
	for _, p := range j.Packs {
		if st[p.Pack].Version != p.Version {
			return false, nil
		}
	}
	return true, nil
}

// storeBackup takes backups with package backupstore.
func storeBackup(opts Options, root layout.Root, r *Report) func(context.Context, string) (string, error) {
	return func(ctx context.Context, reason string) (string, error) {
		versions := map[string]string{}
		for _, p := range r.Installed {
			versions[p.Pack] = p.Version
		}
		b, err := backupstore.Create(ctx, backupstore.CreateOptions{
			Root: root, Reason: reason, UpkeepVersion: opts.UpkeepVersion, Packs: versions,
			DB: opts.DB, Progress: opts.Progress,
		})
		if err != nil {
			return "", err
		}
		return b.ID, nil
	}
}

// installBackupID matches the IDs of the backups taken before installs:
// STAMP_install, or STAMP_install-N when the name was taken.
var installBackupID = regexp.MustCompile(`_install(-\d+)?$`)

// protectBackup makes the backup taken before this batch the one that
// pruning never removes: the backup of the last install.
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

// stageOne extracts u into staging: into <pack>.part, renamed to <pack>
// once whole. When keys are trusted it checks the signature again, of the
// very file it then extracts, so that a zip replaced since the scan is
// refused, not installed.
func stageOne(opts Options, keys *signing.Keyring, u *Update, b batchPaths, meter *progress.Meter, diskFull bool) error {
	f, err := os.Open(u.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if keys.Len() > 0 {
		if res := keys.CheckFile(f, u.path); res.Refused {
			return fmt.Errorf("%w: %s", ErrRefused, res.Problem)
		}
	}
	part := b.part(u.Pack)
	if err := os.RemoveAll(part); err != nil {
		return err
	}
	if err := stage(f, u.path, part, opts.Limits, meter, diskFull); err != nil {
		return err
	}
	return os.Rename(part, b.staged(u.Pack))
}

// finish completes a committed batch: it moves each zip (and its
// signature) to Updates_Installed, then removes the batch's folders and
// journal. Each step can be run again after a crash.
func finish(b batchPaths, j *journal, f faults) error {
	root := b.root
	if j.Backup != "" {
		if err := protectBackup(root, j.Backup); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(root.Installed(), 0o755); err != nil {
		return err
	}
	for _, p := range j.Packs {
		src, dst := filepath.Join(root.Pending(), p.Zip), filepath.Join(root.Installed(), p.Installed)
		if err := move(src, dst); err != nil {
			return err
		}
		if err := move(src+signing.SigExt, dst+signing.SigExt); err != nil {
			return err
		}
		if err := f.at("move:" + p.Zip); err != nil {
			return err
		}
	}
	for _, d := range []string{root.Installed(), root.Pending()} {
		if err := atomicfile.SyncDir(d); err != nil {
			return err
		}
	}
	if err := f.at("moved"); err != nil {
		return err
	}
	if err := b.clear(); err != nil {
		return err
	}
	return f.at("clean")
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

// undo puts the root back as it was before the batch: each pack's folder
// swapped back, in reverse order, then the batch's folders removed. It can
// be run again after a crash at any point of itself.
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

// preflight refuses a batch whose staging would not fit on the disk.
func preflight(root layout.Root, ready []*Update) error {
	var need uint64
	for _, u := range ready {
		for _, f := range u.manifest.Files {
			need += uint64(f.Size)
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(root.State(), &st); err != nil {
		return fmt.Errorf("free space of %s: %w", root.State(), err)
	}
	if avail := st.Bavail * uint64(st.Bsize); need+need/10 > avail {
		return fmt.Errorf("%w: staging the batch needs %s in %s, %s is free", ErrNoSpace, bytesText(need+need/10), root.State(), bytesText(avail))
	}
	return nil
}

// syncFS makes everything written to the file system of dir durable.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// stamp is the UTC time format of batch IDs and installed zip names.
const stamp = "20060102T150405Z"

// installedName is the name zip gets in Updates_Installed: the UTC time
// added, and a number when that name is taken, so nothing is overwritten.
func installedName(root layout.Root, zip string, now time.Time, taken map[string]bool) (string, error) {
	base := strings.TrimSuffix(zip, filepath.Ext(zip))
	for n := 1; n < 1000; n++ {
		name := fmt.Sprintf("%s_%s.zip", base, now.Format(stamp))
		if n > 1 {
			name = fmt.Sprintf("%s_%s-%d.zip", base, now.Format(stamp), n)
		}
		if !taken[name] && !exists(filepath.Join(root.Installed(), name)) {
			taken[name] = true
			return name, nil
		}
	}
	return "", fmt.Errorf("no free name for %s in %s", zip, root.Installed())
}

func batchOf(j *journal, r *Report) *Batch {
	from := map[string]string{}
	for _, p := range r.Installed {
		from[p.Pack] = p.Version
	}
	b := &Batch{ID: j.Batch, Backup: j.Backup}
	for _, p := range j.Packs {
		b.Updates = append(b.Updates, InstalledZip{Pack: p.Pack, From: from[p.Pack], To: p.Version, Zip: p.Zip, Installed: p.Installed})
	}
	return b
}

func bytesText(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
