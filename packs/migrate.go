package packs

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/upkeep/upkeep/internal/layout"
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
	// NoBackup skips the export of the packs' tables taken before the run.
	NoBackup bool
	// BackupDir is where the export goes; "" is the root's
	// Updates_Backups.
	BackupDir string
	// LockTimeout bounds the wait for the migration lock; 0 is
	// DefaultLockTimeout.
	LockTimeout time.Duration
	// TableLockTimeout bounds how long one statement of a migration waits
	// for a lock on a table that the application holds (PostgreSQL
	// lock_timeout, MySQL lock_wait_timeout), so that a migration fails
	// instead of queueing every query behind it; 0 is no bound.
	TableLockTimeout time.Duration
}

// Result is what a run did.
type Result struct {
	Applied []Applied // in the order they ran
	Export  string    // path of the export taken before the run; "" if none
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
// statement once the file is fixed (or [DB.RestoreExport] puts the export
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
	return db.withLock(ctx, opts.LockTimeout, func(ctx context.Context, conn *sql.Conn, tx *sql.Tx) (*Result, error) {
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
			return res, nil
		}
		if len(concerned) > 0 && !opts.NoBackup {
			if res.Export, err = db.exportToDir(ctx, q, concerned, db.backupDir(opts.BackupDir)); err != nil {
				return nil, err
			}
		}
		run := &runner{db: db, conn: conn, state: state, res: res}
		if db.d.transactionalDDL() {
			if tx == nil {
				if tx, err = conn.BeginTx(ctx, nil); err != nil {
					return nil, fmt.Errorf("packs: begin transaction: %w", err)
				}
				defer tx.Rollback()
			}
			if err := db.d.tableLockWait(ctx, conn, tx, opts.TableLockTimeout); err != nil {
				return nil, fmt.Errorf("packs: set the table lock timeout: %w", err)
			}
			if err := run.prepare(ctx, tx); err != nil {
				return nil, err
			}
			defer run.close()
			for _, pl := range plan {
				if err := run.upTx(ctx, tx, pl.p, pl.from, pl.target); err != nil {
					tx.Rollback()
					return nil, err
				}
			}
			if err := tx.Commit(); err != nil {
				return nil, fmt.Errorf("packs: commit migrations: %w", err)
			}
			return res, nil
		}
		if err := db.d.tableLockWait(ctx, conn, nil, opts.TableLockTimeout); err != nil {
			return nil, fmt.Errorf("packs: set the table lock timeout: %w", err)
		}
		for _, pl := range plan {
			if err := run.upSteps(ctx, pl.p, pl.from, pl.target); err != nil {
				return res, err
			}
		}
		return res, nil
	})
}

func (db *DB) backupDir(dir string) string {
	if dir != "" {
		return dir
	}
	return filepath.Join(db.root, layout.BackupsDir)
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

// withLock runs f holding the migration lock on a dedicated connection.
// On SQLite tx is the write transaction that is the lock; f commits it or
// it is rolled back.
func (db *DB) withLock(ctx context.Context, timeout time.Duration, f func(context.Context, *sql.Conn, *sql.Tx) (*Result, error)) (*Result, error) {
	if err := db.ensure(ctx); err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("packs: connect to %s: %w", db.addr, err)
	}
	defer conn.Close()
	tx, err := db.d.lock(ctx, conn, timeout)
	if err != nil {
		var le *LockedError
		if errors.As(err, &le) {
			return nil, err
		}
		return nil, fmt.Errorf("packs: take the migration lock of %s: %w", db.addr, err)
	}
	defer db.release(ctx, conn)
	if tx != nil {
		defer tx.Rollback() // before release: defers run last first
	}
	return f(ctx, conn, tx)
}

// release gives the migration lock back. A connection that could not
// release it is closed instead of going back to the pool, so that the
// server drops the lock with the session.
func (db *DB) release(ctx context.Context, conn *sql.Conn) error {
	err := errors.Join(db.d.unlock(context.WithoutCancel(ctx), conn),
		db.d.tableLockWait(context.WithoutCancel(ctx), conn, nil, 0))
	if err != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return err
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

	insMigration *sql.Stmt
}

