package packs

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ExportFormat is the version of the export format written by
// [DB.ExportTables] and read back by [DB.RestoreTables].
//
// An export is a zip:
//
//	export.json                  what is in it: backend, time, and per pack its
//	                             upkeep_packs row, upkeep_schema rows, and per
//	                             table whether it existed, its normalized schema,
//	                             the statements that recreate it and its columns
//	PACK/settings.jsonl          the pack's upkeep_settings rows: ["key","value"]
//	PACK/tables/TABLE.jsonl      one JSON array per row, one typed cell per column
//
// A cell is null, true/false, a JSON number (integers), a JSON string
// (text), {"f":"1.5"} (floating point, exact), {"b":"base64"} (bytes) or
// {"t":"RFC 3339 time"}. The rows are backend-neutral; the recreate
// statements are the backend's.
const ExportFormat = 1

type exportMeta struct {
	Format  int          `json:"format"`
	Backend string       `json:"backend"`
	Created string       `json:"created"`
	Packs   []exportPack `json:"packs"`
	// AllTables are every table of the database when the export was
	// taken, so that undoing a failed run can drop what it created
	// (UndoRun), tables the packs do not list included.
	AllTables []string `json:"all_tables,omitempty"`
}

type exportPack struct {
	Pack     string         `json:"pack"`
	Row      *exportPackRow `json:"upkeep_packs"` // nil: the pack had no row
	Schema   []exportSchema `json:"upkeep_schema,omitempty"`
	Settings string         `json:"settings"` // file in the zip
	Tables   []exportTable  `json:"tables"`
}

type exportPackRow struct {
	Version       string `json:"version"`
	SchemaVersion int    `json:"schema_version"`
	InstalledAt   string `json:"installed_at"`
	UpdatedAt     string `json:"updated_at"`
}

type exportSchema struct {
	Table   string `json:"table"`
	Version int    `json:"table_version"`
	Text    string `json:"schema_text"`
}

type exportTable struct {
	Name    string       `json:"name"`
	Exists  bool         `json:"exists"`
	Schema  *TableSchema `json:"schema,omitempty"`
	Create  []string     `json:"create,omitempty"`
	After   []string     `json:"after,omitempty"` // foreign keys, run once every table exists
	Columns []string     `json:"columns,omitempty"`
	Rows    int64        `json:"rows"`
	File    string       `json:"file,omitempty"`
}

// ExportTables writes an export (see [ExportFormat]) of packs to w: every
// table each pack lists (and every table recorded for it in upkeep_schema),
// and its upkeep_settings, upkeep_packs and upkeep_schema rows.
func (db *DB) ExportTables(ctx context.Context, packs []Pack, w io.Writer) error {
	if err := db.ensure(ctx); err != nil {
		return err
	}
	return db.export(ctx, db.db, packs, w)
}

// TableStore keeps the exports of packs' tables that [DB.Up] and
// [DB.Down] take before a run (UpOptions.Tables): packs writes the export
// format, the store decides where it lives. Package backupstore's Tables
// keeps them in Updates_Backups as backups of kind "tables".
type TableStore interface {
	// SaveTables stores the export that write writes, of the tables of
	// packs, and returns its name (a backup ID).
	SaveTables(ctx context.Context, packs []string, write func(w io.Writer) error) (name string, err error)
	// OpenTables opens a stored export: its files (export.json and the
	// rest) as an fs.FS, and what to close when done.
	OpenTables(name string) (fs.FS, io.Closer, error)
}

// saveTables exports packs through store, on q (the run's locked
// connection or transaction).
func (db *DB) saveTables(ctx context.Context, q querier, store TableStore, packs []Pack) (string, error) {
	names := make([]string, len(packs))
	for i, p := range packs {
		names[i] = p.Name
	}
	name, err := store.SaveTables(ctx, names, func(w io.Writer) error { return db.export(ctx, q, packs, w) })
	if err != nil {
		return "", fmt.Errorf("packs: export the tables of %s: %w", strings.Join(names, ", "), err)
	}
	return name, nil
}

