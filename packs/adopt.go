package packs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The tools whose bookkeeping [DB.Adopt] reads.
const (
	FromGolangMigrate = "golang-migrate" // table schema_migrations (version, dirty)
	FromGoose         = "goose"          // table goose_db_version (id, version_id, is_applied, tstamp)
)

// AdoptOptions says which pack [DB.Adopt] takes over from which tool.
type AdoptOptions struct {
	Packs []Pack
	Pack  string
	// From is FromGolangMigrate or FromGoose.
	From string
	// Table is the tool's table; "" is its default (schema_migrations,
	// goose_db_version).
	Table       string
	LockTimeout time.Duration
}

// Adopted is what [DB.Adopt] found and recorded.
type Adopted struct {
	Pack    string
	From    string
	Table   string
	Version int // the version the tool recorded, now the pack's schema version
}

// Adopt takes over a database that golang-migrate or goose migrated: it
// reads the version that tool recorded and baselines the pack at it (see
// [DB.Baseline]), running nothing. It refuses a dirty golang-migrate state
// (a migration that failed half way), a goose database where a migration
// at or below its version was never applied, a version the pack has no
// migration for, and a pack the database already records. The tool's
// table is left as it is.
func (db *DB) Adopt(ctx context.Context, opts AdoptOptions) (*Adopted, error) {
	if err := db.ensure(ctx); err != nil {
		return nil, err
	}
	sel, err := selectPacks(opts.Packs, opts.Pack)
	if err != nil {
		return nil, err
	}
	if opts.Pack == "" {
		return nil, fmt.Errorf("packs: adopt needs a pack")
	}
	p := sel[0]
	a := &Adopted{Pack: p.Name, From: opts.From, Table: opts.Table}
	switch opts.From {
	case FromGolangMigrate:
		if a.Table == "" {
			a.Table = "schema_migrations"
		}
		a.Version, err = db.golangMigrateVersion(ctx, p, a.Table)
	case FromGoose:
		if a.Table == "" {
			a.Table = "goose_db_version"
		}
		a.Version, err = db.gooseVersion(ctx, p, a.Table)
	default:
		return nil, fmt.Errorf("packs: adopt from %q: want %s or %s", opts.From, FromGolangMigrate, FromGoose)
	}
	if err != nil {
		return nil, err
	}
	if _, ok := p.index(a.Version); !ok && a.Version != p.None() {
		return nil, fmt.Errorf("packs: adopt pack %s: %s records version %d, but the pack has no migration %d (its versions: %s); is this the right pack and folder?",
			p.Name, opts.From, a.Version, a.Version, versionList(p))
	}
	err = db.Baseline(ctx, BaselineOptions{Packs: sel, Pack: p.Name, Version: a.Version, LockTimeout: opts.LockTimeout})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (db *DB) golangMigrateVersion(ctx context.Context, p Pack, table string) (int, error) {
	rows, err := db.db.QueryContext(ctx, "SELECT version, dirty FROM "+db.d.quote(table))
	if err != nil {
		return 0, fmt.Errorf("packs: adopt pack %s from golang-migrate: read table %s: %w (is this the database golang-migrate migrated? --table names another table)", p.Name, table, err)
	}
	defer rows.Close()
	var (
		versions []int64
		dirty    bool
	)
	for rows.Next() {
		var v int64
		var d any
		if err := rows.Scan(&v, &d); err != nil {
			return 0, fmt.Errorf("packs: adopt pack %s: read table %s: %w", p.Name, table, err)
		}
		versions = append(versions, v)
		dirty = truthy(d)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("packs: adopt pack %s: read table %s: %w", p.Name, table, err)
	}
	switch {
	case len(versions) == 0:
		// golang-migrate empties the table when every migration is down.
		return p.None(), nil
	case len(versions) > 1:
		return 0, fmt.Errorf("packs: adopt pack %s: table %s has %d rows; golang-migrate keeps one", p.Name, table, len(versions))
	}
	v := int(versions[0])
	if dirty {
		file := fmt.Sprintf("version %d", v)
		if i, ok := p.index(v); ok {
			file = p.Migrations[i].Source()
		}
		return 0, fmt.Errorf("%w: pack %s: golang-migrate's table %s says version %d is dirty: %s failed part way, and the database may hold some of its changes. Check which of its statements ran, undo or finish them by hand, then mark it clean (migrate force %d, or migrate force %d to count it as not run) and adopt again",
			ErrDirty, p.Name, table, v, file, v, p.below(v))
	}
	return v, nil
}

// truthy reads a dirty flag as each driver returns it: bool, integer or
// text.
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	case []byte:
		s := strings.ToLower(string(x))
		return s == "1" || s == "t" || s == "true"
	case string:
		s := strings.ToLower(x)
		return s == "1" || s == "t" || s == "true"
	}
	return false
}

