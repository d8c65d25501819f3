package packs

import (
	"archive/zip"
	"context"
	"database/sql"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// typesDDL is, per backend, a table with the column types an export must
// carry exactly, generated keys and a foreign key included.
var typesDDL = map[string][]string{
	"sqlite": {
		`CREATE TABLE parent (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT)`,
		`CREATE TABLE typed (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id), i INTEGER, r REAL, t TEXT, b BLOB, d DATETIME, n NUMERIC, flag BOOLEAN)`,
		`CREATE INDEX typed_t ON typed (t)`,
	},
	"postgres": {
		`CREATE TABLE parent (id SERIAL PRIMARY KEY, name TEXT)`,
		`CREATE TABLE typed (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, parent_id INTEGER REFERENCES parent (id), i BIGINT, r DOUBLE PRECISION, t TEXT DEFAULT 'x', b BYTEA, d TIMESTAMPTZ, n NUMERIC(12,4), flag BOOLEAN, j JSONB, CONSTRAINT typed_i_positive CHECK (i <> 0))`,
		`CREATE INDEX typed_t ON typed (t)`,
	},
	"mysql": {
		"CREATE TABLE parent (id INT AUTO_INCREMENT PRIMARY KEY, name TEXT)",
		"CREATE TABLE typed (id BIGINT AUTO_INCREMENT PRIMARY KEY, parent_id INT, i BIGINT, r DOUBLE, t VARCHAR(100) DEFAULT 'x', b BLOB, d DATETIME(6), n DECIMAL(12,4), flag TINYINT(1), FOREIGN KEY (parent_id) REFERENCES parent (id), INDEX typed_t (t))",
	},
}

var typesInsert = map[string][]string{
	"sqlite": {
		`INSERT INTO parent (name) VALUES ('p1'), ('p2')`,
		`INSERT INTO typed (parent_id, i, r, t, b, d, n, flag) VALUES (1, -9007199254740993, 0.1, 'ü ''q'' ;', X'00FF10', '2026-11-21 10:00:00', 12.5, 1), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL), (NULL, 9223372036854775807, 1e300, '', X'', 'not a date', '007', 0)`,
	},
	"postgres": {
		`INSERT INTO parent (name) VALUES ('p1'), ('p2')`,
		`INSERT INTO typed (parent_id, i, r, t, b, d, n, flag, j) VALUES (1, -9007199254740993, 0.1, 'ü ''q'' ;', '\x00ff10', '2026-11-21 10:00:00.123456+00', 12.5, true, '{"a": [1, 2]}'), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), (NULL, 9223372036854775807, 1e300, '', '\x', NULL, 0.0001, false, '[]')`,
	},
	"mysql": {
		"INSERT INTO parent (name) VALUES ('p1'), ('p2')",
		"INSERT INTO typed (parent_id, i, r, t, b, d, n, flag) VALUES (1, -9007199254740993, 0.1, 'ü ''q'' ;', X'00FF10', '2026-11-21 10:00:00.123456', 12.5, 1), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL), (NULL, 9223372036854775807, 1e300, '', X'', NULL, 0.0001, 0)",
	},
}

func dumpTable(t *testing.T, db *DB, table string) []string {
	t.Helper()
	rows, err := db.SQL().Query("SELECT * FROM " + db.d.quote(table) + " ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, v := range vals {
			if !v.Valid {
				parts = append(parts, "<null>")
			} else {
				parts = append(parts, v.String)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

// exportTypes checks that an export round trip keeps every value, the
// schema and the generated keys of tables with many column types.
func exportTypes(t *testing.T, db *DB, backend string) {
	ctx := context.Background()
	for _, s := range append(typesDDL[backend], typesInsert[backend]...) {
		if _, err := db.SQL().Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	p := Pack{Name: "typed", Tables: []string{"parent", "typed"}}
	if err := db.Baseline(ctx, BaselineOptions{Packs: []Pack{p}, Pack: "typed"}); err != nil {
		t.Fatal(err)
	}
	wantParent, wantTyped := dumpTable(t, db, "parent"), dumpTable(t, db, "typed")
	schemaParent, _ := db.TableSchema(ctx, "parent")
	schemaTyped, _ := db.TableSchema(ctx, "typed")
	path, err := exportFile(ctx, db, []Pack{p}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"DELETE FROM typed", "DROP TABLE typed", "DELETE FROM parent"} {
		if _, err := db.SQL().Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := restoreFile(ctx, db, path); err != nil {
		t.Fatal(err)
	}
	if got := dumpTable(t, db, "parent"); !reflect.DeepEqual(got, wantParent) {
		t.Errorf("parent:\n got %q\nwant %q", got, wantParent)
	}
	if got := dumpTable(t, db, "typed"); !reflect.DeepEqual(got, wantTyped) {
		t.Errorf("typed:\n got %q\nwant %q", got, wantTyped)
	}
	for name, want := range map[string]*TableSchema{"parent": schemaParent, "typed": schemaTyped} {
		if got, _ := db.TableSchema(ctx, name); !reflect.DeepEqual(got, want) {
			t.Errorf("schema of %s:\n got %s\nwant %s", name, got.Text(), want.Text())
		}
	}
	if d, err := db.Drift(ctx); err != nil || len(d) != 0 {
		t.Errorf("drift after restore: %v %v", d, err)
	}
	// Generated keys go on after the restored rows.
	if _, err := db.SQL().Exec("INSERT INTO parent (name) VALUES ('p3')"); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, "SELECT MAX(id) FROM parent"); n != 3 {
		t.Errorf("next parent id %d, want 3", n)
	}
	if backend == "postgres" {
		if _, err := db.SQL().Exec("INSERT INTO typed (i) VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		if n := queryInt(t, db, "SELECT MAX(id) FROM typed"); n != 4 {
			t.Errorf("next typed id %d, want 4", n)
		}
		// The foreign key is back.
		if _, err := db.SQL().Exec("INSERT INTO typed (parent_id) VALUES (99)"); err == nil {
			t.Error("foreign key not restored")
		}
	}
}

// dirStore is a TableStore for the tests: each export is a zip in the
// folder, named by the path it returns.
type dirStore string

func (d dirStore) SaveTables(ctx context.Context, packs []string, write func(io.Writer) error) (string, error) {
	if err := os.MkdirAll(string(d), 0o755); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(string(d), "export-"+strings.Join(packs, "-")+"-*.zip")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := write(f); err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

func (d dirStore) OpenTables(name string) (fs.FS, io.Closer, error) {
	zr, err := zip.OpenReader(name)
	if err != nil {
		return nil, nil, err
	}
	return zr, zr, nil
}

// exportFile writes an export of ps into dir and returns its path.
func exportFile(ctx context.Context, db *DB, ps []Pack, dir string) (string, error) {
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	return dirStore(dir).SaveTables(ctx, names, func(w io.Writer) error { return db.ExportTables(ctx, ps, w) })
}

// restoreFile puts back the export at path.
func restoreFile(ctx context.Context, db *DB, path string) error {
	fsys, c, err := dirStore("").OpenTables(path)
	if err != nil {
		return err
	}
	defer c.Close()
	return db.RestoreTables(ctx, fsys, filepath.Base(path))
}