func (db *DB) export(ctx context.Context, q querier, packs []Pack, w io.Writer) error {
	zw := zip.NewWriter(w)
	meta := exportMeta{Format: ExportFormat, Backend: db.d.name(), Created: db.now().UTC().Format(time.RFC3339)}
	var err error
	if meta.AllTables, err = db.d.tableNames(ctx, q); err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	for _, p := range packs {
		ep, err := db.exportPack(ctx, q, p, zw)
		if err != nil {
			return err
		}
		meta.Packs = append(meta.Packs, ep)
	}
	f, err := zw.Create("export.json")
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	if err := enc.Encode(meta); err != nil {
		return err
	}
	return zw.Close()
}

func (db *DB) exportPack(ctx context.Context, q querier, p Pack, zw *zip.Writer) (exportPack, error) {
	ep := exportPack{Pack: p.Name, Settings: p.Name + "/settings.jsonl"}
	wrap := func(what string, err error) error {
		return fmt.Errorf("packs: export %s of pack %s: %w", what, p.Name, err)
	}
	var row exportPackRow
	err := q.QueryRowContext(ctx, db.q(`SELECT version, schema_version, installed_at, updated_at FROM upkeep_packs WHERE pack = ?`), p.Name).
		Scan(&row.Version, &row.SchemaVersion, &row.InstalledAt, &row.UpdatedAt)
	switch {
	case err == nil:
		ep.Row = &row
	case !errors.Is(err, sql.ErrNoRows):
		return ep, wrap("upkeep_packs", err)
	}
	tables := append([]string(nil), p.Tables...)
	seen := map[string]bool{}
	for _, t := range tables {
		seen[t] = true
	}
	rows, err := q.QueryContext(ctx, db.q(`SELECT table_name, table_version, schema_text FROM upkeep_schema WHERE pack = ? ORDER BY table_name`), p.Name)
	if err != nil {
		return ep, wrap("upkeep_schema", err)
	}
	for rows.Next() {
		var s exportSchema
		if err := rows.Scan(&s.Table, &s.Version, &s.Text); err != nil {
			rows.Close()
			return ep, wrap("upkeep_schema", err)
		}
		ep.Schema = append(ep.Schema, s)
		if !seen[s.Table] {
			seen[s.Table] = true
			tables = append(tables, s.Table)
		}
	}
	if err := rows.Close(); err != nil {
		return ep, wrap("upkeep_schema", err)
	}

	// Settings.
	fw, err := zw.Create(ep.Settings)
	if err != nil {
		return ep, err
	}
	rows, err = q.QueryContext(ctx, db.q(`SELECT `+db.d.quote("key")+`, value FROM upkeep_settings WHERE pack = ? ORDER BY `+db.d.quote("key")), p.Name)
	if err != nil {
		return ep, wrap("upkeep_settings", err)
	}
	enc := json.NewEncoder(fw)
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return ep, wrap("upkeep_settings", err)
		}
		if err := enc.Encode([]string{k, v}); err != nil {
			rows.Close()
			return ep, err
		}
	}
	if err := rows.Close(); err != nil {
		return ep, wrap("upkeep_settings", err)
	}

	for _, t := range tables {
		et, err := db.exportTable(ctx, q, p.Name, t, zw)
		if err != nil {
			return ep, wrap("table "+t, err)
		}
		ep.Tables = append(ep.Tables, et)
	}
	return ep, nil
}

func (db *DB) exportTable(ctx context.Context, q querier, pack, table string, zw *zip.Writer) (exportTable, error) {
	et := exportTable{Name: table}
	s, err := db.d.tableSchema(ctx, q, table)
	if err != nil || s == nil {
		return et, err
	}
	et.Exists = true
	et.Schema = s
	if et.Create, et.After, err = db.d.tableDDL(ctx, q, table); err != nil {
		return et, err
	}
	sel := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		et.Columns = append(et.Columns, c.Name)
		sel[i] = db.d.selectColumn(c.Name)
	}
	et.File = path.Join(pack, "tables", table+".jsonl")
	fw, err := zw.Create(et.File)
	if err != nil {
		return et, err
	}
	rows, err := q.QueryContext(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+db.d.quote(table))
	if err != nil {
		return et, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return et, err
	}
	vals := make([]any, len(sel))
	ptrs := make([]any, len(sel))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	cells := make([]json.RawMessage, len(sel))
	var line bytes.Buffer
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return et, err
		}
		for i, v := range vals {
			if cells[i], err = encodeCell(v, types[i].DatabaseTypeName()); err != nil {
				return et, fmt.Errorf("column %s: %w", et.Columns[i], err)
			}
		}
		line.Reset()
		b, err := json.Marshal(cells)
		if err != nil {
			return et, err
		}
		line.Write(b)
		line.WriteByte('\n')
		if _, err := fw.Write(line.Bytes()); err != nil {
			return et, err
		}
		et.Rows++
	}
	return et, rows.Err()
}

