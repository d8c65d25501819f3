package packs

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/upkeep/upkeep/internal/dbaddr"
)

// corpusFolders are the migration folders of testdata/corpus, shaped like
// real projects': golang-migrate with timestamps, a README and a Go file
// beside them; gapped without down files; starting at version 0; goose
// files with StatementBegin/End blocks and NO TRANSACTION files. Each is
// installed, taken down and up again on the backends it is written for,
// and compared with what the tool it was written for makes of it.
var corpusFolders = []struct {
	dir      string
	tool     string // "golang-migrate" or "goose"
	backends []string
	tables   []string
	highest  int
	none     int  // the schema version with nothing applied
	down     bool // every migration can be reverted
}{
	{"gm_timestamps", "golang-migrate", []string{"sqlite", "postgres", "mysql"}, []string{"users"}, 20240215093000, 0, true},
	{"gm_gapped", "golang-migrate", []string{"sqlite", "postgres", "mysql"}, []string{"a", "c"}, 10, 0, false},
	{"gm_zero", "golang-migrate", []string{"sqlite", "postgres", "mysql"}, []string{"settings", "audit"}, 1, -1, true},
	{"goose_postgres", "goose", []string{"postgres"}, []string{"orders"}, 3, 0, true},
	{"goose_mysql", "goose", []string{"mysql"}, []string{"items"}, 2, 0, true},
	{"goose_sqlite", "goose", []string{"sqlite"}, []string{"notes", "tags"}, 2, 0, true},
}

func backendByName(name string) backend {
	for _, b := range backends {
		if b.name == name {
			return b
		}
	}
	panic(name)
}

func TestCorpus(t *testing.T) {
	ctx := context.Background()
	for _, c := range corpusFolders {
		for _, bn := range c.backends {
			t.Run(c.dir+"/"+bn, func(t *testing.T) {
				t.Parallel()
				dir := filepath.Join("testdata", "corpus", c.dir)
				ms, err := ReadMigrationsDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				p := Pack{Name: "corpus", Version: "1.0.0", Tables: c.tables, Migrations: ms}
				if p.CodeVersion() != c.highest || p.None() != c.none {
					t.Fatalf("code version %d, none %d; want %d, %d", p.CodeVersion(), p.None(), c.highest, c.none)
				}
				dsn, root := backendByName(bn).fresh(t)
				db := openDB(t, dsn, root)
				st, err := db.Status(ctx, []Pack{p})
				if err != nil || st.Packs[0].Database != c.none || len(st.Packs[0].Pending) != len(ms) {
					t.Fatalf("status before: %+v, %v", st, err)
				}
				res := up(t, db, UpOptions{Packs: []Pack{p}})
				if len(res.Applied) != len(ms) {
					t.Fatalf("applied %d of %d", len(res.Applied), len(ms))
				}
				wantTables(t, db, c.tables, true)
				if v := schemaVersion(t, db, "corpus"); v != c.highest {
					t.Fatalf("schema version %d, want %d", v, c.highest)
				}
				after := schemas(t, db, c.tables)
				if !c.down {
					if _, err := db.Down(ctx, DownOptions{Packs: []Pack{p}, Pack: "corpus", To: c.none}); !errorsIs(err, ErrNoDown) {
						t.Fatalf("down without down files: %v, want ErrNoDown", err)
					}
				} else {
					if _, err := db.Down(ctx, DownOptions{Packs: []Pack{p}, Pack: "corpus", To: c.none}); err != nil {
						t.Fatalf("down: %v", err)
					}
					wantTables(t, db, c.tables, false)
					if v := schemaVersion(t, db, "corpus"); v != c.none {
						t.Fatalf("schema version after down %d, want %d", v, c.none)
					}
					up(t, db, UpOptions{Packs: []Pack{p}})
					if again := schemas(t, db, c.tables); !equalSchemas(after, again) {
						t.Fatalf("up, down, up: the tables differ from the first up:\n%v\n%v", after, again)
					}
				}
				if st, err := db.Status(ctx, []Pack{p}); err != nil || st.Err() != nil {
					t.Fatalf("status after: %+v, %v", st, err)
				}

				// The tool the folder was written for makes the same tables.
				tdsn, troot := backendByName(bn).fresh(t)
				runTool(t, c.tool, bn, tdsn, troot, dir)
				tdb := openDB(t, tdsn, troot)
				if theirs := schemas(t, tdb, c.tables); !equalSchemas(after, theirs) {
					t.Fatalf("%s makes other tables than upkeep:\n upkeep %v\n %s %v", c.tool, after, c.tool, theirs)
				}
			})
		}
	}
}

