package backupstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zip"

	"github.com/upkeep/upkeep/internal/dbaddr"
	"github.com/upkeep/upkeep/internal/dbsnap"
	"github.com/upkeep/upkeep/internal/journal"
	"github.com/upkeep/upkeep/internal/progress"
	"github.com/upkeep/upkeep/layout"
)

// Where Restore works, inside .upkeep/restore/ (layout.Root.Restore).
const (
	stagingDir  = "staging"  // the backup's files, extracted and verified
	asideDir    = "aside"    // the root's files, moved out of the way
	snapshotDir = "database" // the backup's database snapshot, extracted
)

// State is the phase of a restore its [Journal] records.
type State string

// Journal states, in the order Restore goes through them. See the package
// documentation for what a crash in each leaves and how to recover.
const (
	StateStaging     State = "staging"
	StateSwapping    State = "swapping"
	StateDatabase    State = "database"
	StateCleanup     State = "cleanup"
	StateRollingBack State = "rolling-back"
)

// journalFile is the restore journal of root, kept with the one journal
// helper the install journal uses too.
func journalFile(root layout.Root) journal.File[Journal, State] {
	return journal.File[Journal, State]{
		Path:    root.RestoreJournal(),
		Phases:  []State{StateStaging, StateSwapping, StateDatabase, StateCleanup, StateRollingBack},
		PhaseOf: func(j *Journal) State { return j.State },
	}
}

// Journal is .upkeep/restore/journal.json: where a restore is, and the
// plan it follows, written (atomically) before each step.
type Journal struct {
	State         State     `json:"state"`
	Backup        string    `json:"backup"`         // ID being restored
	BeforeRestore string    `json:"before_restore"` // ID of the backup taken first
	Started       time.Time `json:"started"`
	// Aside are the root paths (slash, from the root) moved to
	// .upkeep/restore/aside/PATH; In are the paths moved from
	// .upkeep/restore/staging/PATH into the root, in that order.
	Aside []string `json:"aside,omitempty"`
	In    []string `json:"in,omitempty"`
	// Database is the kind restored; SQLite the database file's absolute
	// path, whose old files are kept as PATH.upkeep-old until cleanup.
	Database string `json:"database,omitempty"`
	SQLite   string `json:"sqlite,omitempty"`
	// From is the state a rollback started from (state rolling-back).
	From State `json:"from,omitempty"`
}

// ReadJournal returns the journal of a restore that has not finished, or
// nil when there is none.
func ReadJournal(root layout.Root) (*Journal, error) {
	j, err := journalFile(root).Load()
	if err != nil {
		return nil, fmt.Errorf("backupstore: %w", err)
	}
	return j, nil
}

type restorer struct {
	ctx     context.Context
	opts    RestoreOptions
	root    layout.Root
	dir     string // .upkeep/restore
	j       Journal
	db      dbConfig
	man     *Manifest
	src     *sources // the backup's zip and those it references
	before  *Backup
	kept    []File // folders of the backup that stayed in place (they hold excluded paths)
	snap    string // extracted snapshot
	x       *excluder
	journal string
}