// encodeCell encodes one value as a typed cell.
func encodeCell(v any, dbType string) (json.RawMessage, error) {
	switch x := v.(type) {
	case nil:
		return json.RawMessage("null"), nil
	case bool:
		return json.Marshal(x)
	case int64:
		return json.RawMessage(strconv.FormatInt(x, 10)), nil
	case float64:
		return json.Marshal(map[string]string{"f": strconv.FormatFloat(x, 'g', -1, 64)})
	case string:
		return json.Marshal(x)
	case time.Time:
		return json.Marshal(map[string]string{"t": x.Format(time.RFC3339Nano)})
	case []byte:
		t := strings.ToUpper(dbType)
		switch {
		case t == "" || strings.Contains(t, "BLOB") || strings.Contains(t, "BINARY") || t == "BYTEA" || t == "BIT":
			return json.Marshal(map[string]string{"b": base64.StdEncoding.EncodeToString(x)})
		case strings.HasSuffix(t, "INT") || t == "INTEGER" || t == "YEAR":
			if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
				return json.RawMessage(x), nil
			}
			if _, err := strconv.ParseUint(string(x), 10, 64); err == nil {
				return json.RawMessage(x), nil
			}
		case t == "FLOAT" || t == "DOUBLE" || t == "REAL":
			return json.Marshal(map[string]string{"f": string(x)})
		}
		return json.Marshal(string(x))
	}
	return json.Marshal(fmt.Sprint(v))
}

// decodeCell is the inverse of encodeCell.
func decodeCell(raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, fmt.Errorf("empty cell")
	}
	switch raw[0] {
	case 'n':
		return nil, nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case '{':
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		switch {
		case m["f"] != "":
			f, err := strconv.ParseFloat(m["f"], 64)
			if err != nil && !math.IsInf(f, 0) {
				return nil, err
			}
			return f, nil
		case m["t"] != "":
			return time.Parse(time.RFC3339Nano, m["t"])
		default:
			if b, ok := m["b"]; ok {
				return base64.StdEncoding.DecodeString(b)
			}
		}
		return nil, fmt.Errorf("unknown cell %s", raw)
	}
	s := string(raw)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u, nil
	}
	return nil, fmt.Errorf("unknown cell %s", raw)
}

// RestoreTables puts back what the export in fsys holds (its files, as
// [DB.ExportTables] wrote them; name says where it comes from, in messages
// and in upkeep_migrations): each table is dropped and recreated with its
// rows (a table the export says did not exist is dropped), and the packs'
// upkeep_settings, upkeep_packs and upkeep_schema rows are replaced; any
// interrupted migration's progress is cleared. On SQLite and PostgreSQL it
// is one transaction; on MySQL/MariaDB DDL commits as it goes. It holds the
// migration lock.
func (db *DB) RestoreTables(ctx context.Context, fsys fs.FS, name string) error {
	_, err := db.withLock(ctx, 0, func(ctx context.Context, conn *sql.Conn, tx *sql.Tx) (*Result, error) {
		return nil, db.restoreLocked(ctx, conn, tx, fsys, name)
	})
	return err
}

// UndoRun puts the database back as it was when the export in fsys (named
// name) was taken before a migration run that failed or was interrupted,
// holding the migration lock: the export's tables, settings and
// bookkeeping ([DB.RestoreTables]), and tables the run created that the
// export's packs do not list are dropped, so that the tables and their
// columns are exactly as before the run.
func (db *DB) UndoRun(ctx context.Context, fsys fs.FS, name string) error {
	_, err := db.withLock(ctx, 0, func(ctx context.Context, conn *sql.Conn, tx *sql.Tx) (*Result, error) {
		return nil, db.undoRunLocked(ctx, conn, tx, fsys, name)
	})
	return err
}

