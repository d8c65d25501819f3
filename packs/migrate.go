package packs

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/upkeep/upkeep/internal/sqlsplit"
)

// UpOptions says what [DB.Up] migrates.
type UpOptions struct {
	// Packs is the code: the installed packs (see [LoadPacks]).
	Packs []Pack
	// Pack limits the run to one pack; "" migrates all of Packs.
	Pack string
	// To is the target schema version (with Pack only); 0 is the code's.
	To int
	// Tables keeps the export of the packs' tables taken before the run
	// (package backupstore's Tables: a backup of kind "tables" in
	// Updates_Backups); nil takes none.
	Tables TableStore
	// LockTimeout bounds the wait for the migration lock; 0 is
	// DefaultLockTimeout.
	LockTimeout time.Duration
	// RestoreOnFailure, on backends without transactional DDL, puts the
	// export taken before the run back when a migration fails, so that the
	// run leaves nothing behind there either (the tables the packs list,
	// their settings and bookkeeping, and tables the run made that no pack
	// lists are dropped; see [DB.UndoRun]). Without it
	// a failed run stops where it failed and the next Up resumes.
	RestoreOnFailure bool
	// OnExport, when set, is called with the name of the export taken
	// before the run, under the migration lock, before any migration runs;
	// an error stops the run. An install records the export in its journal
	// here, so that the recovery after a kill puts back this export, taken
	// after any other host's run, and no older one.
	OnExport func(name string) error
	// TableLockTimeout bounds how long one statement of a migration waits
	// for a lock on a table that the application holds (PostgreSQL
	// lock_timeout, MySQL lock_wait_timeout), so that a migration fails
	// instead of queueing every query behind it; 0 is no bound.
	TableLockTimeout time.Duration
	// Batch, when set, is written to upkeep_batches as the run commits,
	// in the transaction that records the run's end: where DDL is
	// transactional, the run's one transaction; elsewhere the one that
	// records its last migration. So the row says "committed" exactly
	// when the run's migrations are all recorded. Committed is set to the
	// time of the commit.
	Batch *BatchRecord
	// Maintenance says who runs, for the maintenance row a run that
	// migrates keeps on a backend without transactional DDL (see
	// [Maintenance]); Started and Renewed are set by the run. nil: this
	// machine's name and the root the DB was opened for, no host id.
	Maintenance *Maintenance
	// OnApplied, when set, is called after each migration is recorded
	// (in a run's transaction, its history row may be inserted with later
	// ones, before the transaction records the pack's version or
	// commits), before the next one runs; an error stops the run as a
	// failed migration would (the install's fault points are here).
	OnApplied func(Applied) error
}

// Result is what a run did.
type Result struct {
	Applied []Applied // in the order they ran
	Export  string    // name (backup ID) of the export taken before the run; "" if none
}