// Restore puts the root's files and the database back as backup
// opts.ID holds. It first takes a backup of the present state (reason
// "before-restore"), which it returns; then it extracts the backup into
// .upkeep/restore/staging, verifying every entry; then it moves the
// present files aside and the staged ones in, by rename; then it restores
// the database; then it removes what it moved aside. Files that the backup
// does not hold are gone afterwards (they are in the before-restore
// backup); excluded paths, upkeep's folders and the database files are
// left alone. On a failure after the root was touched it puts everything
// back and returns a [*RestoreError]. The caller holds the root's lock.
func Restore(ctx context.Context, opts RestoreOptions) (*Backup, error) {
	r := &restorer{ctx: ctx, opts: opts, root: opts.Root, dir: opts.Root.Restore()}
	r.journal = r.root.RestoreJournal()
	if j, err := ReadJournal(r.root); err != nil {
		return nil, err
	} else if j != nil {
		return nil, fmt.Errorf("%w: %s is in state %q (restoring %s; the state before it is backup %s); Recover puts the root back",
			ErrRestoreInProgress, r.journal, j.State, j.Backup, j.BeforeRestore)
	}
	// No journal: anything left in .upkeep/restore is from a crash before
	// the first journal write, when nothing in the root had changed.
	if err := os.RemoveAll(r.dir); err != nil {
		return nil, fmt.Errorf("backupstore: clear %s: %w", r.dir, err)
	}

	src, man, err := openBackup(r.root, opts.ID)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	r.src, r.man = src.sources, man
	if r.man.Kind == KindTables {
		return nil, fmt.Errorf("%w: backup %s holds the tables of %s; put them back with OpenTables and packs' RestoreTables", ErrTablesBackup, opts.ID, strings.Join(r.man.Tables, ", "))
	}
	// Entries present and of the right type, before anything is touched.
	if ps := checkEntries(r.src, r.man, func(_ string, f *zip.File, want File) error { return checkType(f, want) }); len(ps) > 0 {
		return nil, &VerifyError{ID: opts.ID, Problems: ps}
	}
	if r.db, err = parseDB(r.root, opts.DB, opts.SQL, r.fail); err != nil {
		return nil, err
	}
	// The database files are left alone by the file swap even when the
	// backup holds no snapshot (then the database is not restored at all).
	if r.x, err = newExcluder(opts.Exclude, r.db.excludedPaths()); err != nil {
		return nil, err
	}
	if err := r.checkDatabase(); err != nil {
		return nil, err
	}
	var needed uint64 = 1 << 20
	for _, f := range r.man.Files {
		needed += uint64(f.Size)
	}
	if s := r.man.Database.Snapshot; s != nil {
		needed += 2 * uint64(s.Size)
	}
	if err := os.MkdirAll(r.root.State(), 0o755); err != nil {
		return nil, fmt.Errorf("backupstore: create %s: %w", r.root.State(), err)
	}
	if err := checkSpace(opts.FreeSpace, r.root.State(), needed); err != nil {
		return nil, err
	}

	r.before, err = Create(ctx, CreateOptions{Root: r.root, Reason: ReasonBeforeRestore, UpkeepVersion: opts.UpkeepVersion,
		Packs: opts.Packs, DB: opts.DB, SQL: opts.SQL, Exclude: opts.Exclude, Progress: opts.Progress, FreeSpace: opts.FreeSpace, Now: opts.Now,
		FilesOnly: opts.FilesOnly})
	if err != nil {
		return nil, fmt.Errorf("backupstore: back up before restoring %s: %w", opts.ID, err)
	}

	r.j = Journal{State: StateStaging, Backup: opts.ID, BeforeRestore: r.before.ID, Started: time.Now().UTC(), Database: r.man.Database.Kind}
	if opts.FilesOnly {
		r.j.Database = DBNone
	}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return r.before, fmt.Errorf("backupstore: create %s: %w", r.dir, err)
	}
	if err := r.save(); err != nil {
		return r.before, err
	}
	if err := r.stage(ctx); err != nil {
		// Nothing in the root has changed.
		os.RemoveAll(r.dir)
		return r.before, err
	}
	if err := r.swap(ctx); err != nil {
		return r.before, r.rollback(err)
	}
	r.j.State = StateCleanup
	if err := r.save(); err != nil {
		// The journal still says database: undo, as Recover would.
		r.j.State = StateDatabase
		return r.before, r.rollback(err)
	}
	if err := r.fail("cleanup"); err != nil {
		return r.before, err
	}
	if r.j.SQLite != "" {
		sqliteTool(r.j.SQLite).Finish()
	}
	if err := os.RemoveAll(r.dir); err != nil {
		return r.before, fmt.Errorf("backupstore: remove %s: %w", r.dir, err)
	}
	return r.before, syncDir(r.root.State())
}

func (r *restorer) save() error {
	return journalFile(r.root).Save(&r.j)
}

func (r *restorer) fail(step string) error {
	if r.opts.failAt != nil {
		return r.opts.failAt(step)
	}
	return nil
}

// checkDatabase refuses a restore whose database options do not fit the
// backup's snapshot.
func (r *restorer) checkDatabase() error {
	d := r.man.Database
	if r.opts.FilesOnly {
		r.db = dbConfig{kind: DBNone} // its files stay excluded (r.x)
		return nil
	}
	switch d.Kind {
	case DBNone, "":
		r.db = dbConfig{kind: DBNone} // the backup did not cover the database: leave it alone
		return nil
	case DBSQLite:
		if r.db.kind != DBSQLite {
			return fmt.Errorf("%w: backup %s holds a SQLite database (%s), the database given is %s",
				ErrDatabaseMismatch, r.opts.ID, d.Source, r.db.kind)
		}
		return nil
	}
	if r.db.kind != d.Kind {
		return fmt.Errorf("%w: backup %s holds a %s database (%s), the database given is %s",
			ErrDatabaseMismatch, r.opts.ID, d.Kind, d.Source, r.db.kind)
	}
	if d.Snapshot == nil {
		r.db = dbConfig{kind: DBNone}
	}
	return nil
}

