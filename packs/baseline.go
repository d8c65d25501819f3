package packs

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

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
