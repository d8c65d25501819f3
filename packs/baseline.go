package packs

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
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
	if _, ok := p.index(opts.Version); !ok && opts.Version != p.None() {
		return fmt.Errorf("packs: baseline of pack %s: %d is not the version of one of its migrations (%s)", p.Name, opts.Version, versionList(p))
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
		if state.known[p.Name] && state.version[p.Name] > p.None() {
			return nil, fmt.Errorf("packs: baseline of pack %s: the database already has it at schema version %d", p.Name, state.version[p.Name])
		}
		run := &runner{db: db, conn: conn, state: state, res: &Result{}}
		stmt, err := tx.PrepareContext(ctx, db.q(insertMigrationSQL))
		if err != nil {
			return nil, err
		}
		defer stmt.Close()
		for _, m := range p.between(p.None(), opts.Version) {
			if _, err := stmt.ExecContext(ctx, p.Name, m.Version, m.Name, m.SHA256, "baseline", db.timestamp(), 0); err != nil {
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
		m := sel[0].migration(c.Version)
		_, err := db.db.ExecContext(ctx, db.q(insertMigrationSQL), pack, version, m.Name, m.SHA256, "accept", db.timestamp(), 0)
		if err != nil {
			return fmt.Errorf("packs: accept changed migration %s of pack %s: %w", m.UpFile, pack, err)
		}
		return nil
	}
	return fmt.Errorf("packs: pack %s: migration %d is not an applied migration whose file changed", pack, version)
}

// versionList names the versions of p's migrations, shortened when long.
func versionList(p Pack) string {
	var vs []string
	for i, m := range p.Migrations {
		if len(p.Migrations) > 8 && i == 3 {
			vs = append(vs, "...")
		}
		if len(p.Migrations) > 8 && i >= 3 && i < len(p.Migrations)-3 {
			continue
		}
		vs = append(vs, strconv.Itoa(m.Version))
	}
	if len(vs) == 0 {
		return "it has none"
	}
	return strings.Join(vs, ", ")
}