// gooseVersion reads goose's version as goose does: the newest row of
// each version decides whether it is applied; the highest applied version
// is the database's. Version 0 is the row goose writes when it creates its
// table: nothing applied.
func (db *DB) gooseVersion(ctx context.Context, p Pack, table string) (int, error) {
	rows, err := db.db.QueryContext(ctx, "SELECT version_id, is_applied FROM "+db.d.quote(table)+" ORDER BY id DESC")
	if err != nil {
		return 0, fmt.Errorf("packs: adopt pack %s from goose: read table %s: %w (is this the database goose migrated? --table names another table)", p.Name, table, err)
	}
	defer rows.Close()
	seen := map[int64]bool{}
	applied := map[int]bool{}
	for rows.Next() {
		var v int64
		var a any
		if err := rows.Scan(&v, &a); err != nil {
			return 0, fmt.Errorf("packs: adopt pack %s: read table %s: %w", p.Name, table, err)
		}
		if seen[v] {
			continue
		}
		seen[v] = true
		if truthy(a) && v > 0 {
			applied[int(v)] = true
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("packs: adopt pack %s: read table %s: %w", p.Name, table, err)
	}
	if len(seen) == 0 {
		return 0, fmt.Errorf("packs: adopt pack %s: goose's table %s is empty; goose writes a row for version 0 when it creates it", p.Name, table)
	}
	hi := p.None()
	for v := range applied {
		hi = max(hi, v)
	}
	for _, m := range p.Migrations {
		if m.Version <= hi && !applied[m.Version] {
			return 0, fmt.Errorf("packs: adopt pack %s: goose's table %s records version %d, but not %s below it; apply it with goose (goose up, with -allow-missing) or remove the file, then adopt again", p.Name, table, hi, m.Source())
		}
	}
	return hi, nil
}

// AcceptTable records the live schema of table as pack's record of it in
// upkeep_schema, so that a change made on purpose outside the migrations
// is no longer reported as drift. It refuses a table the pack does not
// record, and one that does not exist.
func (db *DB) AcceptTable(ctx context.Context, pack, table string) error {
	if err := db.ensure(ctx); err != nil {
		return err
	}
	var version int
	err := db.db.QueryRowContext(ctx, db.q(`SELECT table_version FROM upkeep_schema WHERE pack = ? AND table_name = ?`), pack, table).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("packs: accept table %s of pack %s: the pack has no recorded schema for it (see db status)", table, pack)
	}
	if err != nil {
		return fmt.Errorf("packs: accept table %s of pack %s: %w", table, pack, err)
	}
	s, err := db.d.tableSchema(ctx, db.db, table)
	if err != nil {
		return fmt.Errorf("packs: read schema of table %s: %w", table, err)
	}
	if s == nil {
		return fmt.Errorf("packs: accept table %s of pack %s: the table does not exist; restore it, or revert the migration that made it", table, pack)
	}
	_, err = db.db.ExecContext(ctx, db.q(`UPDATE upkeep_schema SET schema_text = ? WHERE pack = ? AND table_name = ?`), s.Text(), pack, table)
	if err != nil {
		return fmt.Errorf("packs: accept table %s of pack %s: %w", table, pack, err)
	}
	return nil
}