// stage extracts and verifies the backup into .upkeep/restore/staging and
// its snapshot into .upkeep/restore/database.
func (r *restorer) stage(ctx context.Context) error {
	staging := filepath.Join(r.dir, stagingDir)
	if err := os.Mkdir(staging, 0o755); err != nil {
		return fmt.Errorf("backupstore: create %s: %w", staging, err)
	}
	var total int64
	for _, f := range r.man.Files {
		total += f.Size
	}
	meter := progress.New(r.opts.Progress, "restore", len(r.man.Files), total, progress.Options{})
	defer meter.Done()
	// Folders and symlinks first, in order; then the files, on all cores
	// (each checked against its sha256 and fsynced).
	var dirs []File
	var files []extractJob
	for _, f := range r.man.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !filepath.IsLocal(filepath.FromSlash(f.Path)) || strings.Contains(f.Path, `\`) {
			return fmt.Errorf("%w: backup.json lists a path outside the root: %q", ErrCorrupt, f.Path)
		}
		dst := filepath.Join(staging, filepath.FromSlash(f.Path))
		switch f.Type {
		case TypeDir:
			if err := os.MkdirAll(dst, 0o700); err != nil {
				return fmt.Errorf("backupstore: create %s: %w", dst, err)
			}
			dirs = append(dirs, f)
			meter.Add(1, 0)
			continue
		}
		zf, err := r.src.file(f, r.man.entryName(f))
		if err != nil {
			return Problem{r.man.entryName(f), err}
		}
		if f.Type == TypeSymlink {
			target, err := readEntry(zf, f)
			if err != nil {
				return err
			}
			if err := os.Symlink(string(target), dst); err != nil {
				return fmt.Errorf("backupstore: create symlink %s: %w", dst, err)
			}
			meter.Add(1, f.Size)
			continue
		}
		files = append(files, extractJob{zf: zf, rec: f, dst: dst})
	}
	if err := extractAll(ctx, files, meter); err != nil {
		return err
	}
	// Folder modes last, deepest first, so read-only folders could be filled.
	for i := len(dirs) - 1; i >= 0; i-- {
		f := dirs[i]
		dst := filepath.Join(staging, filepath.FromSlash(f.Path))
		if err := syncDir(dst); err != nil {
			return err
		}
		if err := os.Chmod(dst, parseMode(f.Mode)); err != nil {
			return fmt.Errorf("backupstore: chmod %s: %w", dst, err)
		}
		os.Chtimes(dst, f.Modified, f.Modified)
	}
	if err := syncDir(staging); err != nil {
		return err
	}
	if s := r.man.Database.Snapshot; s != nil && r.db.kind != DBNone {
		sdir := filepath.Join(r.dir, snapshotDir)
		if err := os.Mkdir(sdir, 0o700); err != nil {
			return fmt.Errorf("backupstore: create %s: %w", sdir, err)
		}
		r.snap = filepath.Join(sdir, path.Base(s.Path))
		zf, err := r.src.file(*s, s.Path)
		if err != nil {
			return Problem{s.Path, err}
		}
		if err := extractFile(zf, *s, r.snap, make([]byte, readSize)); err != nil {
			return err
		}
	}
	return nil
}

// extractJob is one file of a backup to extract.
type extractJob struct {
	zf  *zip.File
	rec File
	dst string
}

// extractAll extracts files with one worker per core (zip entries read
// concurrently: each has its own section of its zip) and returns the
// first error.
func extractAll(ctx context.Context, files []extractJob, meter *progress.Meter) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan *extractJob)
	var wg sync.WaitGroup
	for range min(runtimeWorkers(0), max(len(files), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, readSize)
			for j := range jobs {
				if ctx.Err() != nil {
					continue
				}
				if err := extractFile(j.zf, j.rec, j.dst, buf); err != nil {
					cancel(err)
					continue
				}
				meter.Add(1, j.rec.Size)
			}
		}()
	}
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		jobs <- &files[i]
	}
	close(jobs)
	wg.Wait()
	return context.Cause(ctx)
}

// readEntry reads a small entry (a symlink's target) and checks it.
func readEntry(zf *zip.File, want File) ([]byte, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, Problem{zf.Name, fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return nil, Problem{zf.Name, fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	sum := sha256.Sum256(data)
	if err := checkSum(int64(len(data)), sum[:], want); err != nil {
		return nil, Problem{zf.Name, err}
	}
	return data, nil
}

// extractFile writes one entry to dst, checking size and sha256 on the
// way, and fsyncs it.
func extractFile(zf *zip.File, want File, dst string, buf []byte) error {
	rc, err := zf.Open()
	if err != nil {
		return Problem{zf.Name, fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	defer rc.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backupstore: create %s: %w", dst, err)
	}
	defer out.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(out, h), rc, buf)
	if err != nil {
		if _, ok := err.(*os.PathError); ok {
			return fmt.Errorf("backupstore: write %s: %w", dst, err)
		}
		return Problem{zf.Name, fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	if err := checkSum(n, h.Sum(nil), want); err != nil {
		return Problem{zf.Name, err}
	}
	if err := out.Chmod(parseMode(want.Mode)); err != nil {
		return fmt.Errorf("backupstore: chmod %s: %w", dst, err)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("backupstore: sync %s: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("backupstore: close %s: %w", dst, err)
	}
	if !want.Modified.IsZero() {
		os.Chtimes(dst, want.Modified, want.Modified)
	}
	return nil
}

func parseMode(s string) fs.FileMode {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return 0o644
	}
	return fs.FileMode(m).Perm()
}

// swap moves the present files aside and the staged ones in, then
// restores the database.
func (r *restorer) swap(ctx context.Context) error {
	aside, _, err := movable(r.root.Dir, "", r.x)
	if err != nil {
		return err
	}
	in, err := r.planIn(aside)
	if err != nil {
		return err
	}
	r.j.State, r.j.Aside, r.j.In = StateSwapping, aside, in
	if r.db.kind == DBSQLite {
		r.j.SQLite = r.db.addr.Path
	}
	if err := r.save(); err != nil {
		return err
	}
	asideRoot := filepath.Join(r.dir, asideDir)
	staging := filepath.Join(r.dir, stagingDir)
	touched := map[string]bool{}
	for _, p := range aside {
		if err := r.fail("aside"); err != nil {
			return err
		}
		src := filepath.Join(r.root.Dir, filepath.FromSlash(p))
		dst := filepath.Join(asideRoot, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return fmt.Errorf("backupstore: create %s: %w", filepath.Dir(dst), err)
		}
		if err := os.Rename(src, dst); err != nil {
			return fmt.Errorf("backupstore: move %s aside: %w", src, err)
		}
		touched[filepath.Dir(src)], touched[filepath.Dir(dst)] = true, true
	}
	for _, p := range in {
		if err := r.fail("in"); err != nil {
			return err
		}
		src := filepath.Join(staging, filepath.FromSlash(p))
		dst := filepath.Join(r.root.Dir, filepath.FromSlash(p))
		if err := os.Rename(src, dst); err != nil {
			return fmt.Errorf("backupstore: move %s into place: %w", dst, err)
		}
		touched[filepath.Dir(dst)] = true
	}
	// Folders that stayed (they hold excluded paths) take the backup's mode.
	for _, f := range r.kept {
		p := filepath.Join(r.root.Dir, filepath.FromSlash(f.Path))
		if err := os.Chmod(p, parseMode(f.Mode)); err != nil {
			return fmt.Errorf("backupstore: chmod %s: %w", p, err)
		}
	}
	for d := range touched {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	if err := r.fail("database"); err != nil {
		return err
	}
	r.j.State = StateDatabase
	if err := r.save(); err != nil {
		return err
	}
	return r.restoreDatabase(ctx)
}

// planIn lists what moves from staging into the root once aside is out of
// the way: each staged path whose place is free, whole; into folders that
// stay (they hold excluded paths) it descends. A staged path whose place
// holds an excluded path is skipped: excluded paths are left alone.
func (r *restorer) planIn(aside []string) ([]string, error) {
	movedAside := func(p string) bool {
		for _, a := range aside {
			if p == a || strings.HasPrefix(p, a+"/") {
				return true
			}
		}
		return false
	}
	byPath := map[string]File{}
	for _, f := range r.man.Files {
		byPath[f.Path] = f
	}
	var in []string
	var walk func(rel string) error
	walk = func(rel string) error {
		des, err := os.ReadDir(filepath.Join(r.dir, stagingDir, filepath.FromSlash(rel)))
		if err != nil {
			return fmt.Errorf("backupstore: read staging: %w", err)
		}
		for _, d := range des {
			p := path.Join(rel, d.Name())
			fi, err := os.Lstat(filepath.Join(r.root.Dir, filepath.FromSlash(p)))
			free := errors.Is(err, fs.ErrNotExist) || (err == nil && movedAside(p))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("backupstore: stat %s: %w", p, err)
			}
			switch {
			case free:
				in = append(in, p)
			case fi.IsDir() && d.IsDir() && !r.x.excluded(p, fi.Mode()):
				r.kept = append(r.kept, byPath[p])
				if err := walk(p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return in, walk("")
}

// restoreDatabase puts the snapshot in place of the database (for SQLite,
// r.snap "" when the backup found no database file: it is moved aside).
func (r *restorer) restoreDatabase(ctx context.Context) error {
	switch r.db.kind {
	case DBNone:
		return nil
	case DBSQLite:
	default:
		if err := r.fail("server"); err != nil {
			return err
		}
	}
	return r.db.load(ctx, r.snap)
}

// rollback undoes a failed swap: the database first, then the staged files
// go back to staging and the moved-aside ones to their place. It returns
// the *RestoreError to report.
func (r *restorer) rollback(cause error) error {
	re := &RestoreError{ID: r.opts.ID, BeforeRestore: r.before.ID, Err: cause}
	if r.j.State == StateStaging {
		// Nothing in the root changed.
		os.RemoveAll(r.dir)
		re.RolledBack = true
		return re
	}
	r.j.From, r.j.State = r.j.State, StateRollingBack
	if err := r.save(); err != nil {
		re.Err = errors.Join(cause, err)
		return re
	}
	if err := r.undo(context.WithoutCancel(r.ctx)); err != nil {
		re.Err = errors.Join(cause, err)
		return re // the journal stays, in state rolling-back
	}
	re.RolledBack = true
	return re
}

// undo puts the root and the database back as they were before the
// restore, following the journal, and removes .upkeep/restore. Every step
// looks at the disk first, so undo can run again after a crash in it.
func (r *restorer) undo(ctx context.Context) error {
	var errs []error
	if r.j.From == StateDatabase {
		if err := r.rollbackDatabase(ctx); err != nil {
			errs = append(errs, err)
		}
	} else if r.j.SQLite != "" {
		if err := sqliteTool(r.j.SQLite).Undo(ctx); err != nil {
			errs = append(errs, fmt.Errorf("backupstore: %w", err))
		}
	}
	staging := filepath.Join(r.dir, stagingDir)
	asideRoot := filepath.Join(r.dir, asideDir)
	for _, p := range slices.Backward(r.j.In) {
		dst := filepath.Join(r.root.Dir, filepath.FromSlash(p))
		src := filepath.Join(staging, filepath.FromSlash(p))
		if _, err := os.Lstat(src); err == nil {
			continue // never moved in
		}
		if _, err := os.Lstat(dst); err != nil {
			continue
		}
		if err := os.Rename(dst, src); err != nil {
			errs = append(errs, fmt.Errorf("backupstore: move %s back to staging: %w", dst, err))
		}
	}
	for _, p := range slices.Backward(r.j.Aside) {
		src := filepath.Join(asideRoot, filepath.FromSlash(p))
		dst := filepath.Join(r.root.Dir, filepath.FromSlash(p))
		if _, err := os.Lstat(src); err != nil {
			continue // never moved aside
		}
		if err := os.Rename(src, dst); err != nil {
			errs = append(errs, fmt.Errorf("backupstore: move %s back: %w", dst, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := syncDir(r.root.Dir); err != nil {
		return err
	}
	if err := os.RemoveAll(r.dir); err != nil {
		return fmt.Errorf("backupstore: remove %s: %w", r.dir, err)
	}
	return syncDir(r.root.State())
}

// sqliteTool is the tooling of the SQLite file at path, as a journal
// names it.
func sqliteTool(path string) dbsnap.Tool {
	return dbsnap.For(dbaddr.Addr{Kind: dbaddr.SQLite, Path: path}, dbsnap.Options{})
}

// rollbackDatabase puts the database back as it was before the restore
// began: SQLite from its .upkeep-old files; PostgreSQL needs nothing (the
// load ran in one transaction); MySQL reloads the before-restore snapshot.
func (r *restorer) rollbackDatabase(ctx context.Context) error {
	if r.db.tool == nil {
		return nil
	}
	err := r.db.tool.Undo(ctx)
	if !errors.Is(err, dbsnap.ErrReload) {
		if err != nil {
			return fmt.Errorf("backupstore: %w", err)
		}
		return nil
	}
	dump := filepath.Join(r.dir, "before-restore.sql")
	beforePath := filepath.Join(r.root.Backups(), r.j.BeforeRestore+".zip")
	zrc, err := zip.OpenReader(beforePath)
	if err != nil {
		return fmt.Errorf("backupstore: open before-restore backup %s: %w", beforePath, err)
	}
	defer zrc.Close()
	m, err := readManifest(&zrc.Reader, beforePath)
	if err != nil {
		return err
	}
	if m.Database.Snapshot == nil {
		return fmt.Errorf("backupstore: before-restore backup %s has no database snapshot", r.j.BeforeRestore)
	}
	for _, f := range zrc.File {
		if f.Name == m.Database.Snapshot.Path {
			os.Remove(dump)
			if err := extractFile(f, *m.Database.Snapshot, dump, make([]byte, readSize)); err != nil {
				return err
			}
			return r.db.load(ctx, dump)
		}
	}
	return fmt.Errorf("backupstore: before-restore backup %s lacks %s", r.j.BeforeRestore, m.Database.Snapshot.Path)
}

// Recover finishes what an interrupted [Restore] left in .upkeep/restore
// (a crash, a kill, a power loss) and returns the journal it acted on, or
// nil when there was nothing to do. In state cleanup the restore had
// finished: Recover removes what is left. In every other state it puts the
// root and the database back as they were before that restore, as the
// package documentation describes. db is the database, as in
// [RestoreOptions.DB]; it matters only for a MySQL database interrupted in
// state database, which is reloaded from the before-restore backup. The
// caller holds the root's lock. A Recover that fails can be run again.
func Recover(ctx context.Context, root layout.Root, db string) (*Journal, error) {
	r := &restorer{root: root, dir: root.Restore()}
	r.journal = r.root.RestoreJournal()
	j, err := ReadJournal(root)
	if err != nil || j == nil {
		if err == nil {
			// No journal: leftovers from before the first journal write
			// (none on a read-only root, where RemoveAll would fail).
			if _, serr := os.Lstat(r.dir); serr == nil {
				err = os.RemoveAll(r.dir)
			}
		}
		return nil, err
	}
	r.j = *j
	switch j.State {
	case StateStaging:
		return j, os.RemoveAll(r.dir)
	case StateCleanup:
		if j.SQLite != "" {
			sqliteTool(j.SQLite).Finish()
		}
		if err := os.RemoveAll(r.dir); err != nil {
			return j, fmt.Errorf("backupstore: remove %s: %w", r.dir, err)
		}
		return j, syncDir(root.State())
	case StateDatabase:
		r.j.From = StateDatabase
	case StateSwapping, StateRollingBack:
	default:
		return j, fmt.Errorf("backupstore: %s has unknown state %q", r.journal, j.State)
	}
	if r.j.From == StateDatabase {
		switch {
		case j.SQLite != "":
			r.db = dbConfig{kind: DBSQLite, addr: dbaddr.Addr{Kind: dbaddr.SQLite, Path: j.SQLite}, tool: sqliteTool(j.SQLite)}
		case j.Database == DBMySQL:
			if r.db, err = parseDB(root, db, nil, nil); err != nil {
				return j, err
			}
			if r.db.kind != DBMySQL {
				return j, fmt.Errorf("%w: the interrupted restore was of a MySQL database, the database given is %s", ErrDatabaseMismatch, r.db.kind)
			}
		}
	}
	if j.State != StateRollingBack {
		r.j.State = StateRollingBack
		if err := r.save(); err != nil {
			return j, err
		}
	}
	if err := r.undo(ctx); err != nil {
		return j, fmt.Errorf("backupstore: recover from interrupted restore of %s (the state before it is backup %s): %w", j.Backup, j.BeforeRestore, err)
	}
	return j, nil
}
