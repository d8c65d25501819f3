package packs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlite"

	"github.com/upkeep/upkeep/internal/testdb"
)

// desiredBackend is where the desired-schema tests run: SQLite in memory
// always, and a fresh server database as --dev-db when one is configured.
type desiredBackend struct {
	name  string
	devDB func(t *testing.T) string
}

var desiredBackends = []desiredBackend{
	{"sqlite", func(*testing.T) string { return "" }},
	{"postgres", func(t *testing.T) string { return testdb.Fresh(t, "postgres") }},
	{"mysql", func(t *testing.T) string { return testdb.Fresh(t, "mysql") }},
}

// writePack writes a pack source folder: migrations (name -> up SQL; a
// .down.sql beside each) and, when desired is not "", schema.sql.
func writePack(t *testing.T, migrations []string, desired string) string {
	t.Helper()
	dir := t.TempDir()
	mdir := filepath.Join(dir, MigrationsDir)
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, up := range migrations {
		base := filepath.Join(mdir, fmt.Sprintf("%04d_step", i+1))
		if err := os.WriteFile(base+".up.sql", []byte(up), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(base+".down.sql", []byte("-- none\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if desired != "" {
		if err := os.WriteFile(filepath.Join(dir, DesiredFile), []byte(desired), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// generateCase is one kind of change: the migrations so far, the desired
// schema, and what the generated pair must say.
type generateCase struct {
	name        string
	base        string // the first migration
	desired     string // schema.sql
	kinds       []string
	destructive bool
	skip        map[string]bool // backends where the kind does not apply
}

var generateCases = []generateCase{
	{
		name:    "add table",
		base:    "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(100) NOT NULL);",
		desired: "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(100) NOT NULL);\nCREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL);",
		kinds:   []string{"add table"},
	},
	{
		name:        "drop table",
		base:        "CREATE TABLE posts (id INTEGER PRIMARY KEY);\nCREATE TABLE old (id INTEGER PRIMARY KEY);",
		desired:     "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
		kinds:       []string{"drop table"},
		destructive: true,
	},
	{
		name:    "add column",
		base:    "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(100) NOT NULL);",
		desired: "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(100) NOT NULL, slug VARCHAR(100));",
		kinds:   []string{"add column"},
	},
	{
		name:        "drop column",
		base:        "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(100) NOT NULL, body TEXT);",
		desired:     "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(100) NOT NULL);",
		kinds:       []string{"drop column"},
		destructive: true,
	},
	{
		name:    "widen column type",
		base:    "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(50) NOT NULL);",
		desired: "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(200) NOT NULL);",
		kinds:   []string{"change column"},
		skip:    map[string]bool{"sqlite": true}, // SQLite ignores lengths
	},
	{
		name:        "narrow column type",
		base:        "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(200) NOT NULL);",
		desired:     "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(50) NOT NULL);",
		kinds:       []string{"change column"},
		destructive: true,
		skip:        map[string]bool{"sqlite": true},
	},
	{
		name:        "change column type",
		base:        "CREATE TABLE posts (id INTEGER PRIMARY KEY, score INTEGER);",
		desired:     "CREATE TABLE posts (id INTEGER PRIMARY KEY, score TEXT);",
		kinds:       []string{"change column"},
		destructive: true,
	},
	{
		name:    "column null",
		base:    "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(100));",
		desired: "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(100) NOT NULL);",
		kinds:   []string{"change column"},
	},
	{
		name:    "column default",
		base:    "CREATE TABLE posts (id INTEGER PRIMARY KEY, status VARCHAR(20) NOT NULL);",
		desired: "CREATE TABLE posts (id INTEGER PRIMARY KEY, status VARCHAR(20) NOT NULL DEFAULT 'draft');",
		kinds:   []string{"change column"},
	},
	{
		name:    "primary key",
		base:    "CREATE TABLE links (a INTEGER NOT NULL, b INTEGER NOT NULL);",
		desired: "CREATE TABLE links (a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a, b));",
		kinds:   []string{"add primary key"},
	},
	{
		name:    "index",
		base:    "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(100) NOT NULL);",
		desired: "CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(100) NOT NULL);\nCREATE INDEX posts_title ON posts (title);",
		kinds:   []string{"add index"},
	},
	{
		name:    "unique index",
		base:    "CREATE TABLE posts (id INTEGER PRIMARY KEY, slug VARCHAR(100) NOT NULL);\nCREATE INDEX posts_slug ON posts (slug);",
		desired: "CREATE TABLE posts (id INTEGER PRIMARY KEY, slug VARCHAR(100) NOT NULL);\nCREATE UNIQUE INDEX posts_slug ON posts (slug);",
		kinds:   []string{"change index"},
	},
	{
		name: "foreign key",
		base: "CREATE TABLE posts (id INTEGER PRIMARY KEY);\nCREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL);",
		desired: "CREATE TABLE posts (id INTEGER PRIMARY KEY);\n" +
			"CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL, CONSTRAINT comments_post FOREIGN KEY (post_id) REFERENCES posts (id));",
		kinds: []string{"add foreign key"},
	},
	{
		name:    "check",
		base:    "CREATE TABLE posts (id INTEGER PRIMARY KEY, score INTEGER NOT NULL);",
		desired: "CREATE TABLE posts (id INTEGER PRIMARY KEY, score INTEGER NOT NULL, CONSTRAINT score_positive CHECK (score >= 0));",
		kinds:   []string{"add check"},
	},
}

func TestGenerate(t *testing.T) {
	for _, b := range desiredBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range generateCases {
				if c.skip[b.name] {
					continue
				}
				t.Run(c.name, func(t *testing.T) {
					runGenerateCase(t, b, c)
				})
			}
		})
	}
}

func runGenerateCase(t *testing.T, b desiredBackend, c generateCase) {
	ctx := context.Background()
	dev := b.devDB(t)
	dir := writePack(t, []string{c.base}, c.desired)
	opts := GenerateOptions{DesiredOptions: DesiredOptions{DevDB: dev}, Dir: dir, Message: "Make it so"}

	g, err := Generate(ctx, opts)
	if c.destructive {
		if !errors.Is(err, ErrDestructive) {
			t.Fatalf("destructive change generated without --allow-destructive: %v (changes %v)", err, g)
		}
		if n := countFiles(t, dir); n != 2 {
			t.Fatalf("a refused generate wrote files: %d in migrations/", n)
		}
		opts.AllowDestructive = true
		g, err = Generate(ctx, opts)
	}
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	var kinds []string
	for _, ch := range g.Changes {
		kinds = append(kinds, ch.Kind)
	}
	for _, k := range c.kinds {
		if !contains(kinds, k) {
			t.Fatalf("changes %v lack %q", g.Changes, k)
		}
	}
	if g.UpFile != filepath.Join(dir, "migrations", "0002_make_it_so.up.sql") || g.DownFile != filepath.Join(dir, "migrations", "0002_make_it_so.down.sql") {
		t.Fatalf("files %s, %s", g.UpFile, g.DownFile)
	}
	up, err := os.ReadFile(g.UpFile)
	if err != nil || !strings.Contains(string(up), ";") {
		t.Fatalf("up file: %q, %v", up, err)
	}

	// The pair round-trips: up gives schema.sql's schema, down the one
	// before, both inspected.
	sc, err := openScratch(ctx, DesiredOptions{DevDB: dev})
	if err != nil {
		t.Fatal(err)
	}
	before := scratchState(t, sc, c.base, "")
	want := scratchState(t, sc, c.desired, "")
	afterUp := scratchState(t, sc, c.base, string(up))
	if d := stateDiff(t, sc, afterUp, want); len(d) > 0 {
		t.Fatalf("after the generated up the schema differs from schema.sql: %v\nup:\n%s", d, up)
	}
	down, err := os.ReadFile(g.DownFile)
	if err != nil {
		t.Fatal(err)
	}
	afterDown := scratchState(t, sc, c.base, string(up), string(down))
	if d := stateDiff(t, sc, afterDown, before); len(d) > 0 {
		t.Fatalf("after up and down the schema differs from before: %v\ndown:\n%s", d, down)
	}
	sc.close(ctx)

	// Generating again, with the pair applied, writes nothing.
	g2, err := Generate(ctx, GenerateOptions{DesiredOptions: DesiredOptions{DevDB: dev}, Dir: dir, Message: "again"})
	if err != nil {
		t.Fatalf("Generate again: %v", err)
	}
	if len(g2.Changes) != 0 || g2.UpFile != "" {
		t.Fatalf("second generate found %v and wrote %q", g2.Changes, g2.UpFile)
	}
	if n := countFiles(t, dir); n != 4 {
		t.Fatalf("%d files in migrations/, want 4", n)
	}
}

// scratchState applies each text in order to an emptied scratch database
// and inspects it.
func scratchState(t *testing.T, sc *scratch, texts ...string) *schemaState {
	t.Helper()
	ctx := context.Background()
	if err := sc.reset(ctx); err != nil {
		t.Fatal(err)
	}
	for _, text := range texts {
		if text == "" {
			continue
		}
		if err := sc.exec(ctx, text, "test.sql", nil); err != nil {
			t.Fatal(err)
		}
	}
	st, err := sc.inspect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func stateDiff(t *testing.T, sc *scratch, a, b *schemaState) []SchemaChange {
	t.Helper()
	eng, err := sc.engine()
	if err != nil {
		t.Fatal(err)
	}
	p, err := eng.plan(context.Background(), a, b)
	if err != nil {
		t.Fatal(err)
	}
	return p.Changes
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(dir, MigrationsDir))
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestGenerateNoDifference(t *testing.T) {
	dir := writePack(t, []string{"CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL);"},
		"-- the posts\nCREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL);\n")
	g, err := Generate(context.Background(), GenerateOptions{Dir: dir, Message: "nothing"})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Changes) != 0 || g.UpFile != "" || countFiles(t, dir) != 2 {
		t.Fatalf("no difference, yet %v, %q, %d files", g.Changes, g.UpFile, countFiles(t, dir))
	}
}

func TestGenerateRenameHintAndUnhandled(t *testing.T) {
	dir := writePack(t, []string{"CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL);"},
		"CREATE TABLE posts (id INTEGER PRIMARY KEY, headline TEXT NOT NULL);\n"+
			"CREATE VIEW recent AS SELECT id FROM posts;\n"+
			"CREATE TRIGGER posts_touch AFTER INSERT ON posts BEGIN SELECT 1; END;\n")
	g, err := Generate(context.Background(), GenerateOptions{Dir: dir, Message: "rename"})
	if !errors.Is(err, ErrDestructive) {
		t.Fatalf("drop of title not refused: %v", err)
	}
	if len(g.Hints) != 1 || !strings.Contains(g.Hints[0], "RENAME COLUMN title TO headline") {
		t.Fatalf("hints %q", g.Hints)
	}
	if len(g.Unhandled) != 2 || !strings.Contains(g.Unhandled[0], "line 2: view recent") || !strings.Contains(g.Unhandled[1], "line 3: trigger posts_touch") {
		t.Fatalf("unhandled %q", g.Unhandled)
	}
}

func TestDevDBRefused(t *testing.T) {
	ctx := context.Background()
	dir := writePack(t, []string{"CREATE TABLE a (id INTEGER PRIMARY KEY);"}, "CREATE TABLE a (id INTEGER PRIMARY KEY);")
	if _, err := Generate(ctx, GenerateOptions{DesiredOptions: DesiredOptions{DevDB: "sqlite:dev.db"}, Dir: dir, Message: "x"}); !errors.Is(err, ErrBadDevDB) {
		t.Fatalf("SQLite --dev-db: %v", err)
	}
	prod := "postgres://app@db.example:5432/shop?sslmode=disable"
	_, err := Generate(ctx, GenerateOptions{DesiredOptions: DesiredOptions{DevDB: "postgresql://other@DB.example/shop", Production: prod}, Dir: dir, Message: "x"})
	if !errors.Is(err, ErrBadDevDB) || !strings.Contains(err.Error(), "production") {
		t.Fatalf("production as --dev-db: %v", err)
	}
	for _, kind := range []string{"postgres", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			dev := testdb.Fresh(t, kind)
			db, err := testdb.Open(dev, "")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("CREATE TABLE customers (id INTEGER PRIMARY KEY)"); err != nil {
				t.Fatal(err)
			}
			_, err = Generate(ctx, GenerateOptions{DesiredOptions: DesiredOptions{DevDB: dev}, Dir: dir, Message: "x"})
			if !errors.Is(err, ErrBadDevDB) || !strings.Contains(err.Error(), "customers") {
				t.Fatalf("non-empty --dev-db: %v", err)
			}
			// It is left as it was.
			if n := countRows(t, db, "SELECT COUNT(*) FROM customers"); n != 0 {
				t.Fatal(n)
			}
		})
	}
}

func countRows(t *testing.T, db *sql.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCheckDesired(t *testing.T) {
	ctx := context.Background()
	dir := writePack(t, []string{"CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL);"},
		"CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL, slug TEXT);")
	_, err := CheckDesired(ctx, dir, DesiredOptions{})
	var me *MismatchError
	if !errors.As(err, &me) || !errors.Is(err, ErrSchemaMismatch) || !strings.Contains(err.Error(), "add column posts.slug") {
		t.Fatalf("CheckDesired: %v", err)
	}
	none := writePack(t, []string{"CREATE TABLE a (id INTEGER PRIMARY KEY);"}, "")
	if _, err := CheckDesired(ctx, none, DesiredOptions{}); err != nil {
		t.Fatalf("no schema.sql: %v", err)
	}
	bad := writePack(t, []string{"CREATE TABLE a (id INTEGER PRIMARY KEY);"}, "CREATE TABLE b (id INTEGER PRIMARY KEY;")
	if _, err := CheckDesired(ctx, bad, DesiredOptions{}); err == nil || !strings.Contains(err.Error(), "schema.sql line 1") {
		t.Fatalf("broken schema.sql: %v", err)
	}
}

func TestDiffAfterColumnAddedByHand(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn, root := b.fresh(t)
			db := openDB(t, dsn, root)
			initSQL := "CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(200) NOT NULL);\nCREATE INDEX notes_body ON notes (body);"
			p := Pack{Name: "notes", Version: "1.0.0", Tables: []string{"notes"},
				Migrations: []Migration{{Version: 1, Name: "init", UpFile: "0001_init.up.sql", UpSQL: initSQL}}}
			if _, err := db.Up(ctx, UpOptions{Packs: []Pack{p}}); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, DesiredFile), []byte(initSQL), 0o644); err != nil {
				t.Fatal(err)
			}
			in := Installed{Name: "notes", Dir: dir}
			dev := ""
			if b.name != "sqlite" {
				dev = testdb.Fresh(t, b.name)
			}
			opts := DiffOptions{Packs: []Installed{in}, DevDB: dev}
			diffs, err := db.Diff(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(diffs) != 1 || len(diffs[0].Drift) != 0 || len(diffs[0].DriftSQL) != 0 || diffs[0].Desired == nil || len(diffs[0].Desired.Changes) != 0 {
				t.Fatalf("before the change by hand: %+v", diffs)
			}

			if _, err := db.SQL().Exec("ALTER TABLE notes ADD COLUMN mood VARCHAR(20)"); err != nil {
				t.Fatal(err)
			}
			drift, err := db.Drift(ctx)
			if err != nil {
				t.Fatal(err)
			}
			diffs, err = db.Diff(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			d := diffs[0]
			// The same differences as the start's drift report.
			if len(drift) != 1 || len(d.Drift) != 1 || d.Drift[0].String() != drift[0].String() || d.Drift[0].Kind != ColumnAdded {
				t.Fatalf("drift %v, diff %v", drift, d.Drift)
			}
			if len(d.DriftSQL) == 0 || !strings.Contains(strings.Join(d.DriftSQL, "\n"), "notes") {
				t.Fatalf("drift SQL %q", d.DriftSQL)
			}
			if len(d.Desired.Changes) != 1 || d.Desired.Changes[0].Kind != "drop column" || d.Desired.Changes[0].Name != "mood" {
				t.Fatalf("against schema.sql: %v", d.Desired.Changes)
			}
			// Diff changed nothing.
			if drift2, _ := db.Drift(ctx); len(drift2) != 1 {
				t.Fatalf("drift after diff: %v", drift2)
			}
			// The SQL reconciles: run it, and nothing drifts.
			for _, s := range d.DriftSQL {
				if _, err := db.SQL().Exec(s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			if drift, err = db.Drift(ctx); err != nil || len(drift) != 0 {
				t.Fatalf("after the drift SQL: %v, %v", drift, err)
			}

			// A dropped index and a changed column come back too.
			if _, err := db.SQL().Exec("DROP INDEX notes_body" + map[string]string{"mysql": " ON notes"}[b.name]); err != nil {
				t.Fatal(err)
			}
			diffs, err = db.Diff(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range diffs[0].DriftSQL {
				if _, err := db.SQL().Exec(s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			if drift, err = db.Drift(ctx); err != nil || len(drift) != 0 {
				t.Fatalf("after the drift SQL %q: %v, %v", diffs[0].DriftSQL, drift, err)
			}
		})
	}
}

// The SQLite index query as the engine runs it (sqliteIndexQuery) reads
// the same indexes as the library's own: named, unique, automatic and
// partial ones, and none for a table without.
func TestSQLiteIndexQuerySameIndexes(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{
		"CREATE TABLE a (id INTEGER PRIMARY KEY, email TEXT UNIQUE, name TEXT, n INT)",
		"CREATE INDEX a_name ON a (name DESC, n)",
		"CREATE UNIQUE INDEX a_n ON a (n) WHERE n > 0",
		"CREATE TABLE b (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID",
		"CREATE TABLE c (x INT)",
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	describe := func(q schema.ExecQuerier) string {
		drv, err := sqlite.Open(q)
		if err != nil {
			t.Fatal(err)
		}
		s, err := drv.InspectSchema(ctx, "main", &schema.InspectOptions{Mode: schema.InspectTables})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, tb := range s.Tables {
			for _, ix := range tb.Indexes {
				fmt.Fprintf(&b, "%s.%s unique=%v parts=%d attrs=%d\n", tb.Name, ix.Name, ix.Unique, len(ix.Parts), len(ix.Attrs))
			}
		}
		return b.String()
	}
	lib, ours := describe(db), describe(sqliteIndexQuery{db})
	if lib != ours || strings.Count(ours, "\n") != 3 {
		t.Fatalf("indexes differ or are missing:\nlibrary:\n%s\nours:\n%s", lib, ours)
	}
}
