package updates

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/internal/lock"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

// Mode is what the start does with Updates_Pending.
type Mode int

const (
	// Check reports what is pending and stops the start when anything is.
	Check Mode = iota
	// Install installs the ready updates as one batch, then goes on.
	Install
	// Ignore goes on without looking at Updates_Pending.
	Ignore
)

// DefaultLockTimeout is how long a start waits for the root's lock.
const DefaultLockTimeout = time.Minute

// Options configures [Bootstrap].
type Options struct {
	ScanOptions
	Mode Mode

	// LockTimeout bounds the wait for the root's lock; 0 is
	// DefaultLockTimeout.
	LockTimeout time.Duration

	// NoBackup installs without taking a backup first.
	NoBackup bool

	// DB is the application's database: "" for sqlite:data/app.db in the
	// root, sqlite:PATH, postgres://... or mysql://... (see [packs.Open]).
	DB string

	// MigrateDB applies the migrations a pack's code needs instead of
	// stopping the start with [packs.ErrDatabaseBehind].
	MigrateDB bool

	// Packs are packs compiled into the application (migrations from an
	// fs.FS or Go code, see package packs), besides those installed in the
	// root's packs/ folder.
	Packs []packs.Pack

	// DryRun, with Mode Install, works out what the install would do
	// (Report.DryRun) and changes nothing: no folder is created, no lock
	// file, no recovery, no migration. It returns a [*PendingError] when
	// zips are pending and none is ready.
	DryRun bool

	// KeepBackups, after a batch commits, removes the install backups
	// beyond the KeepBackups newest (the backup of the last install is
	// always kept); 0 keeps all.
	KeepBackups int

	// UpkeepVersion is recorded in backups.
	UpkeepVersion string

	// Progress, when not nil, shows the progress of long work (backup):
	// a bar on a terminal, plain lines otherwise.
	Progress io.Writer

	// Fetch, when not nil, fetches what a feed offers into Updates_Pending
	// (see [Fetch]) after recovery and before the scan (--fetch-updates).
	// A failed fetch does not stop the start: Report.Fetch.Error says why,
	// and the start goes on with what Updates_Pending holds.
	Fetch *FeedOptions

	// Backup takes the backup before a batch and returns its ID; nil takes
	// it with package backupstore into Updates_Backups.
	Backup func(ctx context.Context, reason string) (id string, err error)
}

// Bootstrap is the application's start. It creates the root's missing
// folders, takes the root's lock, finishes or undoes a batch that an earlier
// run left unfinished (Report.Recovery says which), and then, by mode:
//   - Check: scans Updates_Pending; when it holds update zips, returns the
//     report and a [*PendingError], which matches [ErrPending]: nothing was
//     changed, and the application must not start.
//   - Install: scans, installs the ready updates as one batch
//     (Report.Batch), and returns the report of what is left. A failed
//     batch is put back as it was and returns an [*InstallError]; one that
//     cannot be put back, a [*ManualError].
//   - Ignore: does not look at Updates_Pending.
//
// Then, in every mode, it checks the database of every installed pack:
// Report.Database. A pack whose database is behind its code stops the
// start with an error matching [packs.ErrDatabaseBehind], unless MigrateDB
// is set; one whose database is ahead, with [packs.ErrDowngrade].
//
// A nil error means the application may start. The lock is released when
// Bootstrap returns.
func Bootstrap(ctx context.Context, opts Options) (*Report, error) {
	root, err := layout.Open(opts.Root)
	if err != nil {
		return nil, err
	}
	if opts.DryRun && opts.Mode == Install {
		// Nothing is written: not even the lock file or a folder.
		opts.Root = root.Dir
		return dryRunStep(ctx, opts, root)
	}
	if err := root.Ensure(); err != nil {
		return nil, err
	}
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = DefaultLockTimeout
	}
	what := map[Mode]string{Check: "check", Install: "install", Ignore: "start"}[opts.Mode]
	l, err := lock.Acquire(ctx, root.Lock(), what, timeout)
	if err != nil {
		return nil, err
	}
	defer l.Release()

	restored, err := backupstore.Recover(ctx, root, opts.DB)
	if err != nil {
		return nil, fmt.Errorf("recover the interrupted restore: %w", err)
	}
	rec, err := recoverBatch(ctx, opts, root)
	if err != nil {
		return nil, err
	}
	if restored != nil {
		rec = restoreRecovery(restored)
	}
	opts.Root = root.Dir
	var fetched *FetchReport
	if opts.Fetch != nil {
		res, err := fetchLocked(ctx, root, opts.ScanOptions, *opts.Fetch)
		fetched = &FetchReport{Result: res}
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			fetched.Error = err.Error()
		}
	}
	r, err := updatesStep(ctx, opts, root)
	if r != nil {
		r.Recovery = rec
		r.Fetch = fetched
	}
	if err != nil {
		return r, err
	}
	r.Database, err = checkDatabase(ctx, opts, root)
	return r, err
}

// updatesStep does what the mode says with Updates_Pending.
func updatesStep(ctx context.Context, opts Options, root layout.Root) (*Report, error) {
	switch opts.Mode {
	case Ignore:
		return &Report{Root: root.Dir}, nil
	case Check:
		r, err := Scan(ctx, opts.ScanOptions)
		if err != nil {
			return nil, err
		}
		if len(r.Updates) > 0 {
			return r, &PendingError{Count: len(r.Updates), Dir: root.Pending()}
		}
		return r, nil
	case Install:
		r, err := Scan(ctx, opts.ScanOptions)
		if err != nil {
			return nil, err
		}
		batch, err := install(ctx, opts, root, r)
		if err != nil || batch == nil {
			return r, err
		}
		// Report what is left in Updates_Pending after the batch.
		left, err := Scan(ctx, opts.ScanOptions)
		if err != nil {
			return nil, err
		}
		left.Batch = batch
		return left, nil
	default:
		return nil, fmt.Errorf("updates: unknown mode %d", opts.Mode)
	}
}