// Up migrates the packs' database schemas from whatever version they are
// at to the code's (or opts.To), in order, holding the database's migration
// lock.
//
// On SQLite and PostgreSQL every migration of the run, with its
// bookkeeping, is in one transaction: a failure leaves the database as it
// was. On MySQL/MariaDB, where DDL commits implicitly, progress is recorded
// after each statement: a failure returns a *MigrationError that says which
// statement failed and what ran before it, and the next Up resumes at that
// statement once the file is fixed (or [DB.RestoreTables] puts the export
// taken before the run back).
//
// Up refuses, before changing anything, a pack whose database is newer
// than its code (*DowngradeError) or whose applied migrations changed
// (*ChecksumError).
func (db *DB) Up(ctx context.Context, opts UpOptions) (*Result, error) {
	sel, err := selectPacks(opts.Packs, opts.Pack)
	if err != nil {
		return nil, err
	}
	if opts.To != 0 && opts.Pack == "" {
		return nil, fmt.Errorf("packs: a target version needs a pack")
	}
	return db.withLock(ctx, opts.LockTimeout, func(ctx context.Context, conn *sql.Conn, tx *sql.Tx) (_ *Result, runErr error) {
		var q querier = conn
		if tx != nil {
			q = tx
		}
		_, state, err := db.status(ctx, q, sel)
		if err != nil {
			return nil, err
		}
		type planned struct {
			p      Pack
			target int
			from   int
		}
		var plan []planned
		var concerned []Pack
		for _, p := range sel {
			target := p.CodeVersion()
			if opts.To != 0 {
				target = opts.To
			}
			ps := packStatus(p, state, target)
			if ps.Database > ps.Code {
				return nil, ps.Err()
			}
			if len(ps.Changed) > 0 {
				return nil, ps.Changed[0]
			}
			if ir := ps.Interrupted; ir != nil && ir.Version == ps.Database {
				return nil, fmt.Errorf("packs: pack %s: the revert %s stopped after statement %d; finish it with Down once the file is fixed, or restore the last export", p.Name, ir.File, ir.StatementsDone)
			}
			if opts.To != 0 && target < ps.Database {
				return nil, fmt.Errorf("packs: pack %s is at schema version %d, above the target %d; use Down to revert", p.Name, ps.Database, target)
			}
			if opts.To > ps.Code {
				return nil, fmt.Errorf("packs: pack %s: target %d is above the code's schema version %d", p.Name, opts.To, ps.Code)
			}
			if target > ps.Database || !ps.Known || (p.Version != "" && state.release[p.Name] != p.Version) {
				plan = append(plan, planned{p, target, ps.Database})
			}
			if target > ps.Database {
				concerned = append(concerned, p)
			}
		}
		res := &Result{}
		if len(plan) == 0 {
			if opts.Batch != nil {
				return res, db.endRun(ctx, conn, tx, res, opts.Batch, nil)
			}
			return res, nil
		}
		checked := map[string]checkedFile{}
		for _, pl := range plan {
			for _, m := range pl.p.between(pl.from, pl.target) {
				if m.Up == nil {
					stmts, skip, err := checkMigration(db.d.flavor(), pl.p.Name, m, "up", m.UpSQL, m.UpFile)
					if err != nil {
						return nil, err
					}
					checked[checkedKey(pl.p.Name, "up", m.UpFile)] = checkedFile{m.UpSQL, stmts, skip}
				}
			}
		}
		// Where DDL is not transactional, the maintenance row stands from
		// before the export until the run's end is recorded; a failed run
		// whose caller puts it back from the export keeps it until then
		// (see [DB.UndoBatchRun]).
		var mk *mark
		if len(concerned) > 0 && !db.d.transactionalDDL() {
			if mk, err = db.markMaintenance(ctx, conn, opts.Maintenance); err != nil {
				return nil, err
			}
			defer func() {
				var me *MigrationError
				restored := errors.As(runErr, &me) && me.Restored
				if runErr != nil && opts.RestoreOnFailure && res.Export != "" && !restored {
					mk.stopRenewing() // the caller puts the run back, then clears it
					return
				}
				mk.clear(context.WithoutCancel(ctx), conn)
			}()
		}
		if len(concerned) > 0 && opts.Tables != nil {
			if res.Export, err = db.saveTables(ctx, q, opts.Tables, concerned); err != nil {
				return nil, err
			}
			if opts.OnExport != nil {
				if err := opts.OnExport(res.Export); err != nil {
					return nil, err
				}
			}
		}
		run := &runner{db: db, conn: conn, state: state, res: res, onApplied: opts.OnApplied, checked: checked}
		if db.d.transactionalDDL() {
			if tx == nil {
				if tx, err = conn.BeginTx(ctx, nil); err != nil {
					return nil, fmt.Errorf("packs: begin transaction: %w", err)
				}
				defer tx.Rollback()
			}
			if run.watch, err = db.d.watch(ctx, conn, tx); err != nil {
				return nil, fmt.Errorf("packs: watch the run's transaction: %w", err)
			}
			defer func() { run.watch.close() }()
			if err := db.d.tableLockWait(ctx, conn, tx, opts.TableLockTimeout); err != nil {
				return nil, fmt.Errorf("packs: set the table lock timeout: %w", err)
			}
			run.tableLockTimeout = opts.TableLockTimeout
			for _, pl := range plan {
				if tx, err = run.upTx(ctx, tx, pl.p, pl.from, pl.target); err != nil {
					if tx != nil {
						tx.Rollback()
					}
					if run.committed > 0 {
						return res, err
					}
					return nil, err
				}
			}
			if err := db.recordEnd(ctx, tx, res, opts.Batch, nil); err != nil {
				return nil, err
			}
			run.watch.close() // the run's own commit
			if err := tx.Commit(); err != nil {
				return nil, fmt.Errorf("packs: commit migrations: %w", err)
			}
			return res, nil
		}
		if err := db.d.tableLockWait(ctx, conn, nil, opts.TableLockTimeout); err != nil {
			return nil, fmt.Errorf("packs: set the table lock timeout: %w", err)
		}
		if run.watch, err = db.d.watch(ctx, conn, nil); err != nil {
			return nil, fmt.Errorf("packs: watch the run's session: %w", err)
		}
		defer run.watch.close()
		for i, pl := range plan {
			var end func(*sql.Tx) error
			if i == len(plan)-1 {
				// The run's end is recorded with its last migration: the
				// batch committed and the maintenance row cleared exactly
				// when every migration is.
				end = func(tx *sql.Tx) error { return db.recordEnd(ctx, tx, res, opts.Batch, mk) }
			}
			if err := run.upSteps(ctx, pl.p, pl.from, pl.target, end); err != nil {
				var me *MigrationError
				if opts.RestoreOnFailure && res.Export != "" && errors.As(err, &me) {
					if me.RestoreErr = db.restoreFrom(ctx, conn, opts.Tables, res.Export); me.RestoreErr == nil {
						me.Restored = true
					}
				}
				return res, err
			}
		}
		return res, nil
	})
}

