package packs

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/upkeep/upkeep/internal/dbaddr"
)

// SchemaState is the schema of a database at one moment, as [DB.Inspect]
// read it: its tables, leaving out upkeep's own.
type SchemaState struct {
	st *schemaState
	// Tables describes each table, sorted by name: "name (col TYPE, ...)".
	Tables []string
}

// Inspect reads the schema of the database's tables (upkeep's own left
// out), to be compared later with [DB.SchemaChanges].
func (db *DB) Inspect(ctx context.Context) (*SchemaState, error) {
	eng, err := newSchemaEngine(db.d, db.db)
	if err != nil {
		return nil, err
	}
	st, err := eng.inspect(ctx, nil)
	if err != nil {
		return nil, err
	}
	e := eng.(*atlasEngine)
	out := &SchemaState{st: st, Tables: []string{}}
	for _, t := range st.s.Tables {
		var cols []string
		for _, c := range t.Columns {
			cols = append(cols, c.Name+" "+e.columnText(c))
		}
		out.Tables = append(out.Tables, fmt.Sprintf("%s (%s)", t.Name, strings.Join(cols, ", ")))
	}
	sort.Strings(out.Tables)
	return out, nil
}

// SchemaChanges lists how to differs from from, two states of this
// database, and the statements that would turn from into to.
func (db *DB) SchemaChanges(ctx context.Context, from, to *SchemaState) ([]SchemaChange, []string, error) {
	eng, err := newSchemaEngine(db.d, db.db)
	if err != nil {
		return nil, nil, err
	}
	p, err := eng.plan(ctx, from.st, to.st)
	if err != nil {
		return nil, nil, err
	}
	return nonNil(p.Changes), nonNil(p.Statements), nil
}

// SameDatabase reports whether two addresses name the same database.
func SameDatabase(a, b, root string) bool {
	pa, err := dbaddr.Parse(a, root)
	if err != nil {
		return false
	}
	pb, err := dbaddr.Parse(b, root)
	return err == nil && pa.Same(pb)
}

// CheckScratch checks that dsn can serve as a scratch database: a
// PostgreSQL or MySQL database that is empty and is not production. It
// returns an error matching [ErrBadDevDB] when it cannot.
func CheckScratch(ctx context.Context, dsn, production, root string) error {
	if dsn == "" {
		return fmt.Errorf("%w: no address given", ErrBadDevDB)
	}
	sc, err := openScratch(ctx, DesiredOptions{DevDB: dsn, Production: production, Root: root})
	if err != nil {
		return err
	}
	sc.db.Close()
	return nil
}

// EmptyScratch drops every table and view of the scratch database dsn,
// which a rehearsal filled; it refuses production and SQLite.
func EmptyScratch(ctx context.Context, dsn, production, root string) error {
	a, err := dbaddr.Parse(dsn, root)
	if err != nil {
		return fmt.Errorf("packs: %w", err)
	}
	if a.Kind == dbaddr.SQLite {
		return fmt.Errorf("%w: %s: a scratch database is PostgreSQL or MySQL", ErrBadDevDB, a)
	}
	if SameDatabase(dsn, production, root) {
		return fmt.Errorf("%w: %s is the production database", ErrBadDevDB, a)
	}
	sdb, err := dbaddr.Open(a)
	if err != nil {
		return fmt.Errorf("packs: %w", err)
	}
	defer sdb.Close()
	sdb.SetMaxOpenConns(1)
	sc := &scratch{db: sdb, d: dialectOf(a.Kind, a.Path), addr: a.String()}
	return sc.clear(ctx)
}
