package packs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"ariga.io/atlas/sql/mysql"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlite"
)

// PackDiff is how the live database differs from what a pack expects: the
// schema recorded after its last migration, and its schema.sql.
type PackDiff struct {
	Pack string `json:"pack"`
	// Drift lists the live tables' differences from the record: the
	// start's drift report.
	Drift []DriftItem `json:"drift"`
	// DriftSQL brings the live tables back to the record.
	DriftSQL []string `json:"drift_sql"`
	// Desired is the live database against the pack's schema.sql; nil
	// when the pack has none, or when it was not compared (DesiredSkipped).
	Desired *Comparison `json:"desired,omitempty"`
	// DesiredSkipped says why schema.sql was not compared (see
	// DiffOptions.SkipDesiredWithoutDevDB).
	DesiredSkipped string `json:"desired_skipped,omitempty"`
}

// The sources of a [Difference].
const (
	SourceRecorded = "recorded schema" // the schema recorded after the pack's last migration
	SourceDesired  = DesiredFile       // the pack's schema.sql
)

// Difference is one way the live database differs from what a pack
// expects.
type Difference struct {
	Pack   string `json:"pack"`
	Source string `json:"source"` // SourceRecorded or SourceDesired
	Text   string `json:"text"`
}

// Differences lists how the live database differs from what the pack
// expects, one line each: the drift from its recorded schema, then the
// differences from its schema.sql. It is the one list both db diff and the
// start's drift report print.
func (pd PackDiff) Differences() []Difference {
	out := []Difference{}
	for _, d := range pd.Drift {
		out = append(out, Difference{Pack: pd.Pack, Source: SourceRecorded, Text: d.Line()})
	}
	if pd.Desired != nil {
		for _, c := range pd.Desired.Changes {
			out = append(out, Difference{Pack: pd.Pack, Source: SourceDesired, Text: c.String()})
		}
	}
	return out
}

// DiffOptions says what [DB.Diff] compares.
type DiffOptions struct {
	// Packs are the installed packs (see [List]); their folders hold the
	// schema.sql files.
	Packs []Installed
	// Pack limits the diff to one pack; "" is every pack.
	Pack string
	// DevDB is where a PostgreSQL or MySQL database's schema.sql is
	// applied to be compared (see [DesiredOptions]); SQLite uses memory.
	DevDB string
	// SkipDesiredWithoutDevDB leaves schema.sql out, saying so in
	// PackDiff.DesiredSkipped, where comparing it needs a DevDB that was
	// not given; otherwise that is an error matching [ErrBadDevDB].
	SkipDesiredWithoutDevDB bool
}

// Diff compares the live database with each pack's recorded schema and
// its schema.sql, and gives the SQL that would reconcile them. It changes
// nothing in the database.
func (db *DB) Diff(ctx context.Context, opts DiffOptions) ([]PackDiff, error) {
	recs, err := db.records(ctx)
	if err != nil {
		return nil, err
	}
	eng, err := newSchemaEngine(db.d, db.db)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, r := range recs {
		names[r.pack] = true
	}
	dirs := map[string]Installed{}
	for _, in := range opts.Packs {
		names[in.Name] = true
		dirs[in.Name] = in
	}
	if opts.Pack != "" {
		if !names[opts.Pack] {
			return nil, fmt.Errorf("%w %q: neither installed nor recorded in the database", ErrUnknownPack, opts.Pack)
		}
		names = map[string]bool{opts.Pack: true}
	}
	var order []string
	for n := range names {
		order = append(order, n)
	}
	sort.Strings(order)
	out := []PackDiff{}
	for _, name := range order {
		pd := PackDiff{Pack: name, Drift: []DriftItem{}, DriftSQL: []string{}}
		var mine []tableRecord
		for _, r := range recs {
			if r.pack == name {
				mine = append(mine, r)
			}
		}
		if pd.Drift, pd.DriftSQL, err = db.driftSQL(ctx, eng, mine); err != nil {
			return nil, err
		}
		if in, ok := dirs[name]; ok {
			pd.Desired, err = db.diffDesired(ctx, eng, in, opts.DevDB)
			if opts.SkipDesiredWithoutDevDB && opts.DevDB == "" && errors.Is(err, ErrBadDevDB) {
				pd.DesiredSkipped, err = fmt.Sprintf("comparing with %s on %s needs an empty database of the same kind (--dev-db or UPKEEP_DEV_DB)", DesiredFile, db.d.name()), nil
			}
			if err != nil {
				return nil, err
			}
		}
		out = append(out, pd)
	}
	return out, nil
}

