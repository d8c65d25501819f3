package updates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/upkeep/upkeep/internal/dbaddr"
	"github.com/upkeep/upkeep/internal/dbsnap"
	"github.com/upkeep/upkeep/internal/lock"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

// ErrRehearsalFailed is matched by a [*RehearsalError]: the pending batch
// failed to install on the copy, or the health command failed there.
// Production was not changed. The CLI exits 6.
var ErrRehearsalFailed = errors.New("updates: rehearsal failed")

// ErrRehearsalRunning is returned by [Rehearse] when another rehearsal of
// the root is running.
var ErrRehearsalRunning = errors.New("updates: another rehearsal of this root is running")

// RehearsalError says at which step a rehearsal failed.
type RehearsalError struct {
	Step string // "install" or "health"
	Err  error
}

func (e *RehearsalError) Error() string {
	return fmt.Sprintf("rehearsal failed at %s: %v; production was not changed", e.Step, e.Err)
}

func (e *RehearsalError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrRehearsalFailed) true.
func (e *RehearsalError) Is(target error) bool { return target == ErrRehearsalFailed }

// RehearseOptions configures [Rehearse].
type RehearseOptions struct {
	ScanOptions
	// DB is production's database, as in [Options].
	DB string
	// ScratchDB is an empty PostgreSQL or MySQL database the copy of a
	// server database is loaded into; never production. Unused for SQLite,
	// whose snapshot is a file in the copy.
	ScratchDB string
	// Health is run on the copy after the batch, with UPKEEP_ROOT,
	// UPKEEP_DB and UPKEEP_REHEARSAL=1 pointing at it; "" runs none.
	Health        string
	HealthTimeout time.Duration
	// Keep leaves the copy (and the scratch database's contents) in place.
	Keep bool
	// LockTimeout bounds the wait for the root's lock, held while the
	// root and database are copied; 0 is DefaultLockTimeout.
	LockTimeout time.Duration
	Progress    io.Writer
}

// Rehearsal is what [Rehearse] did.
type Rehearsal struct {
	Root   string `json:"root"` // the copy (gone unless kept)
	DB     string `json:"db"`   // the copy's database
	Kept   bool   `json:"kept"`
	Passed bool   `json:"passed"`
	// Steps are the rehearsal's steps with their times: the copy, the
	// snapshot, each step of the install, the health check.
	Steps []StepTime `json:"steps"`
	// Batch is what the install did on the copy; nil when nothing was
	// ready or it failed.
	Batch *Batch `json:"batch,omitempty"`
	// Migrations are the migrations the batch ran on the copy, with their
	// times: the database part of the downtime to expect.
	Migrations []AppliedMigration `json:"migrations"`
	// SchemaBefore and SchemaAfter describe the copy's tables before and
	// after the batch; SchemaChanges and SchemaSQL say what changed.
	SchemaBefore  []string           `json:"schema_before"`
	SchemaAfter   []string           `json:"schema_after"`
	SchemaChanges []string           `json:"schema_changes"`
	SchemaSQL     []string           `json:"schema_sql"`
	Health        *HealthResult      `json:"health,omitempty"`
	Error         string             `json:"error,omitempty"`
	Updates       []InstalledZipPlan `json:"updates"`
	TotalMS       int64              `json:"total_ms"`
}

// InstalledZipPlan is one update the rehearsal installed on the copy.
type InstalledZipPlan struct {
	Pack string `json:"pack"`
	From string `json:"from,omitempty"`
	To   string `json:"to"`
	Zip  string `json:"zip"`
}

// rehearsalState is state.json of a running rehearsal.
type rehearsalState struct {
	ScratchDB string    `json:"scratch_db,omitempty"`
	Started   time.Time `json:"started"`
}

