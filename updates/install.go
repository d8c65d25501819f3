package updates

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/internal/diskspace"
	"github.com/upkeep/upkeep/internal/progress"
	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/manifest"
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
	// Steps are the batch's steps with the time each took, in order.
	Steps []StepTime `json:"steps,omitempty"`
	// Health is the health check run after the commit; nil without one.
	Health *HealthResult `json:"health,omitempty"`
}

// InstalledZip is one update of a committed batch.
type InstalledZip struct {
	Pack      string `json:"pack"`
	From      string `json:"from,omitempty"` // "" for a new pack
	To        string `json:"to"`
	Zip       string `json:"zip"`       // its name in Updates_Pending
	Installed string `json:"installed"` // its name in Updates_Installed
	// FilesOnly: the update has migrations, but the database was at its
	// schema already (another host sharing it installed the version
	// first), so only its files were installed; MigratedBy names that
	// host's batch.
	FilesOnly  bool        `json:"files_only,omitempty"`
	MigratedBy *MigratedBy `json:"migrated_by,omitempty"`
}

// batchRun is one batch on its forward path. The path is a list of steps
// (forward): back up, journal, stage each pack, swap each pack in, migrate
// (the commit), then finish (finishSteps, shared with recovery). Until
// the commit, a failure puts everything back (rollback, shared with
// recovery); after it, the batch is installed and only finishing is left.
type batchRun struct {
	opts   Options
	root   layout.Root
	paths  batchPaths
	j      *journal
	report *Report
	ready  []*Update
	faults faults

	meter     *progress.Meter
	keys      *signing.Keyring
	applied   []AppliedMigration
	timings   []StepTime
	committed bool     // the database recorded the batch: it is never undone
	flush     *flusher // makes the staged files durable, from the journal on

	rec packs.BatchRecord // the batch's row in upkeep_batches
}

// install installs the ready updates of r as one batch, holding the root's
// lock. On failure it puts everything back and returns an *InstallError;
// when it cannot, a *ManualError.
func install(ctx context.Context, opts Options, root layout.Root, r *Report) (*Batch, error) {
	b, err := newBatchRun(opts, root, r)
	if b == nil || err != nil {
		return nil, err
	}
	defer func() { b.flush.close() }()
	// No batch while another host migrates the database.
	db, release, err := openDB(ctx, opts, root)
	if err != nil {
		return nil, err
	}
	err = honourMaintenance(ctx, opts, root, db)
	release()
	if err != nil {
		return nil, err
	}
	// The batch's row in upkeep_batches: running now; committed in the
	// migrations' transaction; how it ended, at the end.
	host, err := EnsureHostID(root)
	if err != nil {
		return nil, &InstallError{Batch: b.j.Batch, Step: "history", Err: err}
	}
	if b.rec, err = startBatch(ctx, opts, root, b.j, host, b.from()); err != nil {
		return nil, &InstallError{Batch: b.j.Batch, Step: "history", Err: err}
	}
	// An interrupt (ctx ends) stops the forward path before its commit and
	// puts everything back; once committed, the batch is finished anyway,
	// as the next start would finish it.
	s, err := runSteps(ctx, b.timed(b.forward()), b.faults)
	if err == nil {
		s, err = runSteps(context.WithoutCancel(ctx), b.timed(finishSteps(b.paths, b.j, b.faults)), b.faults)
	}
	if err != nil {
		if b.committed {
			// Nothing to undo: the next start finishes the job.
			err = fmt.Errorf("batch %s is installed, but finishing it failed at %s (the next start will finish it): %w", b.j.Batch, s.name, err)
			b.ended(ctx, string(b.j.Phase), packs.OutcomeCommitted, err)
			return nil, err
		}
		err = b.fail(ctx, s, err)
		outcome := packs.OutcomeRolledBack
		if errors.Is(err, ErrManual) {
			outcome = packs.OutcomeManual
		}
		b.ended(ctx, string(b.j.Phase), outcome, err)
		return nil, err
	}
	forgetFailures(root, b.j)
	b.ended(ctx, "finished", packs.OutcomeCommitted, nil)
	batch := batchOf(b.j, r)
	batch.Migrations = b.applied
	batch.Steps = b.timings
	// Retention: the install backups beyond the newest KeepBackups go; the
	// one just taken is the protected one. A failure here loses nothing.
	if opts.KeepBackups > 0 && b.j.Backup != "" {
		batch.Pruned, _ = backupstore.PruneReason(root, opts.KeepBackups, "install")
	}
	return batch, nil
}

