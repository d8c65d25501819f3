package packs

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/mysql"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlite"
)

// schemaEngine is the one seam between upkeep and the library that
// inspects and compares schemas (ariga.io/atlas: sql/schema, sql/migrate
// and its sqlite, postgres and mysql drivers). Nothing else in upkeep
// imports that library; the engine works over upkeep's own *sql.DB (or a
// transaction), opened with upkeep's drivers.
type schemaEngine interface {
	// inspect reads the tables of the connection's current schema (only
	// those named, when tables is not empty), leaving out upkeep's own
	// tables.
	inspect(ctx context.Context, tables []string) (*schemaState, error)
	// plan lists the changes that turn from into to, and the statements
	// that make them, in order.
	plan(ctx context.Context, from, to *schemaState) (*schemaPlan, error)
}

// schemaState is an inspected schema, opaque outside the engine.
type schemaState struct {
	s *schema.Schema
}

// tables names the state's tables, sorted.
func (st *schemaState) tables() []string {
	var out []string
	for _, t := range st.s.Tables {
		out = append(out, t.Name)
	}
	sort.Strings(out)
	return out
}

// schemaPlan is what [schemaEngine.plan] found.
type schemaPlan struct {
	Changes    []SchemaChange
	Statements []string // each without its terminating semicolon
	Hints      []string // rename hints
}

// SchemaChange is one difference between two schemas, from the point of
// view of the change that removes it.
type SchemaChange struct {
	Kind   string `json:"kind"` // "add table", "drop column", "change column", ...
	Table  string `json:"table"`
	Name   string `json:"name,omitempty"`   // the column, index, key or check; "" for a table
	Detail string `json:"detail,omitempty"` // the definition, or what changes
	// Destructive is set for changes that lose data: a dropped table or
	// column, a type that narrows.
	Destructive bool `json:"destructive,omitempty"`
}

func (c SchemaChange) String() string {
	s := c.Kind + " " + c.Table
	if c.Name != "" {
		s += "." + c.Name
	}
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	if c.Destructive {
		s += " (destructive)"
	}
	return s
}

// newSchemaEngine returns the engine for the backend of d over q.
func newSchemaEngine(d dialect, q schema.ExecQuerier) (schemaEngine, error) {
	drv, err := d.schemaDriver(q)
	if err != nil {
		return nil, fmt.Errorf("packs: open the schema engine on %s: %w", d.name(), err)
	}
	return &atlasEngine{backend: d.name(), drv: drv}, nil
}

// sqliteIndexQuery runs the library's SQLite queries with one change: its
// query of a table's indexes joins pragma_index_list to sqlite_master in
// the order SQLite reads best (CROSS JOIN keeps pragma_index_list the
// outer loop). As the library writes it, SQLite runs PRAGMA index_list
// once per row of sqlite_master, for each table: inspecting 1,000 tables
// took 10 s instead of 0.3 s. The rows are the same (an inner join either
// way); a query the text does not match runs as it is.
type sqliteIndexQuery struct{ schema.ExecQuerier }

func (q sqliteIndexQuery) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	const join = " AS il JOIN sqlite_master AS m ON il.name = m.name"
	if strings.HasSuffix(query, join) {
		// In sqlite_master's order, as the library's plan gives them.
		query = strings.TrimSuffix(query, join) + " AS il CROSS JOIN sqlite_master AS m ON il.name = m.name ORDER BY m.rowid"
	}
	return q.ExecQuerier.QueryContext(ctx, query, args...)
}

type atlasEngine struct {
	backend string
	drv     migrate.Driver
}

func (e *atlasEngine) inspect(ctx context.Context, tables []string) (*schemaState, error) {
	name := ""
	if e.backend == "sqlite" {
		name = "main"
	}
	opts := &schema.InspectOptions{Tables: tables, Mode: schema.InspectTables}
	s, err := e.drv.InspectSchema(ctx, name, opts)
	if err != nil && !schema.IsNotExistError(err) {
		return nil, fmt.Errorf("packs: inspect the %s schema: %w", e.backend, err)
	}
	if s == nil {
		s = schema.New(name)
	}
	kept := s.Tables[:0]
	for _, t := range s.Tables {
		if !strings.HasPrefix(t.Name, "upkeep_") {
			kept = append(kept, t)
		}
	}
	s.Tables = kept
	if e.backend == "sqlite" {
		for _, t := range s.Tables {
			for _, c := range t.Columns {
				keepDeclared(c.Type)
			}
		}
	}
	return &schemaState{s: s}, nil
}