// Rehearse installs the pending batch on a copy of the root and its
// database and reports how it went, without changing production: the
// root's files are copied (a reflink where the file system can, a copy
// otherwise; never a hard link) to .upkeep/rehearsal/root, except
// Updates_Backups and Updates_Installed; the database is snapshotted into
// the copy (SQLite: VACUUM INTO) or dumped and loaded into opts.ScratchDB
// (PostgreSQL, MySQL). The install is the real one (Bootstrap in install
// mode, without a backup, on the copy), then opts.Health runs against the
// copy. The copy is removed, and the scratch database emptied, at the end,
// on failure and on cancellation, unless opts.Keep is set; a rehearsal
// killed outright is cleaned by the next start.
//
// It returns the report and, when the batch or the health check failed on
// the copy, a [*RehearsalError]. Other errors (a scratch database that is
// production or not empty, a root that cannot be copied) come without a
// report's verdict.
func Rehearse(ctx context.Context, opts RehearseOptions) (*Rehearsal, error) {
	start := time.Now()
	root, err := layout.Open(opts.Root)
	if err != nil {
		return nil, err
	}
	prod, err := dbaddr.Parse(opts.DB, root.Dir)
	if err != nil {
		return nil, err
	}
	if prod.Kind != dbaddr.SQLite {
		if opts.ScratchDB == "" {
			return nil, fmt.Errorf("%w: rehearsing on %s database %s needs --scratch-db URL, an empty database of the same kind", packs.ErrBadDevDB, prod.Kind, prod)
		}
		if err := packs.CheckScratch(ctx, opts.ScratchDB, opts.DB, root.Dir); err != nil {
			return nil, err
		}
		sa, err := dbaddr.Parse(opts.ScratchDB, root.Dir)
		if err != nil {
			return nil, err
		}
		if sa.Kind != prod.Kind {
			return nil, fmt.Errorf("%w: --scratch-db is %s, the database is %s", packs.ErrBadDevDB, sa.Kind, prod.Kind)
		}
	} else if opts.ScratchDB != "" {
		return nil, fmt.Errorf("%w: --scratch-db is for PostgreSQL and MySQL; a SQLite database is copied into the rehearsal's folder", packs.ErrBadDevDB)
	}

	dir := root.Rehearsal()
	if err := cleanRehearsal(ctx, root, opts.DB); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	rl, err := lock.Acquire(ctx, filepath.Join(dir, "lock"), "rehearse", 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRehearsalRunning, err)
	}
	rh := &Rehearsal{Root: filepath.Join(dir, "root"), Steps: []StepTime{}, Migrations: []AppliedMigration{},
		SchemaBefore: []string{}, SchemaAfter: []string{}, SchemaChanges: []string{}, SchemaSQL: []string{}, Updates: []InstalledZipPlan{}}
	st := rehearsalState{ScratchDB: opts.ScratchDB, Started: start.UTC()}
	data, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(dir, "state.json"), data, 0o600); err != nil {
		rl.Release()
		os.RemoveAll(dir)
		return nil, err
	}
	defer func() {
		if opts.Keep {
			rh.Kept = true
		} else {
			discard(context.WithoutCancel(ctx), dir, opts.ScratchDB, opts.DB, root.Dir)
		}
		rl.Release()
		rh.DB = redactedDB(rh.DB)
		rh.TotalMS = time.Since(start).Milliseconds()
	}()

	timed := func(name string, f func() error) error {
		t := time.Now()
		err := f()
		rh.Steps = append(rh.Steps, StepTime{Step: name, DurationMS: time.Since(t).Milliseconds()})
		return err
	}

	// 1. Copy the root and snapshot the database under the root's lock, so
	// that no install runs meanwhile.
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = DefaultLockTimeout
	}
	l, err := lock.Acquire(ctx, root.Lock(), "rehearse (copying)", timeout)
	if err != nil {
		return nil, err
	}
	err = timed("copy root", func() error { return copyRoot(ctx, root, rh.Root, prod) })
	if err == nil {
		err = timed("snapshot database", func() error {
			var serr error
			rh.DB, serr = snapshotDB(ctx, prod, opts.ScratchDB, root, rh.Root)
			return serr
		})
	}
	l.Release()
	if err != nil {
		return rh, err
	}

	// 2. The schema before, the install on the copy, the schema after.
	before, err := inspectCopy(ctx, rh.DB, rh.Root)
	if err != nil {
		return rh, err
	}
	rh.SchemaBefore = before.Tables
	r, ierr := Bootstrap(ctx, Options{
		ScanOptions: ScanOptions{Root: rh.Root, TrustedKeys: opts.TrustedKeys, Limits: opts.Limits},
		Mode:        Install, NoBackup: true, DB: rh.DB, LockTimeout: opts.LockTimeout, Progress: opts.Progress,
	})
	if r != nil && r.Batch != nil {
		rh.Batch = r.Batch
		rh.Steps = append(rh.Steps, prefixed("install: ", r.Batch.Steps)...)
		rh.Migrations = append(rh.Migrations, r.Batch.Migrations...)
		for _, u := range r.Batch.Updates {
			rh.Updates = append(rh.Updates, InstalledZipPlan{Pack: u.Pack, From: u.From, To: u.To, Zip: u.Zip})
		}
	}
	if r != nil && r.Database != nil {
		rh.Migrations = append(rh.Migrations, r.Database.Applied...)
	}
	if ctx.Err() != nil {
		return rh, ctx.Err()
	}
	if after, err := inspectCopy(ctx, rh.DB, rh.Root); err == nil {
		rh.SchemaAfter = after.Tables
		if changes, stmts, err := schemaChanges(ctx, rh.DB, rh.Root, before, after); err == nil {
			rh.SchemaChanges, rh.SchemaSQL = changes, stmts
		}
	}
	if ierr != nil {
		rh.Error = ierr.Error()
		return rh, &RehearsalError{Step: "install", Err: ierr}
	}

	// 3. The health check against the copy.
	if opts.Health != "" {
		_ = timed("health", func() error {
			rh.Health = runHealth(ctx, opts.Health, opts.HealthTimeout, rh.Root, healthEnv(rh.Root, rh.DB, true))
			return nil
		})
		if ctx.Err() != nil {
			return rh, ctx.Err()
		}
		if !rh.Health.Passed {
			rh.Error = rh.Health.String()
			return rh, &RehearsalError{Step: "health", Err: errors.New(rh.Health.String())}
		}
	}
	rh.Passed = true
	return rh, nil
}

