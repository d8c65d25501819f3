package main

import (
	"archive/zip"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/upkeep/upkeep/internal/testdb"
)

// corpusSource makes the source folder of pack name from a folder of
// packs/testdata/corpus, unchanged, as its migrations/.
func corpusSource(t *testing.T, name, version, corpus string, tables ...string) string {
	t.Helper()
	files := map[string]string{"index.html": "<p>" + name + " " + version + "</p>\n"}
	dir := filepath.Join("packs", "testdata", "corpus", corpus)
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range des {
		data, err := os.ReadFile(filepath.Join(dir, d.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files["migrations/"+d.Name()] = string(data)
	}
	return source(t, name, version, files, nil, tables...)
}

// newTrial makes an empty root with a fresh database of kind.
func newTrial(t *testing.T, kind string) *trial {
	t.Helper()
	tr := &trial{dir: filepath.Join(t.TempDir(), "root"), dsn: testdb.Fresh(t, kind)}
	if err := os.MkdirAll(filepath.Join(tr.dir, "Updates_Pending"), 0o755); err != nil {
		t.Fatal(err)
	}
	return tr
}

func (tr *trial) pack(t *testing.T, src, zip string) {
	t.Helper()
	r := run(t, ".", "pack", src, "-o", filepath.Join(tr.dir, "Updates_Pending", zip), "-q")
	if r.code != 0 {
		t.Fatalf("pack %s: %+v", src, r)
	}
}

func (tr *trial) sqlDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := testdb.Open(tr.dsn, tr.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func (tr *trial) scalar(t *testing.T, q string) string {
	t.Helper()
	var s sql.NullString
	if err := tr.sqlDB(t).QueryRow(q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s.String
}

func (tr *trial) hasTable(t *testing.T, table string) bool {
	t.Helper()
	_, err := tr.sqlDB(t).Exec("SELECT 1 FROM " + table + " WHERE 1 = 0")
	return err == nil
}

// gooseFolder is the goose folder of the corpus written for kind.
func gooseFolder(kind string) (string, []string) {
	switch kind {
	case "postgres":
		return "goose_postgres", []string{"orders"}
	case "mysql":
		return "goose_mysql", []string{"items"}
	}
	return "goose_sqlite", []string{"notes", "tags"}
}

// Folders of golang-migrate and goose, unchanged, install through the
// binary, go down and up again, on each backend: timestamps with a README
// and a Go file beside them, gaps without down files, goose files with
// StatementBegin/End and NO TRANSACTION (CREATE INDEX CONCURRENTLY on
// PostgreSQL, VACUUM on SQLite).
func TestBinaryExistingMigrationFolders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		t.Parallel()
		tr := newTrial(t, kind)
		goose, gooseTables := gooseFolder(kind)
		tr.pack(t, corpusSource(t, "stamps", "1.0.0", "gm_timestamps", "users"), "stamps.zip")
		tr.pack(t, corpusSource(t, "gaps", "1.0.0", "gm_gapped", "a", "c"), "gaps.zip")
		tr.pack(t, corpusSource(t, "goosy", "1.0.0", goose, gooseTables...), "goosy.zip")
		r := tr.run(t, "--check-updates")
		r.want(t, 3, []string{"schema 0 -> 20240215093000, 2 migrations", "schema 0 -> 10, 3 migrations: 1_create_a.up.sql, 3_create_c.up.sql, 10_add_note.up.sql"}, nil)
		r = tr.run(t, "--install-updates")
		r.want(t, 0, []string{"stamps 20240101120000_create_users", "stamps 20240215093000_add_email", "gaps 10_add_note", "goosy 1_"}, nil)
		for _, tb := range append([]string{"users", "a", "c"}, gooseTables...) {
			if !tr.hasTable(t, tb) {
				t.Fatalf("table %s missing after the install", tb)
			}
		}
		if v := tr.scalar(t, "SELECT schema_version FROM upkeep_packs WHERE pack = 'stamps'"); v != "20240215093000" {
			t.Fatalf("stamps at schema %s", v)
		}
		tr.run(t, "db", "status", "--exit-code").want(t, 0, []string{"stamps", "20240215093000", "up to date"}, nil)

		// Down to nothing and up again, on the pack's own down files.
		tr.run(t, "db", "down", "--pack", "stamps", "--to", "0", "--no-backup").want(t, 0, []string{"reverted stamps 20240215093000_add_email", "reverted stamps 20240101120000_create_users"}, nil)
		if tr.hasTable(t, "users") {
			t.Fatal("users survived db down")
		}
		tr.run(t, "db", "status", "--exit-code").want(t, 4, []string{"behind"}, nil)
		tr.run(t, "db", "down", "--pack", "goosy", "--to", "1", "--no-backup").want(t, 0, []string{"reverted goosy"}, nil)
		tr.run(t, "db", "up", "--no-backup").want(t, 0, []string{"applied stamps 20240101120000_create_users", "applied goosy"}, nil)
		tr.run(t, "db", "status", "--exit-code").want(t, 0, nil, nil)
		if n := tr.scalar(t, "SELECT COUNT(*) FROM users"); n != "1" {
			t.Fatalf("users holds %s rows after down and up, want the 1 its migration inserts", n)
		}
		// The gapped folder has no down files: db down says which.
		tr.run(t, "db", "down", "--pack", "gaps", "--to", "3", "--no-backup").want(t, 1, nil, []string{"10_add_note.up.sql has no .down.sql"})
	})
}

// A golang-migrate .up.sql marked NO TRANSACTION runs CREATE INDEX
// CONCURRENTLY on PostgreSQL, which no transaction allows; without the
// mark the install fails and is rolled back.
func TestBinaryCreateIndexConcurrently(t *testing.T) {
	testdb.Need(t, "postgres")
	tr := newTrial(t, "postgres")
	files := func(mark string) map[string]string {
		return map[string]string{
			"index.html":                   "x",
			"migrations/1_create.up.sql":   "CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT);\n",
			"migrations/2_index.up.sql":    mark + "CREATE INDEX CONCURRENTLY big_v ON big (v);\n",
			"migrations/3_after.up.sql":    "ALTER TABLE big ADD COLUMN w TEXT;\n",
			"migrations/2_index.down.sql":  mark + "DROP INDEX CONCURRENTLY big_v;\n",
			"migrations/1_create.down.sql": "DROP TABLE big;\n",
			"migrations/3_after.down.sql":  "ALTER TABLE big DROP COLUMN w;\n",
		}
	}
	tr.pack(t, source(t, "idx", "1.0.0", files(""), nil, "big"), "idx.zip")
	tr.run(t, "--install-updates", "--no-backup").want(t, 6, nil, []string{"CREATE INDEX CONCURRENTLY cannot run inside a transaction block"})
	if tr.hasTable(t, "big") {
		t.Fatal("the failed install left table big")
	}
	os.Remove(filepath.Join(tr.dir, "Updates_Pending", "idx.zip"))
	tr.pack(t, source(t, "idx", "1.0.0", files("-- +upkeep NO TRANSACTION\n"), nil, "big"), "idx.zip")
	tr.run(t, "--install-updates", "--no-backup").want(t, 0, []string{"idx 2_index", "idx 3_after"}, nil)
	if n := tr.scalar(t, "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'big_v'"); n != "1" {
		t.Fatal("index big_v missing")
	}
	tr.run(t, "db", "down", "--pack", "idx", "--to", "1", "--no-backup").want(t, 0, []string{"reverted idx 2_index"}, nil)
	if n := tr.scalar(t, "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'big_v'"); n != "0" {
		t.Fatal("index big_v survived db down")
	}
}

// Tools are built from the module proxy, once, as the packs tests build
// them (packs/corpus_test.go).
var (
	binToolsMu sync.Mutex
	binTools   = map[string]string{}
)

func realTool(t *testing.T, name string) string {
	t.Helper()
	builds := map[string][2]string{
		"goose":   {"github.com/pressly/goose/v3/cmd/goose@v3.29.0", "no_clickhouse no_mssql no_azuresql no_vertica no_ydb no_libsql"},
		"migrate": {"github.com/golang-migrate/migrate/v4/cmd/migrate@v4.18.3", "postgres mysql sqlite"},
	}
	binToolsMu.Lock()
	defer binToolsMu.Unlock()
	if p := binTools[name]; p != "" {
		return p
	}
	b := builds[name]
	dir := filepath.Join(os.TempDir(), "upkeep-test-tools", strings.NewReplacer("@", "-", "/", "_").Replace(b[0]))
	bin := filepath.Join(dir, name)
	if _, err := os.Stat(bin); err != nil {
		cmd := exec.Command("go", "install", "-tags", b[1], b[0])
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			msg := fmt.Sprintf("cannot build %s: %v\n%s", b[0], err, out)
			if os.Getenv("UPKEEP_TEST_REQUIRE") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	binTools[name] = bin
	return bin
}

// toolAddress is the trial's database in the words of goose (driver,
// address) or golang-migrate (a URL).
func (tr *trial) toolAddress(t *testing.T, kind, tool string) []string {
	switch kind {
	case "sqlite":
		p := filepath.Join(tr.dir, "data", "app.db")
		os.MkdirAll(filepath.Dir(p), 0o755)
		if tool == "goose" {
			return []string{"sqlite3", p}
		}
		return []string{"sqlite://" + p}
	case "postgres":
		if tool == "goose" {
			return []string{"postgres", tr.dsn}
		}
		return []string{tr.dsn}
	}
	u, err := url.Parse(tr.dsn)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	cred := u.User.Username()
	if pw != "" {
		cred += ":" + pw
	}
	dsn := fmt.Sprintf("%s@tcp(%s)%s?multiStatements=true", cred, u.Host, u.Path)
	if tool == "goose" {
		return []string{"mysql", dsn}
	}
	return []string{"mysql://" + dsn}
}

func (tr *trial) runTool(t *testing.T, kind, tool, dir string, args ...string) {
	t.Helper()
	abs, _ := filepath.Abs(dir)
	var argv []string
	if tool == "goose" {
		argv = append(append([]string{"-dir", abs}, tr.toolAddress(t, kind, tool)...), args...)
	} else {
		argv = append([]string{"-path", abs, "-database", tr.toolAddress(t, kind, tool)[0]}, args...)
	}
	out, err := exec.Command(realTool(t, tool), argv...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, argv, err, out)
	}
}

// A database that golang-migrate or goose migrated, made by the real tool,
// is adopted for a pack that is still pending (db adopt), then the pack
// installs without running a migration again. A dirty golang-migrate state
// is refused, naming the version.
func TestBinaryAdopt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		t.Parallel()
		t.Run("golang-migrate", func(t *testing.T) {
			tr := newTrial(t, kind)
			corpus := filepath.Join("packs", "testdata", "corpus", "gm_timestamps")
			tr.runTool(t, kind, "migrate", corpus, "up", "1") // the first of two
			tr.pack(t, corpusSource(t, "gm", "1.0.0", "gm_timestamps", "users"), "gm.zip")

			// Dirty: refused, saying what to check.
			db := tr.sqlDB(t)
			if _, err := db.Exec("UPDATE schema_migrations SET dirty = true"); err != nil {
				t.Fatal(err)
			}
			tr.run(t, "db", "adopt", "--pack", "gm", "--from", "golang-migrate").want(t, 1, nil,
				[]string{"version 20240101120000 is dirty", "20240101120000_create_users.up.sql failed part way", "migrate force 20240101120000"})
			if _, err := db.Exec("UPDATE schema_migrations SET dirty = false"); err != nil {
				t.Fatal(err)
			}
			tr.run(t, "db", "adopt", "--pack", "gm", "--from", "golang-migrate").want(t, 0, []string{"adopted pack gm at schema version 20240101120000"}, nil)
			r := tr.run(t, "--install-updates")
			r.want(t, 0, []string{"gm 20240215093000_add_email"}, nil)
			if strings.Contains(r.stdout, "20240101120000_create_users") {
				t.Fatalf("the adopted migration ran again:\n%s", r.stdout)
			}
			if n := tr.scalar(t, "SELECT COUNT(*) FROM users"); n != "1" {
				t.Fatalf("users has %s rows", n)
			}
			tr.run(t, "db", "status", "--exit-code").want(t, 0, nil, nil)
		})
		t.Run("goose", func(t *testing.T) {
			tr := newTrial(t, kind)
			folder, tables := gooseFolder(kind)
			tr.runTool(t, kind, "goose", filepath.Join("packs", "testdata", "corpus", folder), "up")
			tr.pack(t, corpusSource(t, "gs", "1.0.0", folder, tables...), "gs.zip")
			tr.run(t, "db", "adopt", "--pack", "gs", "--from", "goose", "--json").want(t, 0, []string{`"from": "goose"`, `"table": "goose_db_version"`}, nil)
			r := tr.run(t, "--install-updates")
			r.want(t, 0, []string{"Installed 1 update"}, nil)
			if strings.Contains(r.stdout, "Migrations:") {
				t.Fatalf("a migration ran after the adoption:\n%s", r.stdout)
			}
			tr.run(t, "db", "status", "--exit-code").want(t, 0, nil, nil)
		})
		t.Run("baseline-pending", func(t *testing.T) {
			tr := newTrial(t, kind)
			tr.runTool(t, kind, "migrate", filepath.Join("packs", "testdata", "corpus", "gm_gapped"), "up", "2")
			tr.pack(t, corpusSource(t, "gp", "1.0.0", "gm_gapped", "a", "c"), "gp.zip")
			tr.run(t, "db", "baseline", "--pack", "gp", "--version", "2").want(t, 1, nil, []string{"2 is not the version of one of its migrations (1, 3, 10)"})
			tr.run(t, "db", "baseline", "--pack", "gp", "--version", "3").want(t, 0, []string{"recorded pack gp at schema version 3"}, nil)
			tr.run(t, "--install-updates").want(t, 0, []string{"Migrations: gp 10_add_note"}, nil)
		})
	})
}