// tableRecord is one row of upkeep_schema, read.
type tableRecord struct {
	pack, table string
	version     int
	schema      *TableSchema
}

func (db *DB) records(ctx context.Context) ([]tableRecord, error) {
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
	defer rows.Close()
	var out []tableRecord
	for rows.Next() {
		var (
			r    tableRecord
			text string
		)
		if err := rows.Scan(&r.pack, &r.table, &r.version, &text); err != nil {
			return nil, fmt.Errorf("packs: read upkeep_schema: %w", err)
		}
		if r.schema, err = parseSchemaText(text); err != nil {
			return nil, fmt.Errorf("packs: upkeep_schema of pack %s table %s: %w", r.pack, r.table, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// driftSQL lists the drift of the recorded tables (as [DB.Drift] does) and
// the statements that bring them back to their records: the live tables
// are inspected twice, the second copy is edited into what the record says,
// and the engine plans the way from the first to the second.
func (db *DB) driftSQL(ctx context.Context, eng schemaEngine, recs []tableRecord) ([]DriftItem, []string, error) {
	drift := []DriftItem{}
	var tables []string
	for _, r := range recs {
		now, err := db.d.tableSchema(ctx, db.db, r.table)
		if err != nil {
			return nil, nil, fmt.Errorf("packs: read schema of table %s of pack %s: %w", r.table, r.pack, err)
		}
		items := compareSchemas(r.pack, r.table, r.version, r.schema, now)
		if len(items) > 0 {
			tables = append(tables, r.table)
		}
		drift = append(drift, items...)
	}
	if len(drift) == 0 {
		return drift, []string{}, nil
	}
	live, err := eng.inspect(ctx, tables)
	if err != nil {
		return nil, nil, err
	}
	target, err := eng.inspect(ctx, tables)
	if err != nil {
		return nil, nil, err
	}
	var extra []string
	for _, r := range recs {
		e, err := db.toRecord(target.s, r)
		if err != nil {
			return nil, nil, err
		}
		extra = append(extra, e...)
	}
	p, err := eng.plan(ctx, live, target)
	if err != nil {
		return nil, nil, err
	}
	return drift, append(nonNil(p.Statements), extra...), nil
}

// toRecord edits s so that table r.table reads as its record; it returns
// statements the engine cannot plan (PostgreSQL indexes, recorded by their
// definition).
func (db *DB) toRecord(s *schema.Schema, r tableRecord) ([]string, error) {
	t, ok := s.Table(r.table)
	if !ok {
		t = schema.NewTable(r.table)
		s.AddTables(t)
	}
	var extra []string
	byName := map[string]Column{}
	for _, c := range r.schema.Columns {
		byName[c.Name] = c
	}
	// Columns: drop those the record lacks, change or add the others.
	kept := t.Columns[:0]
	for _, c := range t.Columns {
		if _, ok := byName[c.Name]; ok {
			kept = append(kept, c)
		}
	}
	t.Columns = kept
	for _, rc := range r.schema.Columns {
		c, ok := t.Column(rc.Name)
		if !ok {
			c = schema.NewColumn(rc.Name)
			c.Type = &schema.ColumnType{}
			t.AddColumns(c)
		}
		if err := db.setColumn(c, rc); err != nil {
			return nil, fmt.Errorf("packs: upkeep_schema of table %s column %s: %w", r.table, rc.Name, err)
		}
	}
	// Indexes: drop those the record lacks or defines otherwise, add the
	// others.
	live, err := db.d.tableSchema(context.Background(), db.db, r.table)
	if err != nil {
		return nil, err
	}
	liveIdx := map[string]Index{}
	if live != nil {
		for _, ix := range live.Indexes {
			liveIdx[ix.Name] = ix
		}
	}
	recIdx := map[string]Index{}
	for _, ix := range r.schema.Indexes {
		recIdx[ix.Name] = ix
	}
	keptIdx := t.Indexes[:0]
	for _, ix := range t.Indexes {
		if rec, ok := recIdx[ix.Name]; ok && rec.String() == liveIdx[ix.Name].String() {
			keptIdx = append(keptIdx, ix)
		}
	}
	t.Indexes = keptIdx
	for _, rec := range r.schema.Indexes {
		if l, ok := liveIdx[rec.Name]; ok && l.String() == rec.String() {
			continue
		}
		if rec.Def != "" && rec.Name != "PRIMARY KEY" {
			extra = append(extra, rec.Def)
			continue
		}
		ix := &schema.Index{Name: rec.Name, Unique: rec.Unique, Table: t}
		for i, cn := range rec.Columns {
			c, ok := t.Column(cn)
			if !ok {
				return nil, fmt.Errorf("packs: upkeep_schema of table %s: index %s names column %s, which the record lacks", r.table, rec.Name, cn)
			}
			ix.Parts = append(ix.Parts, &schema.IndexPart{SeqNo: i, C: c})
		}
		if rec.Name == "PRIMARY KEY" {
			ix.Name = ""
			t.PrimaryKey = ix
		} else {
			t.Indexes = append(t.Indexes, ix)
		}
	}
	if _, ok := recIdx["PRIMARY KEY"]; !ok && live != nil {
		if _, had := liveIdx["PRIMARY KEY"]; had {
			t.PrimaryKey = nil
		}
	}
	return extra, nil
}

// setColumn makes c read as the recorded column rc.
func (db *DB) setColumn(c *schema.Column, rc Column) error {
	var (
		typ schema.Type
		err error
	)
	switch db.d.name() {
	case "sqlite":
		typ, err = sqlite.ParseType(rc.Type)
	case "postgres":
		typ, err = postgres.ParseType(rc.Type)
	case "mysql":
		typ, err = mysql.ParseType(strings.ToLower(rc.Type))
	}
	if err != nil {
		return err
	}
	c.Type.Type, c.Type.Raw, c.Type.Null = typ, rc.Type, rc.Nullable
	if db.d.name() == "sqlite" {
		keepDeclared(c.Type)
	}
	c.Default = nil
	if d := rc.Default; d != "" && !strings.HasPrefix(d, "GENERATED ") && !strings.HasSuffix(d, "AUTO_INCREMENT") {
		c.Default = &schema.RawExpr{X: d}
	}
	return nil
}

// diffDesired compares the live tables with the pack's schema.sql applied
// to a scratch database of the same backend.
func (db *DB) diffDesired(ctx context.Context, eng schemaEngine, in Installed, devDB string) (*Comparison, error) {
	path := filepath.Join(in.Dir, DesiredFile)
	text, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("packs: read %s: %w", path, err)
	}
	if db.d.name() != "sqlite" && devDB == "" {
		return nil, fmt.Errorf("%w: comparing %s database %s with %s needs an empty database of the same kind to apply it to: give --dev-db URL", ErrBadDevDB, db.d.name(), db.addr, path)
	}
	if db.d.name() == "sqlite" {
		devDB = ""
	}
	sc, err := openScratch(ctx, DesiredOptions{DevDB: devDB, Production: db.prodAddress()})
	if err != nil {
		return nil, err
	}
	defer sc.close(ctx)
	if sc.d.name() != db.d.name() {
		return nil, fmt.Errorf("%w: --dev-db is %s, the database is %s", ErrBadDevDB, sc.d.name(), db.d.name())
	}
	unhandled, err := sc.applyDesired(ctx, string(text), path)
	if err != nil {
		return nil, err
	}
	want, err := sc.inspect(ctx)
	if err != nil {
		return nil, err
	}
	// The live side: the tables schema.sql names and those the pack lists.
	tables := want.tables()
	if in.Manifest != nil && in.Manifest.Database != nil {
		tables = append(tables, in.Manifest.Database.Tables...)
	}
	live, err := eng.inspect(ctx, tables)
	if err != nil {
		return nil, err
	}
	up, err := eng.plan(ctx, live, want)
	if err != nil {
		return nil, err
	}
	return &Comparison{Backend: db.d.name(), Changes: nonNil(up.Changes), Up: nonNil(up.Statements), Down: []string{},
		Hints: nonNil(up.Hints), Unhandled: nonNil(unhandled)}, nil
}

// prodAddress is the address the database was opened with, for the
// check that a --dev-db is not it.
func (db *DB) prodAddress() string { return db.addr }