// undoRunLocked is UndoRun for a caller that holds the migration lock.
func (db *DB) undoRunLocked(ctx context.Context, conn *sql.Conn, tx *sql.Tx, fsys fs.FS, zipPath string) error {
	var meta exportMeta
	if err := readZipJSON(fsys, "export.json", &meta); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadExport, zipPath, err)
	}
	if err := db.restoreLocked(ctx, conn, tx, fsys, zipPath); err != nil {
		return err
	}
	if meta.AllTables == nil {
		return nil // an export from before AllTables: nothing to compare with
	}
	before := map[string]bool{}
	for _, t := range meta.AllTables {
		before[t] = true
	}
	now, err := db.d.tableNames(ctx, conn)
	if err != nil {
		return fmt.Errorf("packs: restore %s: list tables: %w", zipPath, err)
	}
	if err := db.d.foreignKeyChecks(ctx, conn, false); err != nil {
		return fmt.Errorf("packs: restore %s: %w", zipPath, err)
	}
	defer db.d.foreignKeyChecks(context.WithoutCancel(ctx), conn, true)
	for _, t := range now {
		if !before[t] && !strings.HasPrefix(t, "upkeep_") {
			if _, err := conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+db.d.quote(t)); err != nil {
				return fmt.Errorf("packs: restore %s: drop table %s, made by the failed run: %w", zipPath, t, err)
			}
		}
	}
	return nil
}

// restoreLocked is RestoreTables for a caller that holds the migration lock
// on conn (and, on SQLite, its write transaction tx, which it commits).
func (db *DB) restoreLocked(ctx context.Context, conn *sql.Conn, tx *sql.Tx, fsys fs.FS, zipPath string) error {
	var meta exportMeta
	var err error
	if err := readZipJSON(fsys, "export.json", &meta); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadExport, zipPath, err)
	}
	if meta.Format != ExportFormat {
		return fmt.Errorf("%w: %s: format %d, want %d", ErrBadExport, zipPath, meta.Format, ExportFormat)
	}
	if meta.Backend != db.d.name() {
		return fmt.Errorf("%w: %s was taken on %s, this database is %s", ErrBadExport, zipPath, meta.Backend, db.d.name())
	}
	if db.d.transactionalDDL() && tx == nil {
		if tx, err = conn.BeginTx(ctx, nil); err != nil {
			return fmt.Errorf("packs: restore %s: %w", zipPath, err)
		}
		defer tx.Rollback()
	}
	if err := db.d.foreignKeyChecks(ctx, conn, false); err != nil {
		return fmt.Errorf("packs: restore %s: %w", zipPath, err)
	}
	defer db.d.foreignKeyChecks(context.WithoutCancel(ctx), conn, true)
	if err := db.restore(ctx, txOr(tx, conn), fsys, meta, zipPath); err != nil {
		return fmt.Errorf("packs: restore %s: %w", zipPath, err)
	}
	if tx != nil {
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("packs: restore %s: commit: %w", zipPath, err)
		}
	}
	return nil
}

func readZipJSON(zr fs.FS, name string, v any) error {
	f, err := zr.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return json.NewDecoder(f).Decode(v)
}