// upkeep history lists a commit, a rollback and a batch undone after a
// crash, newest first; backups list marks the backups of the two that did
// not commit.
func TestBinaryHistory(t *testing.T) {
	tr := newTrial(t, "sqlite")
	tr.pack(t, source(t, "blog", "1.0.0", map[string]string{"index.html": "1", "migrations/1_a.up.sql": "CREATE TABLE a (id INTEGER);\n"}, nil, "a"), "blog-1.0.0.zip")
	tr.run(t, "--install-updates").want(t, 0, nil, nil)

	tr.pack(t, source(t, "blog", "1.1.0", map[string]string{"index.html": "2", "migrations/1_a.up.sql": "CREATE TABLE a (id INTEGER);\n",
		"migrations/2_b.up.sql": "CREATE TABLE b (id INTEGER);\nNOT SQL;\n"}, nil, "a", "b"), "blog-1.1.0.zip")
	tr.run(t, "--install-updates").want(t, 6, nil, nil)
	tr.run(t, "--check-updates").want(t, 3, []string{"blog-1.1.0.zip: failed", "Failed last time", "--install-updates tries it again"}, []string{"hint: install it with --install-updates"})

	os.Remove(filepath.Join(tr.dir, "Updates_Pending", "blog-1.1.0.zip"))
	tr.pack(t, source(t, "blog", "1.2.0", map[string]string{"index.html": "3", "migrations/1_a.up.sql": "CREATE TABLE a (id INTEGER);\n",
		"migrations/2_c.up.sql": "CREATE TABLE c (id INTEGER);\n"}, nil, "a", "c"), "blog-1.2.0.zip")
	r := runEnv(t, tr.dir, []string{"UPKEEP_TEST_FAULT=crash@swapped"}, "--install-updates")
	if r.code != -9 {
		t.Fatalf("the crash did not happen: %+v", r)
	}
	tr.run(t, "--check-updates").want(t, 3, []string{"undid the interrupted install"}, nil)

	r = tr.run(t, "history", "--json")
	r.want(t, 0, nil, nil)
	var h struct {
		JSONFormat int    `json:"json_format"`
		Host       string `json:"host"`
		Batches    []struct {
			Outcome    string   `json:"outcome"`
			Reason     string   `json:"reason"`
			Backup     string   `json:"backup"`
			Zips       []string `json:"zips"`
			Migrations []string `json:"migrations"`
			ThisHost   bool     `json:"this_host"`
			DurationMS int64    `json:"duration_ms"`
			Packs      []struct{ Pack, From, To string }
		} `json:"batches"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &h); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if h.JSONFormat != 1 || len(h.Host) != 32 || len(h.Batches) != 3 {
		t.Fatalf("history: %s", r.stdout)
	}
	undone, failed, ok := h.Batches[0], h.Batches[1], h.Batches[2]
	if undone.Outcome != "undone" || !strings.Contains(undone.Reason, "interrupted") || undone.Zips[0] != "blog-1.2.0.zip" || undone.Packs[0].To != "1.2.0" {
		t.Errorf("newest: %+v", undone)
	}
	if failed.Outcome != "rolled_back" || !strings.Contains(failed.Reason, "NOT SQL") || failed.Packs[0].From != "1.0.0" {
		t.Errorf("second: %+v", failed)
	}
	if ok.Outcome != "committed" || len(ok.Migrations) != 1 || ok.Migrations[0] != "blog 1_a" || !ok.ThisHost || ok.DurationMS <= 0 {
		t.Errorf("oldest: %+v", ok)
	}
	tr.run(t, "history").want(t, 0, []string{"INTERRUPTED, undone", "ROLLED BACK", "committed", "blog:  1.0.0 -> 1.1.0", "Why: "}, nil)
	r = tr.run(t, "backups", "list")
	r.want(t, 0, []string{"install failed and was rolled back", "install interrupted and undone"}, nil)
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, ok.Backup+" ") && strings.Contains(l, "failed") {
			t.Errorf("the committed install's backup is marked: %s", l)
		}
	}
}

// Seven installs leave the five newest install backups (and the last
// install's, which is among them); prune refuses --keep -1; updates prune
// keeps the newest zips of each pack.
func TestBinaryRetention(t *testing.T) {
	tr := newTrial(t, "sqlite")
	for i := 1; i <= 7; i++ {
		v := fmt.Sprintf("1.%d.0", i)
		tr.pack(t, source(t, "blog", v, map[string]string{"index.html": v}, nil), "blog-"+v+".zip")
		tr.run(t, "--install-updates").want(t, 0, nil, nil)
	}
	count := func(dir, suffix string) int {
		des, _ := os.ReadDir(filepath.Join(tr.dir, dir))
		n := 0
		for _, d := range des {
			if strings.Contains(d.Name(), suffix) {
				n++
			}
		}
		return n
	}
	if n := count("Updates_Backups", "_install"); n != 5 {
		t.Fatalf("%d install backups after 7 installs, want 5", n)
	}
	tr.run(t, "backups", "prune", "--keep", "-1").want(t, 2, nil, []string{"keep at least 1"})
	tr.run(t, "updates", "prune", "--keep", "2").want(t, 0, []string{"removed 5 zip(s)", "blog-1.1.0_", "blog-1.5.0_"}, nil)
	if n := count("Updates_Installed", ".zip"); n != 2 {
		t.Fatalf("%d zips left in Updates_Installed, want 2", n)
	}
	tr.run(t, "updates", "prune", "--keep", "0").want(t, 2, nil, nil)
	// --keep-backups 0 keeps all.
	tr.pack(t, source(t, "blog", "1.8.0", map[string]string{"index.html": "8"}, nil), "blog-1.8.0.zip")
	tr.run(t, "--install-updates", "--keep-backups", "0").want(t, 0, nil, nil)
	if n := count("Updates_Backups", "_install"); n != 6 {
		t.Fatalf("%d install backups with --keep-backups 0, want 6", n)
	}
}

// A dry run prints the plan and changes nothing: the root's files and the
// database are the same before and after, byte for byte.
func TestBinaryDryRun(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		tr := newTrial(t, kind)
		tr.pack(t, source(t, "blog", "1.0.0", map[string]string{"index.html": "1", "old.css": "x", "same.txt": "s",
			"migrations/1_a.up.sql": "CREATE TABLE a (id INTEGER);\n"}, nil, "a"), "blog-1.0.0.zip")
		tr.run(t, "--install-updates").want(t, 0, nil, nil)
		tr.pack(t, source(t, "blog", "1.1.0", map[string]string{"index.html": "2", "new.js": "y", "same.txt": "s",
			"migrations/1_a.up.sql": "CREATE TABLE a (id INTEGER);\n", "migrations/2_b.up.sql": "CREATE TABLE b (id INTEGER);\n"}, nil, "a", "b"), "blog-1.1.0.zip")
		files, db := fingerprint(t, tr.dir), testdb.Dump(t, tr.dsn, tr.dir)
		r := tr.run(t, "--install-updates", "--dry-run")
		r.want(t, 0, []string{"Dry run", "blog: 1.0.0 -> 1.1.0", "2 added, 1 changed, 1 removed, 2 unchanged", "added migrations/2_b.up.sql, new.js; changed index.html; removed old.css", "Migrations: 2_b.up.sql", "free space"}, nil)
		if after := fingerprint(t, tr.dir); !sameStrings(files, after) {
			t.Fatalf("the dry run changed files:\n before %v\n after  %v", keys(files), keys(after))
		}
		if after := testdb.Dump(t, tr.dsn, tr.dir); !sameStrings(db, after) {
			t.Fatalf("the dry run changed the database:\n before %v\n after  %v", db, after)
		}
		// Nothing ready: exit 3.
		os.Remove(filepath.Join(tr.dir, "Updates_Pending", "blog-1.1.0.zip"))
		os.WriteFile(filepath.Join(tr.dir, "Updates_Pending", "junk.zip"), []byte("not a zip"), 0o644)
		tr.run(t, "--install-updates", "--dry-run").want(t, 3, []string{"nothing would be installed"}, []string{"no update is ready"})
	})
}

func sameStrings(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// A table changed by hand is drift: db status --exit-code exits 4 naming
// it, db accept --table records it, and the status is clean again.
func TestBinaryAcceptTable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		tr := newTrial(t, kind)
		tr.pack(t, corpusSource(t, "stamps", "1.0.0", "gm_timestamps", "users"), "stamps.zip")
		tr.run(t, "--install-updates", "--no-backup").want(t, 0, nil, nil)
		if _, err := tr.sqlDB(t).Exec("ALTER TABLE users ADD COLUMN nickname VARCHAR(20)"); err != nil {
			t.Fatal(err)
		}
		tr.run(t, "db", "status", "--exit-code").want(t, 4, []string{"- drift: pack stamps, users.nickname"},
			[]string{"1 table(s) drifted from their recorded schema (stamps: users)", "upkeep db accept --pack stamps --table users"})
		tr.run(t, "db", "status").want(t, 0, nil, nil)
		tr.run(t, "db", "accept", "--pack", "stamps", "--table", "nope").want(t, 1, nil, []string{"no recorded schema"})
		tr.run(t, "db", "accept", "--pack", "stamps", "--table", "users").want(t, 0, []string{"recorded the live schema of table users"}, nil)
		tr.run(t, "db", "status", "--exit-code").want(t, 0, nil, nil)
		tr.run(t, "db", "verify").want(t, 0, nil, nil)
	})
}

// pack leaves out the zip it writes inside the folder (so packing twice
// gives the same bytes), --exclude and .upkeepignore; it notes the files
// of migrations/ that are not migrations, warns about near misses and
// unlisted tables, and says when the output folder is missing.
func TestBinaryPackExclusions(t *testing.T) {
	src := corpusSource(t, "stamps", "1.0.0", "gm_timestamps")
	os.WriteFile(filepath.Join(src, ".upkeepignore"), []byte("# build output\n*.log\ndrafts/\n"), 0o644)
	os.MkdirAll(filepath.Join(src, "drafts"), 0o755)
	os.WriteFile(filepath.Join(src, "drafts", "todo.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(src, "debug.log"), []byte("y"), 0o644)
	os.WriteFile(filepath.Join(src, "secret.env"), []byte("z"), 0o644)
	os.WriteFile(filepath.Join(src, "migrations", "30_x.up..sql"), []byte("SELECT 1;"), 0o644)
	out := filepath.Join(src, "dist.zip")
	r := run(t, ".", "pack", src, "-o", out, "--exclude", "*.env")
	r.want(t, 0, []string{"wrote " + out}, []string{
		"upkeep: note: migrations/README.md: not a migration; packed as a file, never run",
		"upkeep: note: migrations/migrate.go: not a migration",
		`upkeep: warning: migrations/30_x.up..sql: looks like a migration but is not named VERSION_name.up.sql`,
		"upkeep: warning: manifest.json: the migrations touch table users (first in migrations/20240101120000_create_users.up.sql), which database.tables does not list",
	})
	first, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	run(t, ".", "pack", src, "-o", out, "--exclude", "*.env", "-q").want(t, 0, nil, nil)
	second, _ := os.ReadFile(out)
	if !bytes.Equal(first, second) {
		t.Fatal("packing twice into the folder gave different zips: the first zip was packed")
	}
	zr, err := zip.NewReader(bytes.NewReader(second), int64(len(second)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		switch f.Name {
		case "dist.zip", "debug.log", "drafts/todo.txt", "secret.env", ".upkeepignore":
			t.Errorf("%s was packed", f.Name)
		}
	}
	run(t, ".", "pack", src, "-o", filepath.Join(t.TempDir(), "nowhere", "x.zip")).want(t, 1, nil, []string{"the folder", "does not exist", "mkdir -p"})
}
