package packs

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/upkeep/upkeep/internal/sqlsplit"
)

func TestParseMigrationNames(t *testing.T) {
	good := fstest.MapFS{}
	for _, n := range []string{"0002_b.up.sql", "0001_a.up.sql", "0001_a.down.sql", "0003_c.up.sql"} {
		good["m/"+n] = &fstest.MapFile{Data: []byte("SELECT 1;")}
	}
	ms, err := ReadMigrationsFS(good, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[0].UpFile != "0001_a.up.sql" || ms[0].DownFile != "0001_a.down.sql" || ms[1].DownFile != "" || ms[2].Name != "c" {
		t.Fatalf("%+v", ms)
	}
	bad := []struct {
		names []string
		want  []string // each must appear in the message
	}{
		{[]string{"0001_a.up.sql", "0001_b.up.sql"}, []string{"0001_a.up.sql", "0001_b.up.sql", "both have version 1"}},
		{[]string{"0001_a.up.sql", "1_a.up.sql"}, []string{"0001_a.up.sql", "1_a.up.sql", "both have version 1"}},
		{[]string{"0001_a.up.sql", "0002_b.down.sql"}, []string{"0002_b.down.sql", "no matching up migration"}},
		{[]string{"0001_a.up.sql", "1_a.sql"}, []string{"0001_a.up.sql", "1_a.sql", "both have version 1"}},
	}
	for _, tt := range bad {
		fsys := fstest.MapFS{}
		for _, n := range tt.names {
			fsys["m/"+n] = &fstest.MapFile{Data: []byte("SELECT 1;")}
		}
		_, err := ReadMigrationsFS(fsys, "m")
		if !errors.Is(err, ErrBadMigrations) || !strings.HasPrefix(err.Error(), "packs: bad migrations in m: ") {
			t.Errorf("%v: %v, want ErrBadMigrations", tt.names, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: message %q lacks %q", tt.names, err, w)
			}
		}
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for n, c := range files {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLoadPacksFromRoot reads an installed pack's migrations folder and
// manifest, merges a registered Go migration, and migrates with them.
func TestLoadPacksFromRoot(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"packs/blog/manifest.json":         `{"format": 1, "pack": "blog", "version": "1.4.0", "database": {"schema_version": 4, "tables": ["posts", "tags"]}, "files": []}`,
		"packs/blog/migrations/README.txt": "not a migration",
	}
	for n, c := range blogFiles() {
		files["packs/blog/migrations/"+n] = c
	}
	writeFiles(t, root, files)
	RegisterGo("blog", 4, "seed", func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO tags (id, name) VALUES (1, 'seeded')")
		return err
	}, nil)
	t.Cleanup(func() {
		goRegistry.Lock()
		delete(goRegistry.m, "blog")
		goRegistry.Unlock()
	})
	ps, err := LoadPacks(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Version != "1.4.0" || ps[0].CodeVersion() != 4 || len(ps[0].Migrations) != 4 || ps[0].Migrations[3].Source() != "go:4_seed" {
		t.Fatalf("%+v", ps)
	}
	db := openDB(t, "", root)
	res, err := db.Up(context.Background(), UpOptions{Packs: ps, Tables: dirStore(filepath.Join(root, "Updates_Backups"))})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != 4 || queryInt(t, db, "SELECT COUNT(*) FROM tags") != 1 {
		t.Fatalf("applied %+v", res.Applied)
	}
	// Up took an export into the root's Updates_Backups.
	if filepath.Dir(res.Export) != filepath.Join(root, "Updates_Backups") {
		t.Errorf("export %q", res.Export)
	}
	// A Go migration at the version of a file is an error.
	RegisterGo("blog", 2, "clash", func(context.Context, *sql.Tx) error { return nil }, nil)
	if _, err := LoadPacks(root); !errors.Is(err, ErrBadMigrations) || !strings.Contains(err.Error(), "0002_add_slug.up.sql") {
		t.Fatalf("clash: %v", err)
	}
}

func TestLoadPackErrors(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"packs/shop/manifest.json":              `{"format": 1, "pack": "shop", "version": "1.0.0", "database": {"schema_version": 3}, "files": []}`,
		"packs/shop/migrations/0001_a.up.sql":   "SELECT 1;",
		"packs/shop/migrations/0002_b.up.sql":   "SELECT 1;",
		"packs/shop/migrations/0002_b.down.sql": "SELECT 1;",
	})
	if _, err := LoadPacks(root); !errors.Is(err, ErrBadMigrations) || !strings.Contains(err.Error(), "schema version 3") {
		t.Fatalf("schema version above the migrations: %v", err)
	}
	// A goose file renamed to .up.sql would run its Up and Down together.
	writeFiles(t, root, map[string]string{"packs/shop/migrations/0004_d.up.sql": "-- +goose Up\nCREATE TABLE d (id INT);\n-- +goose Down\nDROP TABLE d;\n"})
	if _, err := LoadPacks(root); !errors.Is(err, ErrBadMigrations) || !strings.Contains(err.Error(), "0004_d.up.sql line 1: a goose annotation") {
		t.Fatalf("goose annotation in a .up.sql: %v", err)
	}
	// A pack without a migrations folder has none.
	root2 := t.TempDir()
	writeFiles(t, root2, map[string]string{"packs/core/manifest.json": `{"format": 1, "pack": "core", "version": "2.0.0", "files": []}`})
	ps, err := LoadPacks(root2)
	if err != nil || len(ps) != 1 || ps[0].CodeVersion() != 0 {
		t.Fatalf("%+v %v", ps, err)
	}
}

func TestReadMigrationsFSSums(t *testing.T) {
	fsys := fstest.MapFS{"m/0001_a.up.sql": {Data: []byte("SELECT 1;")}}
	ms, err := ReadMigrationsFS(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("SELECT 1;"))
	if ms[0].SHA256 != hex.EncodeToString(sum[:]) || ms[0].UpSQL != "SELECT 1;" {
		t.Fatalf("%+v", ms[0])
	}
	if _, err := ReadMigrationsFS(fsys, "nope"); err == nil {
		t.Fatal("missing folder read")
	}
}

func TestTxControl(t *testing.T) {
	for text, want := range map[string]bool{
		"BEGIN": true, "begin transaction": true, "BEGIN IMMEDIATE": true, "START TRANSACTION": true,
		"-- wrap\nCOMMIT": true, "END": true, "end transaction": true, "COMMIT WORK": true,
		"CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END": false,
		"SELECT 1": false, "SAVEPOINT a": false, "ROLLBACK TO SAVEPOINT a": false,
	} {
		stmts, err := sqlsplit.Split(text, sqlsplit.SQLite)
		if err != nil {
			t.Fatal(err)
		}
		rule, err := checkStatement(sqlsplit.SQLite, stmts[0])
		if got := rule == skipIt; err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", text, got, err, want)
		}
	}
	if _, err := checkStatement(sqlsplit.SQLite, sqlsplit.Statement{Text: "ROLLBACK"}); err == nil {
		t.Error("ROLLBACK accepted")
	}
}

