package packs

import (
	"context"
	"fmt"
)

// Drift: the live schema of each table a pack recorded, compared with its
// record in upkeep_schema (written after every migration, see
// recordSchemas).

// DriftKind says how a table differs from its record.
type DriftKind string

// The kinds of drift.
const (
	TableMissing  DriftKind = "table missing"
	ColumnAdded   DriftKind = "column added"
	ColumnRemoved DriftKind = "column removed"
	ColumnChanged DriftKind = "column changed"
	IndexAdded    DriftKind = "index added"
	IndexRemoved  DriftKind = "index removed"
	IndexChanged  DriftKind = "index changed"
)

// DriftItem is one difference between a table's live schema and the schema
// recorded after its pack's last migration.
type DriftItem struct {
	Pack   string
	Table  string
	Kind   DriftKind
	Name   string // the column or index; "" for the table
	Was    string // as recorded; "" when added
	Is     string // as it is now; "" when removed or missing
	Record int    // schema version at which the table was recorded
}

func (d DriftItem) String() string {
	switch d.Kind {
	case TableMissing:
		return fmt.Sprintf("pack %s: table %s: missing (recorded at schema version %d)", d.Pack, d.Table, d.Record)
	case ColumnAdded, IndexAdded:
		return fmt.Sprintf("pack %s: table %s: %s: %s", d.Pack, d.Table, d.Kind, d.Is)
	case ColumnRemoved, IndexRemoved:
		return fmt.Sprintf("pack %s: table %s: %s: %s", d.Pack, d.Table, d.Kind, d.Was)
	}
	return fmt.Sprintf("pack %s: table %s: %s %s: was %s, is %s", d.Pack, d.Table, d.Kind, d.Name, d.Was, d.Is)
}

// Line is the item as db status, db diff and the start's drift report
// print it: "pack blog, posts.hits: column added, is hits INTEGER".
func (d DriftItem) Line() string {
	what := d.Table
	if d.Name != "" {
		what += "." + d.Name
	}
	s := fmt.Sprintf("pack %s, %s: %s", d.Pack, what, d.Kind)
	if d.Was != "" {
		s += ", was " + d.Was
	}
	if d.Is != "" {
		s += ", is " + d.Is
	}
	return s
}

// compareSchemas lists how now differs from rec.
func compareSchemas(pack, table string, version int, rec, now *TableSchema) []DriftItem {
	item := func(k DriftKind, name, was, is string) DriftItem {
		return DriftItem{Pack: pack, Table: table, Kind: k, Name: name, Was: was, Is: is, Record: version}
	}
	if now == nil {
		return []DriftItem{item(TableMissing, "", "", "")}
	}
	out := diffNamed(rec.Columns, now.Columns, func(c Column) string { return c.Name }, ColumnRemoved, ColumnChanged, ColumnAdded, item)
	return append(out, diffNamed(rec.Indexes, now.Indexes, func(ix Index) string { return ix.Name }, IndexRemoved, IndexChanged, IndexAdded, item)...)
}

// diffNamed lists the items of rec missing from now, those that read
// differently now, and those of now that rec lacks, matched by name.
func diffNamed[T interface{ String() string }](rec, now []T, name func(T) string, removed, changed, added DriftKind,
	item func(k DriftKind, name, was, is string) DriftItem) []DriftItem {
	nowByName := map[string]T{}
	for _, x := range now {
		nowByName[name(x)] = x
	}
	recorded := map[string]bool{}
	var out []DriftItem
	for _, r := range rec {
		recorded[name(r)] = true
		switch n, ok := nowByName[name(r)]; {
		case !ok:
			out = append(out, item(removed, name(r), r.String(), ""))
		case n.String() != r.String():
			out = append(out, item(changed, name(r), r.String(), n.String()))
		}
	}
	for _, n := range now {
		if !recorded[name(n)] {
			out = append(out, item(added, name(n), "", n.String()))
		}
	}
	return out
}

// Drift compares the live schema of every table recorded in upkeep_schema
// with its record and lists the differences, by pack and table. A table
// that was recorded and is gone is reported as [TableMissing].
func (db *DB) Drift(ctx context.Context) ([]DriftItem, error) {
	if err := db.ensure(ctx); err != nil {
		return nil, err
	}
	if db.lacks("upkeep_schema") {
		return nil, nil
	}
	rows, err := db.db.QueryContext(ctx, `SELECT pack, table_name, table_version, schema_text FROM upkeep_schema ORDER BY pack, table_name`)
	if err != nil {
		return nil, fmt.Errorf("packs: read upkeep_schema: %w", err)
	}
	type rec struct {
		pack, table, text string
		version           int
	}
	var recs []rec
	for rows.Next() {
		var r rec
		if err := rows.Scan(&r.pack, &r.table, &r.version, &r.text); err != nil {
			rows.Close()
			return nil, fmt.Errorf("packs: read upkeep_schema: %w", err)
		}
		recs = append(recs, r)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("packs: read upkeep_schema: %w", err)
	}
	var out []DriftItem
	for _, r := range recs {
		was, err := parseSchemaText(r.text)
		if err != nil {
			return nil, fmt.Errorf("packs: upkeep_schema of pack %s table %s: %w", r.pack, r.table, err)
		}
		now, err := db.d.tableSchema(ctx, db.db, r.table)
		if err != nil {
			return nil, fmt.Errorf("packs: read schema of table %s of pack %s: %w", r.table, r.pack, err)
		}
		out = append(out, compareSchemas(r.pack, r.table, r.version, was, now)...)
	}
	return out, nil
}

// Verification is the result of [DB.Verify].
type Verification struct {
	Changed []*ChecksumError // applied migrations whose files changed
	Drift   []DriftItem      // tables that differ from their record
}

// OK reports whether nothing changed and nothing drifted.
func (v *Verification) OK() bool { return len(v.Changed) == 0 && len(v.Drift) == 0 }

// Verify checks the checksums of the applied migrations of packs and the
// drift of every recorded table, together.
func (db *DB) Verify(ctx context.Context, packs []Pack) (*Verification, error) {
	st, err := db.Status(ctx, packs)
	if err != nil {
		return nil, err
	}
	v := &Verification{}
	for _, ps := range st.Packs {
		v.Changed = append(v.Changed, ps.Changed...)
	}
	if v.Drift, err = db.Drift(ctx); err != nil {
		return nil, err
	}
	return v, nil
}