const insertMigrationSQL = `INSERT INTO upkeep_migrations (pack, version, name, sha256, direction, applied_at, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`

func (r *runner) prepare(ctx context.Context, tx *sql.Tx) error {
	var err error
	r.insMigration, err = tx.PrepareContext(ctx, r.db.q(insertMigrationSQL))
	if err != nil {
		return fmt.Errorf("packs: prepare bookkeeping: %w", err)
	}
	return nil
}

func (r *runner) close() {
	if r.insMigration != nil {
		r.insMigration.Close()
	}
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

// upTx applies migrations from+1..to of p inside tx.
func (r *runner) upTx(ctx context.Context, tx *sql.Tx, p Pack, from, to int) error {
	flavor := r.db.d.flavor()
	for v := from + 1; v <= to; v++ {
		m := p.migration(v)
		start := time.Now()
		if m.Up != nil {
			if err := m.Up(ctx, tx); err != nil {
				return r.failed(p, m, "up", nil, 0, err, true)
			}
		} else {
			stmts, err := sqlsplit.Split(m.UpSQL, flavor)
			if err != nil {
				return fmt.Errorf("packs: pack %s: migration %s: %w", p.Name, m.UpFile, err)
			}
			for i, s := range stmts {
				if _, err := tx.ExecContext(ctx, s.Text); err != nil {
					return r.failed(p, m, "up", &s, i+1, err, true)
				}
				if testHookAfterStatement != nil {
					testHookAfterStatement(p.Name, v, i+1)
				}
			}
		}
		d := time.Since(start)
		if _, err := r.insMigration.ExecContext(ctx, p.Name, v, m.Name, m.SHA256, "up", r.db.timestamp(), d.Milliseconds()); err != nil {
			return fmt.Errorf("packs: record migration %s of pack %s: %w", m.Source(), p.Name, err)
		}
		r.res.Applied = append(r.res.Applied, Applied{Pack: p.Name, Version: v, Name: m.Name, Direction: "up", Duration: d})
	}
	if err := r.setPack(ctx, tx, p, to); err != nil {
		return err
	}
	return r.db.recordSchemas(ctx, tx, p, to)
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
func (r *runner) upSteps(ctx context.Context, p Pack, from, to int) error {
	db := r.db
	if !r.state.known[p.Name] {
		if err := r.setPack(ctx, r.conn, p, from); err != nil {
			return err
		}
	}
	for v := from + 1; v <= to; v++ {
		m := p.migration(v)
		start := time.Now()
		var err error
		if m.Up != nil {
			err = r.inTx(ctx, func(tx *sql.Tx) error {
				if err := m.Up(ctx, tx); err != nil {
					return r.failed(p, m, "up", nil, 0, err, false)
				}
				return r.finishStep(ctx, tx, p, m, "up", v, time.Since(start))
			})
		} else {
			err = r.fileSteps(ctx, p, m, "up", start)
		}
		if err != nil {
			return err
		}
		// Each migration is committed on its own here, so its schema is
		// recorded on its own too: a later failure leaves a record that
		// matches the tables.
		if err := db.recordSchemas(ctx, r.conn, p, v); err != nil {
			return err
		}
	}
	if from == to {
		if err := r.setPack(ctx, r.conn, p, to); err != nil {
			return err
		}
		return db.recordSchemas(ctx, r.conn, p, to)
	}
	return nil
}

// fileSteps runs the statements of m's file in direction dir ("up" or
// "down") one at a time, resuming after those an interrupted run recorded,
// and records progress after each.
func (r *runner) fileSteps(ctx context.Context, p Pack, m Migration, dir string, start time.Time) error {
	file, text := m.UpFile, m.UpSQL
	if dir == "down" {
		file = m.DownFile
		var err error
		if text, err = m.DownText(); err != nil {
			return fmt.Errorf("packs: pack %s: %w", p.Name, err)
		}
	}
	stmts, err := sqlsplit.Split(text, r.db.d.flavor())
	if err != nil {
		return fmt.Errorf("packs: pack %s: migration %s: %w", p.Name, file, err)
	}
	skip := 0
	if pr := r.state.progress[p.Name]; pr != nil && pr.Version == m.Version && pr.File == file {
		if pr.StatementsDone > len(stmts) || doneHash(stmts[:pr.StatementsDone]) != pr.doneSHA256 {
			return fmt.Errorf("%w: pack %s: %s: the first %d statement(s) already ran but the file no longer starts with them; restore the pack's tables from the last export (RestoreExport), or make the file start with the statements that ran", ErrResumeMismatch, p.Name, file, pr.StatementsDone)
		}
		skip = pr.StatementsDone
	}
	for i := skip; i < len(stmts); i++ {
		s := stmts[i]
		if _, err := r.conn.ExecContext(ctx, s.Text); err != nil {
			return r.failed(p, m, dir, &s, i+1, err, false)
		}
		if err := r.setProgress(ctx, p, m, file, i+1, doneHash(stmts[:i+1])); err != nil {
			return err
		}
		if testHookAfterStatement != nil {
			testHookAfterStatement(p.Name, m.Version, i+1)
		}
	}
	return r.inTx(ctx, func(tx *sql.Tx) error {
		return r.finishStep(ctx, tx, p, m, dir, m.Version, time.Since(start))
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
		newVersion = v - 1
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

// DownOptions says what [DB.Down] reverts.
type DownOptions struct {
	Packs            []Pack // the code: the installed packs
	Pack             string // the pack to revert (required)
	To               int    // the schema version to go back to (>= 0)
	NoBackup         bool
	BackupDir        string
	LockTimeout      time.Duration
	TableLockTimeout time.Duration // as in UpOptions
}

// Down reverts a pack's migrations from its database version down to
// opts.To, newest first, running each .down.sql (or Go down function). It
// refuses before running anything when one of them has none, naming the
// migration. Transactions and failures are as for [DB.Up]; on
// MySQL/MariaDB each reverted migration is committed on its own and a
// failure leaves the pack at the last migration reverted.
func (db *DB) Down(ctx context.Context, opts DownOptions) (*Result, error) {
	if opts.Pack == "" {
		return nil, fmt.Errorf("packs: down needs a pack")
	}
	sel, err := selectPacks(opts.Packs, opts.Pack)
	if err != nil {
		return nil, err
	}
	p := sel[0]
	if opts.To < 0 {
		return nil, fmt.Errorf("packs: down: target version %d", opts.To)
	}
	return db.withLock(ctx, opts.LockTimeout, func(ctx context.Context, conn *sql.Conn, tx *sql.Tx) (*Result, error) {
		var q querier = conn
		if tx != nil {
			q = tx
		}
		_, state, err := db.status(ctx, q, sel)
		if err != nil {
			return nil, err
		}
		ps := packStatus(p, state, p.CodeVersion())
		if ps.Database > len(p.Migrations) {
			return nil, ps.Err()
		}
		if opts.To > ps.Database {
			return nil, fmt.Errorf("packs: pack %s is at schema version %d, below the target %d; use Up", p.Name, ps.Database, opts.To)
		}
		if ir := ps.Interrupted; ir != nil && !(ir.Version == ps.Database && ir.File == p.migration(ir.Version).DownFile) {
			return nil, fmt.Errorf("packs: pack %s: %s stopped after statement %d; finish it with Up, or restore the last export, before reverting", p.Name, ir.File, ir.StatementsDone)
		}
		// Every revert is checked and read before the first one runs.
		p.Migrations = slices.Clone(p.Migrations)
		for v := ps.Database; v > opts.To; v-- {
			m := &p.Migrations[v-1]
			if !m.hasDown() {
				return nil, fmt.Errorf("%w: pack %s: migration %s has no .down.sql; cannot go below schema version %d", ErrNoDown, p.Name, m.Source(), v)
			}
			if m.Down == nil {
				text, err := m.DownText()
				if err != nil {
					return nil, fmt.Errorf("packs: pack %s: %w", p.Name, err)
				}
				m.DownSQL = text
			}
		}
		res := &Result{}
		if ps.Database == opts.To {
			return res, nil
		}
		if !opts.NoBackup {
			if res.Export, err = db.exportToDir(ctx, q, sel, db.backupDir(opts.BackupDir)); err != nil {
				return nil, err
			}
		}
		run := &runner{db: db, conn: conn, state: state, res: res}
		transactional := db.d.transactionalDDL()
		if transactional && tx == nil {
			if tx, err = conn.BeginTx(ctx, nil); err != nil {
				return nil, fmt.Errorf("packs: begin transaction: %w", err)
			}
			defer tx.Rollback()
		}
		if err := db.d.tableLockWait(ctx, conn, tx, opts.TableLockTimeout); err != nil {
			return nil, fmt.Errorf("packs: set the table lock timeout: %w", err)
		}
		for v := ps.Database; v > opts.To; v-- {
			m := p.migration(v)
			start := time.Now()
			runDown := func(tx *sql.Tx, q querier) error {
				if m.Down != nil {
					if err := m.Down(ctx, tx); err != nil {
						return run.failed(p, m, "down", nil, 0, err, transactional)
					}
					return nil
				}
				text, err := m.DownText()
				if err != nil {
					return fmt.Errorf("packs: pack %s: %w", p.Name, err)
				}
				stmts, err := sqlsplit.Split(text, db.d.flavor())
				if err != nil {
					return fmt.Errorf("packs: pack %s: migration %s: %w", p.Name, m.DownFile, err)
				}
				for i, s := range stmts {
					if _, err := q.ExecContext(ctx, s.Text); err != nil {
						return run.failed(p, m, "down", &s, i+1, err, transactional)
					}
				}
				return nil
			}
			switch {
			case transactional:
				if err = runDown(tx, tx); err == nil {
					err = run.finishStep(ctx, tx, p, m, "down", v, time.Since(start))
				}
			case m.Down != nil:
				err = run.inTx(ctx, func(tx *sql.Tx) error {
					if err := runDown(tx, tx); err != nil {
						return err
					}
					return run.finishStep(ctx, tx, p, m, "down", v, time.Since(start))
				})
			default:
				// DDL commits anyway: statement by statement, with progress.
				err = run.fileSteps(ctx, p, m, "down", start)
			}
			if err != nil {
				return res, err
			}
		}
		final := opts.To
		if err := db.recordSchemas(ctx, txOr(tx, conn), p, final); err != nil {
			return nil, err
		}
		if tx != nil {
			if err := tx.Commit(); err != nil {
				return nil, fmt.Errorf("packs: commit: %w", err)
			}
		}
		return res, nil
	})
}

func txOr(tx *sql.Tx, conn *sql.Conn) querier {
	if tx != nil {
		return tx
	}
	return conn
}

// BaselineOptions says which pack [DB.Baseline] adopts at which version.
type BaselineOptions struct {
	Packs       []Pack
	Pack        string
	Version     int
	LockTimeout time.Duration
}

// Baseline adopts an existing database for a pack: it records the pack at
// schema version opts.Version, and the checksums of its migrations up to
// it, without running them. It refuses a pack that already has a schema
// version in the database.
func (db *DB) Baseline(ctx context.Context, opts BaselineOptions) error {
	sel, err := selectPacks(opts.Packs, opts.Pack)
	if err != nil {
		return err
	}
	if opts.Pack == "" {
		return fmt.Errorf("packs: baseline needs a pack")
	}
	p := sel[0]
	if opts.Version < 0 || opts.Version > len(p.Migrations) {
		return fmt.Errorf("packs: baseline of pack %s: version %d is not between 0 and %d", p.Name, opts.Version, len(p.Migrations))
	}
	_, err = db.withLock(ctx, opts.LockTimeout, func(ctx context.Context, conn *sql.Conn, tx *sql.Tx) (*Result, error) {
		if tx == nil {
			var err error
			if tx, err = conn.BeginTx(ctx, nil); err != nil {
				return nil, err
			}
			defer tx.Rollback()
		}
		_, state, err := db.status(ctx, tx, sel)
		if err != nil {
			return nil, err
		}
		if v := state.version[p.Name]; v != 0 {
			return nil, fmt.Errorf("packs: baseline of pack %s: the database already has it at schema version %d", p.Name, v)
		}
		run := &runner{db: db, conn: conn, state: state, res: &Result{}}
		stmt, err := tx.PrepareContext(ctx, db.q(insertMigrationSQL))
		if err != nil {
			return nil, err
		}
		defer stmt.Close()
		for v := 1; v <= opts.Version; v++ {
			m := p.migration(v)
			if _, err := stmt.ExecContext(ctx, p.Name, v, m.Name, m.SHA256, "baseline", db.timestamp(), 0); err != nil {
				return nil, fmt.Errorf("packs: baseline of pack %s: %w", p.Name, err)
			}
		}
		if err := run.setPack(ctx, tx, p, opts.Version); err != nil {
			return nil, err
		}
		if err := db.recordSchemas(ctx, tx, p, opts.Version); err != nil {
			return nil, err
		}
		return nil, tx.Commit()
	})
	return err
}

// AcceptChanged records the current sha256 of migration version of pack,
// whose file changed after it was applied, so that it no longer blocks the
// pack. It refuses a migration that did not change.
func (db *DB) AcceptChanged(ctx context.Context, packs []Pack, pack string, version int) error {
	sel, err := selectPacks(packs, pack)
	if err != nil {
		return err
	}
	if pack == "" {
		return fmt.Errorf("packs: accept needs a pack")
	}
	st, err := db.Status(ctx, sel)
	if err != nil {
		return err
	}
	for _, c := range st.Packs[0].Changed {
		if c.Version != version {
			continue
		}
		m := sel[0].migration(version)
		_, err := db.db.ExecContext(ctx, db.q(insertMigrationSQL), pack, version, m.Name, m.SHA256, "accept", db.timestamp(), 0)
		if err != nil {
			return fmt.Errorf("packs: accept changed migration %s of pack %s: %w", m.UpFile, pack, err)
		}
		return nil
	}
	return fmt.Errorf("packs: pack %s: migration %d is not an applied migration whose file changed", pack, version)
}

// HistoryEntry is one row of upkeep_migrations.
type HistoryEntry struct {
	ID        int64
	Pack      string
	Version   int
	Name      string
	SHA256    string
	Direction string // "up", "down", "baseline" or "accept"
	AppliedAt time.Time
	Duration  time.Duration
}

// History returns the last limit rows of upkeep_migrations, newest first
// (limit <= 0: all).
func (db *DB) History(ctx context.Context, limit int) ([]HistoryEntry, error) {
	if err := db.ensure(ctx); err != nil {
		return nil, err
	}
	q := `SELECT id, pack, version, name, sha256, direction, applied_at, duration_ms FROM upkeep_migrations ORDER BY id DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := db.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("packs: read history: %w", err)
	}
	defer rows.Close()
	var out []HistoryEntry
	for rows.Next() {
		var (
			h  HistoryEntry
			at string
			ms int64
		)
		if err := rows.Scan(&h.ID, &h.Pack, &h.Version, &h.Name, &h.SHA256, &h.Direction, &at, &ms); err != nil {
			return nil, fmt.Errorf("packs: read history: %w", err)
		}
		h.AppliedAt, _ = time.Parse("2006-01-02T15:04:05.000000Z", at)
		h.Duration = time.Duration(ms) * time.Millisecond
		out = append(out, h)
	}
	return out, rows.Err()
}

// Lock is the database's migration lock, held by [DB.Lock].
type Lock struct {
	db   *DB
	conn *sql.Conn
	tx   *sql.Tx
}

// Lock takes the database's migration lock, waiting up to timeout (0 is
// DefaultLockTimeout), for work that must not run beside a migration. On
// timeout it returns a *LockedError (errors.Is ErrLocked). On SQLite the
// lock is a write transaction: release it before writing through another
// connection.
func (db *DB) Lock(ctx context.Context, timeout time.Duration) (*Lock, error) {
	if err := db.ensure(ctx); err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := db.d.lock(ctx, conn, timeout)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &Lock{db: db, conn: conn, tx: tx}, nil
}

// Release releases the lock.
func (l *Lock) Release() error {
	var errs []error
	if l.tx != nil {
		errs = append(errs, l.tx.Rollback())
	}
	errs = append(errs, l.db.release(context.Background(), l.conn), l.conn.Close())
	return errors.Join(errs...)
}