// TestBetween shows the migrations of (from, to], in order, whether the
// pack's migrations came sorted from a loader or were listed by hand.
func TestBetween(t *testing.T) {
	versions := func(ms []Migration) []int {
		var out []int
		for _, m := range ms {
			out = append(out, m.Version)
		}
		return out
	}
	sorted := Pack{Name: "p"}
	for _, v := range []int{1, 2, 5, 9, 20} {
		sorted.Migrations = append(sorted.Migrations, Migration{Version: v})
	}
	byHand := Pack{Name: "p", Migrations: []Migration{{Version: 9}, {Version: 1}, {Version: 20}, {Version: 5}, {Version: 2}}}
	cases := []struct {
		from, to int
		want     []int
	}{
		{0, 20, []int{1, 2, 5, 9, 20}},
		{1, 9, []int{2, 5, 9}},
		{2, 8, []int{5}},
		{5, 5, nil},
		{9, 2, nil},
		{20, 30, nil},
		{-1, 1, []int{1}},
	}
	for _, c := range cases {
		for _, p := range []Pack{sorted, byHand} {
			if got := versions(p.between(c.from, c.to)); !slices.Equal(got, c.want) {
				t.Errorf("between(%d, %d) of %v = %v, want %v", c.from, c.to, versions(p.Migrations), got, c.want)
			}
		}
	}
}