// from is the version of each of the batch's packs before it.
func (b *batchRun) from() map[string]string {
	from := map[string]string{}
	for _, p := range b.j.Packs {
		from[p.Pack] = p.From
	}
	return from
}

// ended records how the batch ended, in its row of upkeep_batches and,
// when it did not commit, beside its backup. Best effort: the batch's fate
// is settled already.
func (b *batchRun) ended(ctx context.Context, phase, outcome string, cause error) {
	reason := ""
	if cause != nil {
		reason = cause.Error()
	}
	rec := b.rec
	rec.Backup = b.j.Backup
	endBatch(context.WithoutCancel(ctx), b.opts, b.root, rec, phase, outcome, reason, time.Now())
	noteBackup(b.root, b.j.Backup, outcome, b.j.Batch)
}

// newBatchRun plans the batch of the ready updates of r; nil when none is
// ready.
func newBatchRun(opts Options, root layout.Root, r *Report) (*batchRun, error) {
	ready := r.Ready()
	if len(ready) == 0 {
		return nil, nil
	}
	now := time.Now().UTC()
	b := &batchRun{
		opts: opts, root: root, paths: batchPaths{root}, report: r, ready: ready, faults: loadFaults(),
		j: &journal{Batch: now.Format(stamp), Phase: phaseStaging, Started: now},
	}
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
		b.j.Packs = append(b.j.Packs, journalPack{
			Pack: u.Pack, Version: u.Version, From: from[u.Pack], Zip: u.File, Installed: name,
			HadOld: exists(root.Pack(u.Pack)),
		})
	}
	return b, nil
}

// steps is the whole path of the batch: forward, then finishing.
func (b *batchRun) steps() []step { return append(b.forward(), finishSteps(b.paths, b.j, b.faults)...) }

// forward is the batch's path up to its commit, in order.
func (b *batchRun) forward() []step {
	steps := []step{
		{name: stepPreflight, run: b.preflight},
		{name: stepBackup, run: b.backup},
		{name: stepJournal, run: b.writeJournal},
	}
	for _, u := range b.ready {
		steps = append(steps, step{name: stepStage + u.Pack, zip: u.File, run: func(ctx context.Context) error { return b.stage(ctx, u) }})
	}
	steps = append(steps,
		step{name: stepStaged, run: b.syncStaged},
		step{name: stepSwapping, run: b.beginSwap},
	)
	for _, p := range b.j.Packs {
		steps = append(steps,
			step{name: stepSwapOut + p.Pack, zip: p.Zip, run: func(context.Context) error { return b.swapOut(p) }},
			step{name: stepSwapIn + p.Pack, zip: p.Zip, run: func(context.Context) error { return b.swapIn(p) }},
		)
	}
	return append(steps,
		step{name: stepSwapped, run: b.syncSwapped},
		step{name: stepMigrate, run: b.migrate},
		step{name: stepMigrated},
		step{name: stepCommit, run: b.commit},
	)
}

// fail puts everything back after step s failed with err and returns the
// error to report: an *InstallError, or a *ManualError when putting back
// failed too.
func (b *batchRun) fail(ctx context.Context, s *step, err error) error {
	zip := s.zip
	var me *packs.MigrationError
	if zip == "" && errors.As(err, &me) {
		zip = b.j.zipOf(me.Pack)
	}
	interrupted := ctx.Err() != nil
	if interrupted {
		// Stopped by the caller (a signal): say so, as the context's
		// cause does, rather than "context canceled".
		err = context.Cause(ctx)
	}
	ierr := &InstallError{Batch: b.j.Batch, Step: s.name, Zip: zip, Err: err}
	if rerr := rollback(context.WithoutCancel(ctx), b.opts, b.paths, b.j); rerr != nil {
		return &ManualError{Batch: b.j.Batch, Backup: b.j.Backup, Cause: ierr, Err: rerr}
	}
	if !interrupted { // the zip is not at fault
		recordFailure(b.root, zip, ierr)
	}
	return ierr
}

// preflight refuses a batch whose staging would not fit on the disk, or
// whose zips could not be moved into Updates_Installed once it commits.
func (b *batchRun) preflight(context.Context) error {
	if err := b.checkMoves(); err != nil {
		return err
	}
	var need uint64
	for _, u := range b.ready {
		for _, f := range u.manifest.Files {
			need += uint64(f.Size)
		}
	}
	return diskspace.Check(nil, "updates", "staging the batch", b.root.State(), need+need/10)
}