func (e *atlasEngine) plan(ctx context.Context, from, to *schemaState) (*schemaPlan, error) {
	// The two sides may come from databases whose schemas are named
	// differently; compare them as one.
	a, b := *from.s, *to.s
	b.Name = a.Name
	// The library's diff may drop indexes from the tables it compares
	// (MySQL's implicit foreign key indexes): note them first.
	fromIdx, toIdx := indexesOf(from.s), indexesOf(to.s)
	changes, err := e.drv.SchemaDiff(&a, &b)
	if err != nil {
		return nil, fmt.Errorf("packs: compare schemas: %w", err)
	}
	changes = e.keepTables(changes)
	e.complete(fromIdx, toIdx, changes)
	p := &schemaPlan{}
	for _, c := range changes {
		p.Changes = append(p.Changes, e.describe(c)...)
		if mt, ok := c.(*schema.ModifyTable); ok {
			p.Hints = append(p.Hints, renameHints(e, mt)...)
		}
	}
	if len(changes) == 0 {
		return p, nil
	}
	noQualifier := ""
	pl, err := e.drv.PlanChanges(ctx, "upkeep", changes, func(o *migrate.PlanOptions) { o.SchemaQualifier = &noQualifier })
	if err != nil {
		return nil, fmt.Errorf("packs: plan the schema changes: %w", err)
	}
	for _, c := range pl.Changes {
		p.Statements = append(p.Statements, strings.TrimSuffix(strings.TrimSpace(c.Cmd), ";"))
	}
	return p, nil
}

// keepDeclared keeps a SQLite column's declared type as written when it has
// a size ("VARCHAR(200)"): the library's SQLite types drop sizes, which
// SQLite ignores but upkeep's schema records keep, so a rebuilt table
// would read as changed.
func keepDeclared(ct *schema.ColumnType) {
	if ct != nil && strings.Contains(ct.Raw, "(") {
		ct.Type = &sqlite.UserDefinedType{T: ct.Raw}
	}
}

// keepTables drops changes of the schema itself (its attributes): only
// tables and what they hold are compared.
func (e *atlasEngine) keepTables(changes []schema.Change) []schema.Change {
	var out []schema.Change
	for _, c := range changes {
		switch c.(type) {
		case *schema.AddTable, *schema.DropTable, *schema.ModifyTable, *schema.RenameTable:
			out = append(out, c)
		}
	}
	return out
}

// complete adds to changes what the backend needs and the library leaves
// out: on PostgreSQL a USING cast for a column whose type changes (without
// it a text column cannot become a number, even in an empty table); on
// MySQL the drop of the index the server made to support a foreign key that
// is dropped, when the target has no such index.
func (e *atlasEngine) complete(fromIdx, toIdx map[string]map[string]*schema.Index, changes []schema.Change) {
	for _, c := range changes {
		mt, ok := c.(*schema.ModifyTable)
		if !ok {
			continue
		}
		for _, tc := range mt.Changes {
			switch tc := tc.(type) {
			case *schema.ModifyColumn:
				if e.backend == "postgres" && tc.Change.Is(schema.ChangeType) {
					if typ, err := postgres.FormatType(tc.To.Type.Type); err == nil {
						tc.Extra = append(tc.Extra, &postgres.ConvertUsing{X: postgresDialect{}.quote(tc.To.Name) + "::" + typ})
					}
				}
			case *schema.DropForeignKey:
				if e.backend != "mysql" {
					continue
				}
				ix := fromIdx[mt.T.Name][tc.F.Symbol]
				if _, keep := toIdx[mt.T.Name][tc.F.Symbol]; ix != nil && !keep {
					mt.Changes = append(mt.Changes, &schema.DropIndex{I: ix})
				}
			}
		}
	}
}

// indexesOf maps each table of s to its indexes by name.
func indexesOf(s *schema.Schema) map[string]map[string]*schema.Index {
	out := map[string]map[string]*schema.Index{}
	for _, t := range s.Tables {
		m := map[string]*schema.Index{}
		for _, ix := range t.Indexes {
			m[ix.Name] = ix
		}
		out[t.Name] = m
	}
	return out
}

