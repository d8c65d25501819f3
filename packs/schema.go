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

// TableSchema reads the live, normalized schema of table; nil when it does
// not exist.
func (db *DB) TableSchema(ctx context.Context, table string) (*TableSchema, error) {
	return db.d.tableSchema(ctx, db.db, table)
}