// recordEnd records, on tx, the end of a run that did everything: the
// batch b (when not nil) committed, and the maintenance row mk (when not
// nil) cleared.
func (db *DB) recordEnd(ctx context.Context, tx *sql.Tx, res *Result, b *BatchRecord, mk *mark) error {
	if b != nil {
		if err := db.commitBatch(ctx, tx, res, b); err != nil {
			return err
		}
	}
	return mk.clear(ctx, tx)
}

// endRun records the end of a run that had nothing to migrate (see
// recordEnd) in a transaction of its own: tx when the run holds one (the
// SQLite lock, committed here), else one begun on conn.
func (db *DB) endRun(ctx context.Context, conn *sql.Conn, tx *sql.Tx, res *Result, b *BatchRecord, mk *mark) error {
	if tx == nil {
		var err error
		if tx, err = conn.BeginTx(ctx, nil); err != nil {
			return fmt.Errorf("packs: begin transaction: %w", err)
		}
		defer tx.Rollback()
	}
	if err := db.recordEnd(ctx, tx, res, b, mk); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("packs: commit: %w", err)
	}
	return nil
}

// commitBatch records b as committed on q, with the migrations of res.
func (db *DB) commitBatch(ctx context.Context, q querier, res *Result, b *BatchRecord) error {
	b.Phase, b.Outcome, b.Committed = "committed", OutcomeCommitted, db.now().UTC()
	b.Migrations = b.Migrations[:0]
	for _, a := range res.Applied {
		b.Migrations = append(b.Migrations, a.String())
	}
	if !b.Started.IsZero() {
		b.Duration = b.Committed.Sub(b.Started)
	}
	return db.recordBatch(ctx, q, *b)
}

// restoreFrom undoes a failed run from the export name of store (see
// [DB.UndoRun]), holding the lock on conn.
func (db *DB) restoreFrom(ctx context.Context, conn *sql.Conn, store TableStore, name string) error {
	fsys, c, err := store.OpenTables(name)
	if err != nil {
		return err
	}
	defer c.Close()
	return db.undoRunLocked(ctx, conn, nil, fsys, name)
}

func selectPacks(packs []Pack, name string) ([]Pack, error) {
	for _, p := range packs {
		if err := p.check(); err != nil {
			return nil, err
		}
	}
	if name == "" {
		return packs, nil
	}
	for _, p := range packs {
		if p.Name == name {
			return []Pack{p}, nil
		}
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownPack, name)
}

// testHookAfterStatement, when set by a test, runs after each statement of
// a migration file and its progress record.
var testHookAfterStatement func(pack string, version, statement int)