// describe turns one change into what a person reads.
func (e *atlasEngine) describe(c schema.Change) []SchemaChange {
	switch c := c.(type) {
	case *schema.AddTable:
		var cols []string
		for _, col := range c.T.Columns {
			cols = append(cols, col.Name+" "+e.typeText(col.Type))
		}
		return []SchemaChange{{Kind: "add table", Table: c.T.Name, Detail: strings.Join(cols, ", ")}}
	case *schema.DropTable:
		return []SchemaChange{{Kind: "drop table", Table: c.T.Name, Destructive: true}}
	case *schema.RenameTable:
		return []SchemaChange{{Kind: "rename table", Table: c.From.Name, Detail: "to " + c.To.Name}}
	case *schema.ModifyTable:
		var out []SchemaChange
		for _, tc := range c.Changes {
			if sc, ok := e.describeTableChange(c.T.Name, tc); ok {
				out = append(out, sc)
			}
		}
		return out
	}
	return nil
}

func (e *atlasEngine) describeTableChange(table string, c schema.Change) (SchemaChange, bool) {
	sc := SchemaChange{Table: table}
	switch c := c.(type) {
	case *schema.AddColumn:
		sc.Kind, sc.Name, sc.Detail = "add column", c.C.Name, e.columnText(c.C)
	case *schema.DropColumn:
		sc.Kind, sc.Name, sc.Detail, sc.Destructive = "drop column", c.C.Name, e.columnText(c.C), true
	case *schema.RenameColumn:
		sc.Kind, sc.Name, sc.Detail = "rename column", c.From.Name, "to "+c.To.Name
	case *schema.ModifyColumn:
		sc.Kind, sc.Name = "change column", c.From.Name
		var what []string
		if c.Change.Is(schema.ChangeType) {
			what = append(what, fmt.Sprintf("type %s -> %s", e.typeText(c.From.Type), e.typeText(c.To.Type)))
			if !widens(c.From.Type.Type, c.To.Type.Type) {
				sc.Destructive = true
			}
		}
		if c.Change.Is(schema.ChangeNull) {
			what = append(what, fmt.Sprintf("null %s -> %s", nullText(c.From), nullText(c.To)))
		}
		if c.Change.Is(schema.ChangeDefault) {
			what = append(what, fmt.Sprintf("default %s -> %s", defaultText(c.From), defaultText(c.To)))
		}
		if len(what) == 0 {
			what = append(what, e.columnText(c.From)+" -> "+e.columnText(c.To))
		}
		sc.Detail = strings.Join(what, ", ")
	case *schema.AddIndex:
		sc.Kind, sc.Name, sc.Detail = "add index", c.I.Name, indexText(c.I)
	case *schema.DropIndex:
		sc.Kind, sc.Name, sc.Detail = "drop index", c.I.Name, indexText(c.I)
	case *schema.ModifyIndex:
		sc.Kind, sc.Name, sc.Detail = "change index", c.From.Name, indexText(c.From)+" -> "+indexText(c.To)
	case *schema.RenameIndex:
		sc.Kind, sc.Name, sc.Detail = "rename index", c.From.Name, "to "+c.To.Name
	case *schema.AddPrimaryKey:
		sc.Kind, sc.Detail = "add primary key", indexText(c.P)
	case *schema.DropPrimaryKey:
		sc.Kind, sc.Detail = "drop primary key", indexText(c.P)
	case *schema.ModifyPrimaryKey:
		sc.Kind, sc.Detail = "change primary key", indexText(c.From)+" -> "+indexText(c.To)
	case *schema.AddForeignKey:
		sc.Kind, sc.Name, sc.Detail = "add foreign key", c.F.Symbol, fkText(c.F)
	case *schema.DropForeignKey:
		sc.Kind, sc.Name, sc.Detail = "drop foreign key", c.F.Symbol, fkText(c.F)
	case *schema.ModifyForeignKey:
		sc.Kind, sc.Name, sc.Detail = "change foreign key", c.From.Symbol, fkText(c.From)+" -> "+fkText(c.To)
	case *schema.AddCheck:
		sc.Kind, sc.Name, sc.Detail = "add check", c.C.Name, c.C.Expr
	case *schema.DropCheck:
		sc.Kind, sc.Name, sc.Detail = "drop check", c.C.Name, c.C.Expr
	case *schema.ModifyCheck:
		sc.Kind, sc.Name, sc.Detail = "change check", c.From.Name, c.From.Expr+" -> "+c.To.Expr
	default:
		return sc, false
	}
	return sc, true
}