func prefixed(p string, steps []StepTime) []StepTime {
	out := make([]StepTime, len(steps))
	for i, s := range steps {
		out[i] = StepTime{Step: p + s.Step, DurationMS: s.DurationMS}
	}
	return out
}

// cleanRehearsal removes what a rehearsal that is no longer running left in
// root: its folder, and the contents of its scratch database. A running
// rehearsal (its lock held) is left alone.
func cleanRehearsal(ctx context.Context, root layout.Root, prodDB string) error {
	dir := root.Rehearsal()
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	l, err := lock.Acquire(ctx, filepath.Join(dir, "lock"), "clean a rehearsal", 0)
	if err != nil {
		if errors.Is(err, lock.ErrLocked) {
			return fmt.Errorf("%w (%v)", ErrRehearsalRunning, err)
		}
		return err
	}
	defer l.Release()
	var st rehearsalState
	if data, err := os.ReadFile(filepath.Join(dir, "state.json")); err == nil {
		json.Unmarshal(data, &st)
	}
	return discard(ctx, dir, st.ScratchDB, prodDB, root.Dir)
}

// discard empties the scratch database and removes the rehearsal's folder.
func discard(ctx context.Context, dir, scratchDB, prodDB, rootDir string) error {
	var errs []error
	if scratchDB != "" {
		if err := packs.EmptyScratch(ctx, scratchDB, prodDB, rootDir); err != nil {
			errs = append(errs, fmt.Errorf("empty the scratch database: %w", err))
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, fmt.Errorf("remove the rehearsal's copy: %w", err))
	}
	return errors.Join(errs...)
}

