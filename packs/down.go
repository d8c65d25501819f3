package packs

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// DownOptions says what [DB.Down] reverts.
type DownOptions struct {
	Packs            []Pack     // the code: the installed packs
	Pack             string     // the pack to revert (required)
	To               int        // the schema version to go back to (>= 0)
	Tables           TableStore // as in UpOptions: keeps the export taken before the run
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
	if opts.To < p.None() {
		return nil, fmt.Errorf("packs: down: target version %d (the lowest is %d, no migration applied)", opts.To, p.None())
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
		if ps.Database > ps.Code {
			return nil, ps.Err()
		}
		if opts.To > ps.Database {
			return nil, fmt.Errorf("packs: pack %s is at schema version %d, below the target %d; use Up", p.Name, ps.Database, opts.To)
		}
		if ir := ps.Interrupted; ir != nil && !(ir.Version == ps.Database && ir.File == p.downFileOf(ir.Version)) {
			return nil, fmt.Errorf("packs: pack %s: %s stopped after statement %d; finish it with Up, or restore the last export, before reverting", p.Name, ir.File, ir.StatementsDone)
		}
		// Every revert is checked and read before the first one runs.
		p.Migrations = slices.Clone(p.Migrations)
		var reverts []Migration
		for i := len(p.Migrations) - 1; i >= 0; i-- {
			m := &p.Migrations[i]
			if m.Version > ps.Database || m.Version <= opts.To {
				continue
			}
			if !m.hasDown() {
				what := "has no .down.sql"
				if m.Goose {
					what = "has no \"-- +goose Down\" section"
				}
				return nil, fmt.Errorf("%w: pack %s: migration %s %s; cannot go below schema version %d", ErrNoDown, p.Name, m.Source(), what, m.Version)
			}
			if m.Down == nil {
				text, err := m.DownText()
				if err != nil {
					return nil, fmt.Errorf("packs: pack %s: %w", p.Name, err)
				}
				m.DownSQL = text
				if _, _, err := checkMigration(db.d.flavor(), p.Name, *m, "down", text, m.DownFile); err != nil {
					return nil, err
				}
			}
			reverts = append(reverts, *m)
		}
		res := &Result{}
		if len(reverts) == 0 {
			return res, nil
		}
		if opts.Tables != nil {
			if res.Export, err = db.saveTables(ctx, q, opts.Tables, sel); err != nil {
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
		if run.watch, err = db.d.watch(ctx, conn, tx); err != nil {
			return nil, fmt.Errorf("packs: watch the run's transaction: %w", err)
		}
		defer func() { run.watch.close() }()
		for _, m := range reverts {
			v := m.Version
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
				return run.execFile(ctx, q, p, m, "down", text, m.DownFile, transactional, nil)
			}
			alone := transactional && m.noTransaction("down", m.DownSQL)
			if alone {
				// Commit what ran, revert this one alone, go on in a
				// new transaction.
				if err := run.setPack(ctx, tx, p, v); err != nil {
					return res, err
				}
				if err := db.recordSchemas(ctx, tx, p, v); err != nil {
					return res, err
				}
				run.watch.close() // upkeep's own commit
				if err := tx.Commit(); err != nil {
					return res, fmt.Errorf("packs: commit: %w", err)
				}
				run.committed = len(res.Applied)
				run.watch = nopWatch{}
			}
			switch {
			case alone:
				if err = run.fileSteps(ctx, p, m, "down", start, nil); err == nil {
					run.committed = len(res.Applied)
					if tx, err = conn.BeginTx(ctx, nil); err != nil {
						return res, fmt.Errorf("packs: begin transaction: %w", err)
					}
					defer tx.Rollback()
					if run.watch, err = db.d.watch(ctx, conn, tx); err == nil {
						err = db.d.tableLockWait(ctx, conn, tx, opts.TableLockTimeout)
					}
				}
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
				err = run.fileSteps(ctx, p, m, "down", start, nil)
			}
			if err != nil {
				return res, err
			}
		}
		final := p.below(reverts[len(reverts)-1].Version)
		if err := db.recordSchemas(ctx, txOr(tx, conn), p, final); err != nil {
			return nil, err
		}
		if tx != nil {
			run.watch.close() // the run's own commit
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