// renameHints names the pairs of a dropped and an added column of the same
// type in one table: perhaps a rename, which a generated pair would turn
// into a loss of the column's data.
func renameHints(e *atlasEngine, mt *schema.ModifyTable) []string {
	var dropped, added []*schema.Column
	for _, c := range mt.Changes {
		switch c := c.(type) {
		case *schema.DropColumn:
			dropped = append(dropped, c.C)
		case *schema.AddColumn:
			added = append(added, c.C)
		}
	}
	var out []string
	for _, d := range dropped {
		for _, a := range added {
			if e.typeText(d.Type) == e.typeText(a.Type) {
				out = append(out, fmt.Sprintf("table %s: column %s is dropped and column %s of the same type (%s) is added; if it is a rename, write ALTER TABLE %s RENAME COLUMN %s TO %s by hand instead",
					mt.T.Name, d.Name, a.Name, e.typeText(a.Type), mt.T.Name, d.Name, a.Name))
			}
		}
	}
	return out
}

func (e *atlasEngine) typeText(ct *schema.ColumnType) string {
	if ct == nil {
		return ""
	}
	if ct.Type != nil {
		var (
			s   string
			err error
		)
		switch e.backend {
		case "sqlite":
			s, err = sqlite.FormatType(ct.Type)
		case "postgres":
			s, err = postgres.FormatType(ct.Type)
		case "mysql":
			s, err = mysql.FormatType(ct.Type)
		}
		if err == nil && s != "" {
			return s
		}
	}
	return ct.Raw
}

func (e *atlasEngine) columnText(c *schema.Column) string {
	s := e.typeText(c.Type)
	if c.Type != nil && !c.Type.Null {
		s += " NOT NULL"
	}
	if d := defaultText(c); d != "none" {
		s += " DEFAULT " + d
	}
	return s
}

func nullText(c *schema.Column) string {
	if c.Type != nil && c.Type.Null {
		return "NULL"
	}
	return "NOT NULL"
}

func defaultText(c *schema.Column) string {
	switch d := c.Default.(type) {
	case nil:
		return "none"
	case *schema.Literal:
		return d.V
	case *schema.RawExpr:
		return d.X
	}
	return fmt.Sprint(c.Default)
}

func indexText(ix *schema.Index) string {
	if ix == nil {
		return ""
	}
	var parts []string
	for _, p := range ix.Parts {
		switch {
		case p.C != nil:
			parts = append(parts, p.C.Name)
		case p.X != nil:
			if x, ok := p.X.(*schema.RawExpr); ok {
				parts = append(parts, x.X)
			} else {
				parts = append(parts, "(expression)")
			}
		}
	}
	s := "(" + strings.Join(parts, ", ") + ")"
	if ix.Unique {
		s = "UNIQUE " + s
	}
	return s
}

func fkText(fk *schema.ForeignKey) string {
	var cols, refs []string
	for _, c := range fk.Columns {
		cols = append(cols, c.Name)
	}
	for _, c := range fk.RefColumns {
		refs = append(refs, c.Name)
	}
	ref := ""
	if fk.RefTable != nil {
		ref = fk.RefTable.Name
	}
	return fmt.Sprintf("(%s) REFERENCES %s (%s)", strings.Join(cols, ", "), ref, strings.Join(refs, ", "))
}

// widens reports whether a column's type change keeps every value: a
// longer string, an unbounded one, or a wider integer. Any other type change
// may lose data, so it counts as destructive.
func widens(from, to schema.Type) bool {
	switch f := from.(type) {
	case *schema.StringType:
		t, ok := to.(*schema.StringType)
		if !ok {
			return false
		}
		if t.Size == 0 {
			return true
		}
		return f.Size > 0 && t.Size >= f.Size
	case *schema.IntegerType:
		t, ok := to.(*schema.IntegerType)
		if !ok || t.Unsigned != f.Unsigned {
			return false
		}
		return intRank(f.T) > 0 && intRank(f.T) <= intRank(t.T)
	}
	return false
}

func intRank(t string) int {
	switch strings.ToLower(t) {
	case "tinyint":
		return 1
	case "smallint", "int2":
		return 2
	case "mediumint":
		return 3
	case "int", "integer", "int4":
		return 4
	case "bigint", "int8":
		return 5
	}
	return 0
}