// runner applies migrations and keeps their bookkeeping.
type runner struct {
	db    *DB
	conn  *sql.Conn
	state *dbState
	res   *Result
	watch txWatch // never nil once the run started; see [dialect.watch]

	// toRecord holds the history rows (insertMigrationSQL's arguments,
	// one row after another) of the migrations a transaction ran that are
	// not inserted yet: they are inserted a batch at a time, in the
	// transaction, before it records the pack's version or commits.
	toRecord []any

	// committed counts the migrations of res.Applied committed before the
	// run's transaction, by a migration that ran alone; a failure after
	// it does not undo them.
	committed        int
	tableLockTimeout time.Duration
	onApplied        func(Applied) error // UpOptions.OnApplied

	// checked holds the files checked before the run began (see
	// checkedKey), so that each is split and checked once.
	checked map[string]checkedFile
}

// A checkedFile is a migration file as [checkMigration] split and checked
// it.
type checkedFile struct {
	text  string
	stmts []sqlsplit.Statement
	skip  []bool
}

// checkedKey names a file of a pack in runner.checked.
func checkedKey(pack, dir, file string) string { return pack + "\x00" + dir + "\x00" + file }

// applied records a that ran: in the run's result, then OnApplied.
func (r *runner) applied(a Applied) error {
	r.res.Applied = append(r.res.Applied, a)
	if r.onApplied != nil {
		return r.onApplied(a)
	}
	return nil
}

const insertMigrationSQL = `INSERT INTO upkeep_migrations (pack, version, name, sha256, direction, applied_at, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`

// recordBatch is how many history rows one INSERT writes (7 arguments
// each: SQLite takes up to 32,766, PostgreSQL 65,535).
const recordBatch = 100

// record adds the history row of a migration of pack p that ran in tx,
// inserting the rows held once there are recordBatch.
func (r *runner) record(ctx context.Context, tx *sql.Tx, p Pack, args ...any) error {
	r.toRecord = append(r.toRecord, args...)
	if len(r.toRecord) >= recordBatch*7 {
		return r.flushRecords(ctx, tx, p)
	}
	return nil
}

// flushRecords inserts the history rows held, in the order the
// migrations ran.
func (r *runner) flushRecords(ctx context.Context, tx *sql.Tx, p Pack) error {
	for len(r.toRecord) > 0 {
		n := min(len(r.toRecord)/7, recordBatch)
		q := insertMigrationSQL + strings.Repeat(", (?, ?, ?, ?, ?, ?, ?)", n-1)
		if _, err := tx.ExecContext(ctx, r.db.q(q), r.toRecord[:n*7]...); err != nil {
			return fmt.Errorf("packs: record migrations of pack %s: %w", p.Name, err)
		}
		r.toRecord = r.toRecord[n*7:]
	}
	r.toRecord = nil
	return nil
}

// setPack writes the pack's row of upkeep_packs.
func (r *runner) setPack(ctx context.Context, q querier, p Pack, version int) error {
	now := r.db.timestamp()
	var err error
	if r.state.known[p.Name] {
		_, err = q.ExecContext(ctx, r.db.q(`UPDATE upkeep_packs SET version = ?, schema_version = ?, updated_at = ? WHERE pack = ?`), p.Version, version, now, p.Name)
	} else {
		_, err = q.ExecContext(ctx, r.db.q(`INSERT INTO upkeep_packs (pack, version, schema_version, installed_at, updated_at) VALUES (?, ?, ?, ?, ?)`), p.Name, p.Version, version, now, now)
	}
	if err != nil {
		return fmt.Errorf("packs: record schema version %d of pack %s: %w", version, p.Name, err)
	}
	r.state.known[p.Name] = true
	r.state.version[p.Name] = version
	r.state.release[p.Name] = p.Version
	return nil
}