func (db *DB) restore(ctx context.Context, q querier, zr fs.FS, meta exportMeta, name string) error {
	// Drop every table first (in reverse), then create, so that tables
	// referring to each other can be recreated in any order.
	var after []string
	for _, ep := range meta.Packs {
		for i := len(ep.Tables) - 1; i >= 0; i-- {
			t := ep.Tables[i]
			if _, err := q.ExecContext(ctx, "DROP TABLE IF EXISTS "+db.d.quote(t.Name)); err != nil {
				return fmt.Errorf("drop table %s of pack %s: %w", t.Name, ep.Pack, err)
			}
		}
	}
	for _, ep := range meta.Packs {
		for _, t := range ep.Tables {
			if !t.Exists {
				continue
			}
			if err := db.restoreTable(ctx, q, zr, t); err != nil {
				return fmt.Errorf("table %s of pack %s: %w", t.Name, ep.Pack, err)
			}
			after = append(after, t.After...)
		}
	}
	for _, s := range after {
		if _, err := q.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	for _, ep := range meta.Packs {
		if err := db.restoreBookkeeping(ctx, q, zr, ep, name); err != nil {
			return fmt.Errorf("pack %s: %w", ep.Pack, err)
		}
	}
	return nil
}

func (db *DB) restoreTable(ctx context.Context, q querier, zr fs.FS, t exportTable) error {
	for _, s := range t.Create {
		if _, err := q.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("recreate: %w", err)
		}
	}
	f, err := zr.Open(t.File)
	if err != nil {
		return err
	}
	defer f.Close()
	ph := make([]string, len(t.Columns))
	for i := range ph {
		ph[i] = "?"
	}
	stmt, err := q.PrepareContext(ctx, db.q(db.d.insertPrefix(t.Name, t.Columns)+"VALUES ("+strings.Join(ph, ", ")+")"))
	if err != nil {
		return err
	}
	defer stmt.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	args := make([]any, len(t.Columns))
	n := 0
	for sc.Scan() {
		n++
		var cells []json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &cells); err != nil {
			return fmt.Errorf("%s line %d: %w", t.File, n, err)
		}
		if len(cells) != len(t.Columns) {
			return fmt.Errorf("%s line %d: %d cells for %d columns", t.File, n, len(cells), len(t.Columns))
		}
		for i, c := range cells {
			if args[i], err = decodeCell(c); err != nil {
				return fmt.Errorf("%s line %d: %w", t.File, n, err)
			}
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("insert row %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", t.File, err)
	}
	return db.d.afterRestore(ctx, q, t.Name)
}

func (db *DB) restoreBookkeeping(ctx context.Context, q querier, zr fs.FS, ep exportPack, name string) error {
	key := db.d.quote("key")
	if _, err := q.ExecContext(ctx, db.q(`DELETE FROM upkeep_settings WHERE pack = ?`), ep.Pack); err != nil {
		return err
	}
	f, err := zr.Open(ep.Settings)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	var kvs [][]string
	for {
		var kv []string
		if err := dec.Decode(&kv); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("%s: %w", ep.Settings, err)
		}
		if len(kv) != 2 {
			return fmt.Errorf("%s: want [key, value]", ep.Settings)
		}
		kvs = append(kvs, kv)
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i][0] < kvs[j][0] })
	for _, kv := range kvs {
		if _, err := q.ExecContext(ctx, db.q(`INSERT INTO upkeep_settings (pack, `+key+`, value) VALUES (?, ?, ?)`), ep.Pack, kv[0], kv[1]); err != nil {
			return err
		}
	}
	if _, err := q.ExecContext(ctx, db.q(`DELETE FROM upkeep_packs WHERE pack = ?`), ep.Pack); err != nil {
		return err
	}
	if r := ep.Row; r != nil {
		if _, err := q.ExecContext(ctx, db.q(`INSERT INTO upkeep_packs (pack, version, schema_version, installed_at, updated_at) VALUES (?, ?, ?, ?, ?)`),
			ep.Pack, r.Version, r.SchemaVersion, r.InstalledAt, r.UpdatedAt); err != nil {
			return err
		}
	}
	if _, err := q.ExecContext(ctx, db.q(`DELETE FROM upkeep_schema WHERE pack = ?`), ep.Pack); err != nil {
		return err
	}
	for _, s := range ep.Schema {
		if _, err := q.ExecContext(ctx, db.q(`INSERT INTO upkeep_schema (pack, table_name, table_version, schema_text) VALUES (?, ?, ?, ?)`), ep.Pack, s.Table, s.Version, s.Text); err != nil {
			return err
		}
	}
	if _, err = q.ExecContext(ctx, db.q(`DELETE FROM upkeep_progress WHERE pack = ?`), ep.Pack); err != nil {
		return err
	}
	// The history says the pack went back to the export's version.
	version := 0
	if ep.Row != nil {
		version = ep.Row.SchemaVersion
	}
	_, err = q.ExecContext(ctx, db.q(insertMigrationSQL), ep.Pack, version, "restore "+name, "", "restore", db.timestamp(), 0)
	return err
}

// queryStrings runs a query of one text column and returns its values.
func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