func wantTables(t *testing.T, db *DB, tables []string, exist bool) {
	t.Helper()
	for _, tb := range tables {
		if tableExists(t, db, tb) != exist {
			t.Fatalf("table %s exists: %v, want %v", tb, !exist, exist)
		}
	}
}

func schemas(t *testing.T, db *DB, tables []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tb := range tables {
		s, err := db.TableSchema(context.Background(), tb)
		if err != nil {
			t.Fatal(err)
		}
		if s != nil {
			out[tb] = s.Text()
		}
	}
	return out
}

func equalSchemas(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Tools are built once per test binary, from the module proxy, into a
// folder shared by runs (the module and build caches make a rebuild
// quick), as bench/migrate builds goose.
var (
	toolsMu sync.Mutex
	tools   = map[string]string{}
)

// The versions and build tags of the tools the corpus is checked against.
var toolBuilds = map[string]struct{ module, tags, bin string }{
	"goose":          {"github.com/pressly/goose/v3/cmd/goose@v3.29.0", "no_clickhouse no_mssql no_azuresql no_vertica no_ydb no_libsql", "goose"},
	"golang-migrate": {"github.com/golang-migrate/migrate/v4/cmd/migrate@v4.18.3", "postgres mysql sqlite", "migrate"},
}

// tool returns the path of the built tool, building it when needed. A
// machine that cannot build it (no network, no module cache) skips, which
// UPKEEP_TEST_REQUIRE=1 turns into a failure.
func tool(t *testing.T, name string) string {
	t.Helper()
	toolsMu.Lock()
	defer toolsMu.Unlock()
	if p := tools[name]; p != "" {
		return p
	}
	b := toolBuilds[name]
	dir := filepath.Join(os.TempDir(), "upkeep-test-tools", strings.NewReplacer("@", "-", "/", "_").Replace(b.module))
	bin := filepath.Join(dir, b.bin)
	if _, err := os.Stat(bin); err != nil {
		cmd := exec.Command("go", "install", "-tags", b.tags, b.module)
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			msg := "cannot build " + b.module + ": " + err.Error() + "\n" + string(out)
			if os.Getenv("UPKEEP_TEST_REQUIRE") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	tools[name] = bin
	return bin
}

// runTool migrates the database at dsn (upkeep's address form) with the
// real tool, up to the end of dir.
func runTool(t *testing.T, name, backend, dsn, root, dir string) {
	t.Helper()
	bin := tool(t, name)
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	switch name {
	case "goose":
		// goose reads the folder as it is: .sql files only.
		driver, addr := gooseAddress(t, backend, dsn, root)
		args = []string{"-dir", abs, driver, addr, "up"}
	case "golang-migrate":
		args = []string{"-path", abs, "-database", migrateAddress(t, backend, dsn, root), "up"}
	}
	cmd := exec.Command(bin, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
}

// gooseAddress is dsn in goose's words: a driver and its address.
func gooseAddress(t *testing.T, backend, dsn, root string) (string, string) {
	switch backend {
	case "sqlite":
		return "sqlite3", sqlitePath(dsn, root)
	case "postgres":
		return "postgres", dsn
	case "mysql":
		a, err := dbaddr.Parse(dsn, root)
		if err != nil {
			t.Fatal(err)
		}
		c := a.MySQLConfig()
		c.MultiStatements = true
		return "mysql", c.FormatDSN()
	}
	t.Fatalf("backend %s", backend)
	return "", ""
}

// migrateAddress is dsn in golang-migrate's words.
func migrateAddress(t *testing.T, backend, dsn, root string) string {
	switch backend {
	case "sqlite":
		return "sqlite://" + sqlitePath(dsn, root)
	case "postgres":
		return dsn
	case "mysql":
		a, err := dbaddr.Parse(dsn, root)
		if err != nil {
			t.Fatal(err)
		}
		c := a.MySQLConfig()
		c.MultiStatements = true
		return "mysql://" + c.FormatDSN()
	}
	t.Fatalf("backend %s", backend)
	return ""
}

func sqlitePath(dsn, root string) string {
	p := strings.TrimPrefix(dsn, "sqlite:")
	if !filepath.IsAbs(p) {
		p = filepath.Join(root, p)
	}
	os.MkdirAll(filepath.Dir(p), 0o755)
	return p
}