// upTx applies migrations from+1..to of p inside tx. A migration that
// runs outside a transaction ([Migration.NoTransaction]) ends tx: what ran
// before it is committed, it runs alone as on MySQL/MariaDB, and the run
// goes on in a new transaction, which upTx returns.
func (r *runner) upTx(ctx context.Context, tx *sql.Tx, p Pack, from, to int) (*sql.Tx, error) {
	done := from
	for _, m := range p.between(from, to) {
		v := m.Version
		start := time.Now()
		if m.noTransaction("up", m.UpSQL) {
			var err error
			if tx, err = r.alone(ctx, tx, p, m, done, start); err != nil {
				return tx, err
			}
			done = v
			continue
		}
		if m.Up != nil {
			if err := m.Up(ctx, tx); err != nil {
				return tx, r.failed(p, m, "up", nil, 0, err, true)
			}
			if err := r.checkTx(ctx, tx, p, m.Source()); err != nil {
				return tx, err
			}
		} else {
			err := r.execFile(ctx, tx, p, m, "up", m.UpSQL, m.UpFile, true, func(stmt int) {
				if testHookAfterStatement != nil {
					testHookAfterStatement(p.Name, v, stmt)
				}
			})
			if err != nil {
				return tx, err
			}
		}
		d := time.Since(start)
		if err := r.record(ctx, tx, p, p.Name, v, m.Name, m.SHA256, "up", r.db.timestamp(), d.Milliseconds()); err != nil {
			return tx, err
		}
		if err := r.applied(Applied{Pack: p.Name, Version: v, Name: m.Name, Direction: "up", Duration: d}); err != nil {
			return tx, err
		}
		done = v
	}
	if err := r.flushRecords(ctx, tx, p); err != nil {
		return tx, err
	}
	if err := r.setPack(ctx, tx, p, to); err != nil {
		return tx, err
	}
	return tx, r.db.recordSchemas(ctx, tx, p, to)
}

// alone runs m outside any transaction: it commits tx (recording p at
// done, what tx applied of it), runs m's statements one by one with their
// progress as [runner.upSteps] does, and begins the transaction the run
// goes on in.
func (r *runner) alone(ctx context.Context, tx *sql.Tx, p Pack, m Migration, done int, start time.Time) (*sql.Tx, error) {
	db := r.db
	if err := r.flushRecords(ctx, tx, p); err != nil {
		return tx, err
	}
	if err := r.setPack(ctx, tx, p, done); err != nil {
		return tx, err
	}
	if err := db.recordSchemas(ctx, tx, p, done); err != nil {
		return tx, err
	}
	r.watch.close() // upkeep's own commit
	if err := tx.Commit(); err != nil {
		return tx, fmt.Errorf("packs: commit migrations before %s: %w", m.Source(), err)
	}
	r.committed = len(r.res.Applied)
	// Each statement commits on its own: there is no transaction of the
	// run to watch; the statements were checked before the run.
	r.watch = nopWatch{}
	if err := r.fileSteps(ctx, p, m, "up", start, nil); err != nil {
		return nil, err
	}
	r.committed = len(r.res.Applied)
	if err := db.recordSchemas(ctx, r.conn, p, m.Version); err != nil {
		return nil, err
	}
	if r.onApplied != nil {
		if err := r.onApplied(r.res.Applied[len(r.res.Applied)-1]); err != nil {
			return nil, err
		}
	}
	tx, err := r.conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("packs: begin transaction: %w", err)
	}
	if r.watch, err = db.d.watch(ctx, r.conn, tx); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("packs: watch the run's transaction: %w", err)
	}
	if err := db.d.tableLockWait(ctx, r.conn, tx, r.tableLockTimeout); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("packs: set the table lock timeout: %w", err)
	}
	return tx, nil
}

// execFile runs the statements of one migration file (text, named file)
// on q in order, skipping the transaction control that [checkStatement]
// lets through, and calls after with each statement's 1-based index once it
// ran. A failed statement gives a *MigrationError; rolled says whether the
// caller's transaction undoes what ran before it. Once the file ran, the
// run's transaction must still be the one upkeep opened.
func (r *runner) execFile(ctx context.Context, q querier, p Pack, m Migration, dir, text, file string, rolled bool, after func(stmt int)) error {
	stmts, skip, err := r.checkMigration(p, m, dir, text, file)
	if err != nil {
		return err
	}
	// The file runs inside a savepoint of upkeep's: one of its own that it
	// releases or rolls back to may not reach past it.
	if _, err := q.ExecContext(ctx, "SAVEPOINT upkeep_file"); err != nil {
		return fmt.Errorf("packs: pack %s: migration %s: %w", p.Name, file, err)
	}
	for i, s := range stmts {
		if skip[i] {
			continue
		}
		r.watch.enter()
		_, err := q.ExecContext(ctx, s.Text)
		r.watch.leave()
		if err != nil {
			return r.failed(p, m, dir, &s, i+1, err, rolled)
		}
		if after != nil {
			after(i + 1)
		}
	}
	if err := r.checkTx(ctx, q, p, file); err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, "RELEASE SAVEPOINT upkeep_file"); err != nil {
		return &RefusedError{Pack: p.Name, File: file, Reason: "it released or rolled back to a savepoint it did not make: " + err.Error()}
	}
	return nil
}