// backup takes the backup the batch can be put back from.
func (b *batchRun) backup(ctx context.Context) error {
	if b.opts.NoBackup {
		return nil
	}
	backup := b.opts.Backup
	if backup == nil {
		backup = storeBackup(b.opts, b.root, b.report)
	}
	id, err := backup(ctx, "install")
	b.j.Backup = id
	return err
}

// writeJournal records the batch: from here on, recovery knows it.
func (b *batchRun) writeJournal(context.Context) error {
	if err := os.MkdirAll(b.paths.staging(), 0o755); err != nil {
		return err
	}
	if err := b.paths.save(b.j); err != nil {
		return err
	}
	var err error
	if b.flush, err = startFlusher(b.paths.staging()); err != nil {
		return err
	}
	var files int
	var size int64
	for _, u := range b.ready {
		for _, mf := range u.manifest.Files {
			files, size = files+1, size+mf.Size
		}
	}
	b.meter = progress.New(b.opts.Progress, "staging", files, size, progress.Options{})
	b.keys, err = signing.LoadKeyring(b.root.Trusted(), b.opts.TrustedKeys)
	return err
}

// stage extracts u into staging: into <pack>.part, renamed to <pack> once
// whole. The zip it opens must hold the manifest the batch was planned
// from (samePlan): a zip replaced since the scan is refused, not installed
// unchecked; the manifest's sha256 of each file then vouches for the rest.
// When keys are trusted it checks the signature again, of the very file it
// then extracts.
func (b *batchRun) stage(ctx context.Context, u *Update) error {
	f, err := os.Open(u.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if b.keys.Len() > 0 {
		if res := b.keys.CheckFile(f, u.path); res.Refused {
			return fmt.Errorf("%w: %s", ErrRefused, res.Problem)
		}
	}
	part := b.paths.part(u.Pack)
	if err := os.RemoveAll(part); err != nil {
		return err
	}
	planned := func(z *manifest.Zip) error { return samePlan(u, z) }
	if err := stage(ctx, f, u.path, part, b.opts.Limits, b.meter, b.faults.diskFull(stepStage+u.Pack), planned); err != nil {
		return err
	}
	return os.Rename(part, b.paths.staged(u.Pack))
}

// syncStaged makes every staged file durable, with one sync of the file
// system (the flusher's: see flusher).
func (b *batchRun) syncStaged(context.Context) error {
	b.meter.Done()
	if b.flush == nil {
		return syncFS(b.paths.staging())
	}
	return b.flush.sync()
}

// beginSwap records that the swaps begin.
func (b *batchRun) beginSwap(context.Context) error {
	b.j.Phase = phaseSwapping
	if err := b.paths.save(b.j); err != nil {
		return err
	}
	return os.MkdirAll(b.paths.oldDir(), 0o755)
}

// swapOut moves the installed folder of p aside.
func (b *batchRun) swapOut(p journalPack) error {
	if !p.HadOld {
		return nil
	}
	return os.Rename(b.root.Pack(p.Pack), b.paths.old(p.Pack))
}

// swapIn moves the staged folder of p into packs/.
func (b *batchRun) swapIn(p journalPack) error {
	return os.Rename(b.paths.staged(p.Pack), b.root.Pack(p.Pack))
}

// syncSwapped makes the swaps durable.
func (b *batchRun) syncSwapped(context.Context) error {
	for _, d := range []string{b.root.Packs(), b.paths.oldDir(), b.paths.staging()} {
		if err := atomicfile.SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// migrate runs the batch's migrations and commits it in the database (see
// migrateBatch): from then on the batch is installed.
func (b *batchRun) migrate(ctx context.Context) error {
	b.rec.Backup = b.j.Backup
	applied, err := migrateBatch(ctx, b.opts, b.root, b.paths, b.j, &b.rec, b.faults)
	if err != nil {
		return err
	}
	b.applied, b.committed = applied, true
	return nil
}

// commit records in the journal that the batch committed.
func (b *batchRun) commit(context.Context) error {
	b.j.Phase = phaseCommitted
	return b.paths.save(b.j)
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

// samePlan refuses z, u's zip as staging opened it, unless it holds the
// manifest.json the scan read and the batch was planned from.
func samePlan(u *Update, z *manifest.Zip) error {
	if z.ManifestSHA256() == u.manifestSum {
		return nil
	}
	m := z.Manifest
	what := "its manifest.json differs"
	if m.Pack != u.manifest.Pack || m.Version != u.manifest.Version {
		what = fmt.Sprintf("it now holds %s %s, not %s %s", m.Pack, m.Version, u.manifest.Pack, u.manifest.Version)
	}
	return fmt.Errorf("%s %w (%s); check the updates again", u.File, ErrChanged, what)
}
