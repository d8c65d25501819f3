package packs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// TableSchema is the live schema of one table, normalized by the backend so
// that the same schema always reads the same way on that backend.
type TableSchema struct {
	Columns []Column `json:"columns"`           // in the table's order
	Indexes []Index  `json:"indexes,omitempty"` // by name; the primary key is named "PRIMARY KEY"
}

// Column is one column of a table.
type Column struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
	Default  string `json:"default,omitempty"` // expression as the backend prints it; "" for none
}

func (c Column) String() string {
	s := c.Name + " " + c.Type
	if !c.Nullable {
		s += " NOT NULL"
	}
	if c.Default != "" {
		s += " DEFAULT " + c.Default
	}
	return s
}

// Index is one index or key of a table.
type Index struct {
	Name    string   `json:"name"`
	Unique  bool     `json:"unique,omitempty"`
	Columns []string `json:"columns,omitempty"`
	Def     string   `json:"def,omitempty"` // full definition, where the backend gives one (PostgreSQL)
}

func (ix Index) String() string {
	s := ix.Name
	if ix.Unique {
		s += " UNIQUE"
	}
	if ix.Def != "" {
		return s + " " + ix.Def
	}
	return s + " (" + strings.Join(ix.Columns, ", ") + ")"
}

// Text is the schema as it is recorded in upkeep_schema.schema_text.
func (s *TableSchema) Text() string {
	b, _ := json.Marshal(s)
	return string(b)
}

func parseSchemaText(text string) (*TableSchema, error) {
	var s TableSchema
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

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

// recordSchemas records the live schema of each of the pack's tables at
// version in upkeep_schema, replacing the previous record. Tables that do
// not exist (yet) are not recorded, and records of tables the pack no
// longer lists are removed.
func (db *DB) recordSchemas(ctx context.Context, q querier, p Pack, version int) error {
	if _, err := q.ExecContext(ctx, db.q(`DELETE FROM upkeep_schema WHERE pack = ?`), p.Name); err != nil {
		return fmt.Errorf("packs: record schema of pack %s: %w", p.Name, err)
	}
	for _, t := range p.Tables {
		s, err := db.d.tableSchema(ctx, q, t)
		if err != nil {
			return fmt.Errorf("packs: read schema of table %s of pack %s: %w", t, p.Name, err)
		}
		if s == nil {
			continue
		}
		if _, err := q.ExecContext(ctx, db.q(`INSERT INTO upkeep_schema (pack, table_name, table_version, schema_text) VALUES (?, ?, ?, ?)`),
			p.Name, t, version, s.Text()); err != nil {
			return fmt.Errorf("packs: record schema of table %s of pack %s: %w", t, p.Name, err)
		}
	}
	return nil
}

// Drift compares the live schema of every table recorded in upkeep_schema
// with its record and lists the differences, by pack and table. A table
// that was recorded and is gone is reported as [TableMissing].
func (db *DB) Drift(ctx context.Context) ([]DriftItem, error) {
	if err := db.ensure(ctx); err != nil {
		return nil, err
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

// TableSchema reads the live, normalized schema of table; nil when it does
// not exist.
func (db *DB) TableSchema(ctx context.Context, table string) (*TableSchema, error) {
	return db.d.tableSchema(ctx, db.db, table)
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