// checkTx refuses to go on when a migration file ended or replaced the
// run's transaction, or left one open where each statement commits.
func (r *runner) checkTx(ctx context.Context, q querier, p Pack, file string) error {
	if err := r.watch.check(ctx, q); err != nil {
		return &RefusedError{Pack: p.Name, File: file, Reason: err.Error()}
	}
	return nil
}

func (r *runner) failed(p Pack, m Migration, dir string, s *sqlsplit.Statement, idx int, err error, rolled bool) *MigrationError {
	e := &MigrationError{Pack: p.Name, Version: m.Version, File: m.Source(), Direction: dir, Statement: idx,
		Before: r.res.Applied, RolledBack: rolled, Export: r.res.Export, Err: err}
	if dir == "down" {
		e.File = m.downSource()
	}
	if s != nil {
		e.Line = s.Line
		e.FirstLine = s.FirstLine()
	}
	if !rolled && idx > 0 {
		e.StatementsDone = idx - 1
	}
	if rolled && r.committed > 0 {
		e.Kept = r.res.Applied[:r.committed:r.committed]
	}
	return e
}

// doneHash identifies the statements of a file that ran, so that a resume
// can check they are unchanged.
func doneHash(stmts []sqlsplit.Statement) string {
	h := sha256.New()
	for _, s := range stmts {
		h.Write([]byte(s.Text))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// upSteps applies migrations from+1..to of p on a backend without
// transactional DDL: one statement at a time, progress recorded after each.
// end, when not nil, runs in the transaction that records the last
// migration (or, with none to run, the pack's version), so that what it
// records commits with it.
func (r *runner) upSteps(ctx context.Context, p Pack, from, to int, end func(*sql.Tx) error) error {
	db := r.db
	ms := p.between(from, to)
	if !r.state.known[p.Name] && len(ms) > 0 {
		if err := r.setPack(ctx, r.conn, p, from); err != nil {
			return err
		}
	}
	for i, m := range ms {
		v := m.Version
		start := time.Now()
		// Each migration is committed on its own here, so its schema is
		// recorded with it: a later failure leaves a record that matches
		// the tables.
		then := func(tx *sql.Tx) error {
			if err := db.recordSchemas(ctx, tx, p, v); err != nil {
				return err
			}
			if end != nil && i == len(ms)-1 {
				return end(tx)
			}
			return nil
		}
		var err error
		if m.Up != nil {
			err = r.inTx(ctx, func(tx *sql.Tx) error {
				if err := m.Up(ctx, tx); err != nil {
					return r.failed(p, m, "up", nil, 0, err, false)
				}
				if err := r.finishStep(ctx, tx, p, m, "up", v, time.Since(start)); err != nil {
					return err
				}
				return then(tx)
			})
		} else {
			err = r.fileSteps(ctx, p, m, "up", start, then)
		}
		if err != nil {
			return err
		}
		if r.onApplied != nil {
			if err := r.onApplied(r.res.Applied[len(r.res.Applied)-1]); err != nil {
				return err
			}
		}
	}
	if len(ms) > 0 {
		return nil
	}
	return r.inTx(ctx, func(tx *sql.Tx) error {
		if err := r.setPack(ctx, tx, p, to); err != nil {
			return err
		}
		if err := db.recordSchemas(ctx, tx, p, to); err != nil {
			return err
		}
		if end != nil {
			return end(tx)
		}
		return nil
	})
}

// fileSteps runs the statements of m's file in direction dir ("up" or
// "down") one at a time, resuming after those an interrupted run recorded,
// and records progress after each; then, when not nil, runs in the
// transaction that records the migration.
func (r *runner) fileSteps(ctx context.Context, p Pack, m Migration, dir string, start time.Time, then func(*sql.Tx) error) error {
	file, text := m.UpFile, m.UpSQL
	if dir == "down" {
		file = m.DownFile
		var err error
		if text, err = m.DownText(); err != nil {
			return fmt.Errorf("packs: pack %s: %w", p.Name, err)
		}
	}
	stmts, skipStmt, err := r.checkMigration(p, m, dir, text, file)
	if err != nil {
		return err
	}
	skip := 0
	if pr := r.state.progress[p.Name]; pr != nil && pr.Version == m.Version && pr.File == file {
		if pr.StatementsDone > len(stmts) || doneHash(stmts[:pr.StatementsDone]) != pr.doneSHA256 {
			return fmt.Errorf("%w: pack %s: %s: the first %d statement(s) already ran but the file no longer starts with them; restore the pack's tables from the last export (RestoreTables), or make the file start with the statements that ran", ErrResumeMismatch, p.Name, file, pr.StatementsDone)
		}
		skip = pr.StatementsDone
	}
	for i := skip; i < len(stmts); i++ {
		s := stmts[i]
		if !skipStmt[i] {
			r.watch.enter()
			_, err := r.conn.ExecContext(ctx, s.Text)
			r.watch.leave()
			if err != nil {
				return r.failed(p, m, dir, &s, i+1, err, false)
			}
		}
		if err := r.setProgress(ctx, p, m, file, i+1, doneHash(stmts[:i+1])); err != nil {
			return err
		}
		if testHookAfterStatement != nil {
			testHookAfterStatement(p.Name, m.Version, i+1)
		}
	}
	if err := r.checkTx(ctx, r.conn, p, file); err != nil {
		return err
	}
	return r.inTx(ctx, func(tx *sql.Tx) error {
		if err := r.finishStep(ctx, tx, p, m, dir, m.Version, time.Since(start)); err != nil {
			return err
		}
		if then != nil {
			return then(tx)
		}
		return nil
	})
}

func (r *runner) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := r.conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("packs: begin transaction: %w", err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("packs: commit: %w", err)
	}
	return nil
}

// setProgress records that done statements of m ran.
func (r *runner) setProgress(ctx context.Context, p Pack, m Migration, file string, done int, hash string) error {
	db := r.db
	now := db.timestamp()
	if pr := r.state.progress[p.Name]; pr != nil {
		_, err := r.conn.ExecContext(ctx, db.q(`UPDATE upkeep_progress SET version = ?, file = ?, statements_done = ?, done_sha256 = ?, updated_at = ? WHERE pack = ?`), m.Version, file, done, hash, now, p.Name)
		if err != nil {
			return fmt.Errorf("packs: record progress of %s: %w", file, err)
		}
	} else {
		_, err := r.conn.ExecContext(ctx, db.q(`INSERT INTO upkeep_progress (pack, version, file, statements_done, done_sha256, updated_at) VALUES (?, ?, ?, ?, ?, ?)`), p.Name, m.Version, file, done, hash, now)
		if err != nil {
			return fmt.Errorf("packs: record progress of %s: %w", file, err)
		}
	}
	r.state.progress[p.Name] = &Progress{Version: m.Version, File: file, StatementsDone: done, doneSHA256: hash}
	return nil
}

// finishStep records a completed migration (or revert) in tx: its history
// row, the pack's schema version, and the end of its progress.
func (r *runner) finishStep(ctx context.Context, tx *sql.Tx, p Pack, m Migration, dir string, v int, d time.Duration) error {
	db := r.db
	newVersion := v
	if dir == "down" {
		newVersion = p.below(v)
	}
	if _, err := tx.ExecContext(ctx, db.q(insertMigrationSQL), p.Name, v, m.Name, m.SHA256, dir, db.timestamp(), d.Milliseconds()); err != nil {
		return fmt.Errorf("packs: record migration %s of pack %s: %w", m.Source(), p.Name, err)
	}
	if err := r.setPack(ctx, tx, p, newVersion); err != nil {
		return err
	}
	if r.state.progress[p.Name] != nil {
		if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM upkeep_progress WHERE pack = ?`), p.Name); err != nil {
			return fmt.Errorf("packs: clear progress of pack %s: %w", p.Name, err)
		}
		delete(r.state.progress, p.Name)
	}
	r.res.Applied = append(r.res.Applied, Applied{Pack: p.Name, Version: v, Name: m.Name, Direction: dir, Duration: d})
	return nil
}

// nopWatch watches nothing: for a file that runs outside any transaction
// ([Migration.NoTransaction]) on a backend whose watch is of the run's
// transaction.
type nopWatch struct{}

func (nopWatch) enter()                               {}
func (nopWatch) leave()                               {}
func (nopWatch) close()                               {}
func (nopWatch) check(context.Context, querier) error { return nil }
