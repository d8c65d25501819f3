package updates

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"syscall"
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
	// A start opens it once and uses that handle for everything.
	DB string

	// SQL, when not nil, is the application's own open database, of
	// Dialect, which the start uses instead of opening DB (goose's style:
	// opening is the caller's business); it is never closed. For SQLite
	// the file is the one SQL has open. For PostgreSQL and MySQL, DB must
	// still give the address when backups are taken: pg_dump and
	// mariadb-dump connect by themselves.
	SQL     *sql.DB
	Dialect packs.Dialect

	// DevDB is an empty PostgreSQL or MySQL database the drift report
	// applies the packs' schema.sql files to, to compare them with the live
	// database (Report.Database.Differences); SQLite uses memory. Without
	// it, a server database's drift report leaves schema.sql out.
	DevDB string

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

	// Health is a shell command run after a batch commits (Install mode),
	// with UPKEEP_ROOT and UPKEEP_DB set; when it fails, the batch is
	// rolled back from the backup taken before it and Bootstrap returns
	// an [*InstallError] (Step "health"). It needs the backup: NoBackup
	// with Health is refused.
	Health string
	// HealthTimeout bounds Health; 0 is DefaultHealthTimeout.
	HealthTimeout time.Duration

	// Fetch, when not nil, fetches what a feed offers into Updates_Pending
	// (see [Fetch]) after recovery and before the scan (--fetch-updates).
	// A failed fetch does not stop the start: Report.Fetch.Error says why,
	// and the start goes on with what Updates_Pending holds.
	Fetch *FeedOptions

	// Backup takes the backup before a batch and returns its ID; nil takes
	// it with package backupstore into Updates_Backups.
	Backup func(ctx context.Context, reason string) (id string, err error)

	conn *dbConn // the start's database, opened once (see openDB)
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
	if opts.Health != "" && opts.NoBackup && opts.Mode == Install {
		return nil, ErrHealthNoBackup
	}
	root, err := layout.Open(opts.Root)
	if err != nil {
		return nil, err
	}
	if opts.DryRun && opts.Mode == Install {
		// Nothing is written: not even the lock file or a folder.
		opts.Root = root.Dir
		return dryRunStep(ctx, opts, root)
	}
	// A read-only root can be checked and started from: nothing to write.
	ensureErr := root.Ensure()
	if ensureErr != nil && !errors.Is(ensureErr, syscall.EROFS) {
		return nil, ensureErr
	}
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = DefaultLockTimeout
	}
	what := map[Mode]string{Check: "check", Install: "install", Ignore: "start"}[opts.Mode]
	lockPath := root.Lock()
	var l *lock.Lock
	err = lock.ErrReadOnly
	if ensureErr == nil {
		l, err = lock.Acquire(ctx, lockPath, what, timeout)
	}
	if errors.Is(err, lock.ErrReadOnly) {
		if opts.Mode == Install {
			return nil, fmt.Errorf("%w: %s is on a read-only file system, and installing writes its packs/, %s/ and %s/ folders; checking (--check-updates) and starting (--ignore-updates) work as it is", ErrReadOnlyRoot, root.Dir, layout.InstalledDir, layout.StateDir)
		}
		l, err = lock.AcquireReadOnly(ctx, lockPath, timeout)
	}
	if err != nil {
		return nil, err
	}
	defer l.Release()

	conn := &dbConn{}
	defer conn.close()
	opts.conn = conn

	backupstore.RemoveTemp(root) // a backup killed before it finished
	restored, err := backupstore.Recover(ctx, root, opts.DB)
	if err != nil {
		return nil, fmt.Errorf("recover the interrupted restore: %w", err)
	}
	rec, err := recoverBatch(ctx, opts, root)
	if err != nil {
		return nil, err
	}
	// A rehearsal killed outright left its copy (and a scratch database's
	// contents): remove them. One still running is left alone, and a
	// failure to clean does not stop the application.
	_ = cleanRehearsal(ctx, root, opts.DB)
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
			noteDatabase(ctx, opts, root, r)
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
		noteFilesOnly(ctx, opts, root, r, batch)
		if opts.Health != "" {
			if err := checkHealth(ctx, opts, root, batch); err != nil {
				return r, err
			}
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
