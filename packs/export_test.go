package packs

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
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
	path, err := db.Export(ctx, []Pack{p}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"DELETE FROM typed", "DROP TABLE typed", "DELETE FROM parent"} {
		if _, err := db.SQL().Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := db.RestoreExport(ctx, path); err != nil {
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

// Two exports in the same second never overwrite each other.
func TestExportNames(t *testing.T) {
	root := t.TempDir()
	db := openDB(t, "", root)
	fixed := time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)
	db.now = func() time.Time { return fixed }
	ps := []Pack{{Name: "blog"}, {Name: "shop"}}
	var names []string
	for range 3 {
		p, err := db.Export(context.Background(), ps, "")
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(p))
	}
	want := []string{"20261121T093000Z_db-blog-shop.zip", "20261121T093000Z_db-blog-shop_2.zip", "20261121T093000Z_db-blog-shop_3.zip"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("%q, want %q", names, want)
	}
	left, _ := filepath.Glob(filepath.Join(root, "Updates_Backups", ".export-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