// copyRoot copies the root's files into dst: everything but the backups,
// the installed zips (an empty folder stands for each), upkeep's lock and
// rehearsal folder, and the SQLite database files (snapshotted apart).
func copyRoot(ctx context.Context, root layout.Root, dst string, prod dbaddr.Addr) error {
	skip := map[string]bool{
		layout.BackupsDir:   true,
		layout.InstalledDir: true,
		filepath.Join(layout.StateDir, filepath.Base(root.Rehearsal())): true,
		filepath.Join(layout.StateDir, layout.LockFile):                 true,
	}
	if prod.Kind == dbaddr.SQLite {
		if rel, err := filepath.Rel(root.Dir, prod.Path); err == nil && filepath.IsLocal(rel) {
			for _, s := range dbsnap.SQLiteSuffixes {
				skip[rel+s] = true
			}
		}
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, d := range []string{layout.BackupsDir, layout.InstalledDir} {
		if err := os.MkdirAll(filepath.Join(dst, d), 0o755); err != nil {
			return err
		}
	}
	// Folders and links are made in walk order; the files are cloned by
	// copyWorkers goroutines at once: where there is no reflink, a copy of
	// many files waits on the disk more than on the CPU.
	jobs := make(chan [2]string)
	errs := make(chan error, copyWorkers)
	var wg sync.WaitGroup
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range copyWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := cloneFile(j[0], j[1]); err != nil {
					errs <- fmt.Errorf("copy %s: %w", j[0], err)
					cancel()
					for range jobs { // drain: the walk stops at the cancel
					}
					return
				}
			}
		}()
	}
	werr := filepath.WalkDir(root.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if cctx.Err() != nil {
			return cctx.Err()
		}
		rel, err := filepath.Rel(root.Dir, path)
		if err != nil || rel == "." {
			return err
		}
		if skip[rel] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			info, err := d.Info()
			if err != nil {
				return err
			}
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			select {
			case jobs <- [2]string{path, target}:
			case <-cctx.Done():
				return cctx.Err()
			}
		}
		return nil // sockets, devices, FIFOs: not part of the root's files
	})
	close(jobs)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err // the first file that failed, rather than the cancel it caused
	}
	return werr
}

// copyWorkers is how many files copyRoot clones at once.
const copyWorkers = 8

// cloneFile copies src to a new file dst with its mode and modification
// time: a reflink where the file system can (see reflink), the bytes
// otherwise (copy_file_range on Linux, through io.Copy).
func cloneFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm())
	if err != nil {
		return err
	}
	if !reflink(out, in) {
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(dst, info.ModTime(), info.ModTime())
}

// snapshotDB copies production's database for the copy at dst and returns
// the copy's address: a SQLite file in dst (VACUUM INTO), or the scratch
// database loaded with a dump of production.
func snapshotDB(ctx context.Context, prod dbaddr.Addr, scratchDB string, root layout.Root, dst string) (string, error) {
	if prod.Kind == dbaddr.SQLite {
		path := filepath.Join(dst, "data", "rehearsal-"+filepath.Base(prod.Path))
		if rel, err := filepath.Rel(root.Dir, prod.Path); err == nil && filepath.IsLocal(rel) {
			path = filepath.Join(dst, rel)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", err
		}
		if _, err := dbsnap.For(prod, dbsnap.Options{}).Snapshot(ctx, path); err != nil {
			return "", err
		}
		return "sqlite:" + path, nil
	}
	dump := filepath.Join(filepath.Dir(dst), "dump.sql")
	if _, err := dbsnap.For(prod, dbsnap.Options{}).Snapshot(ctx, dump); err != nil {
		return "", err
	}
	defer os.Remove(dump)
	sa, err := dbaddr.Parse(scratchDB, root.Dir)
	if err != nil {
		return "", err
	}
	if err := dbsnap.For(sa, dbsnap.Options{}).Load(ctx, dump); err != nil {
		return "", fmt.Errorf("load the snapshot into the scratch database %s: %w", sa, err)
	}
	return scratchDB, nil
}

func inspectCopy(ctx context.Context, dsn, root string) (*packs.SchemaState, error) {
	db, err := packs.Open(ctx, dsn, root)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return db.Inspect(ctx)
}

func schemaChanges(ctx context.Context, dsn, root string, before, after *packs.SchemaState) ([]string, []string, error) {
	db, err := packs.Open(ctx, dsn, root)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	changes, stmts, err := db.SchemaChanges(ctx, before, after)
	if err != nil {
		return nil, nil, err
	}
	out := []string{}
	for _, c := range changes {
		out = append(out, c.String())
	}
	return out, stmts, nil
}

// redactedDB is the address shown for the copy's database.
func redactedDB(dsn string) string {
	if strings.HasPrefix(dsn, "sqlite:") {
		return dsn
	}
	if a, err := dbaddr.Parse(dsn, ""); err == nil {
		return a.String()
	}
	return dsn
}
