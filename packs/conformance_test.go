package packs

import (
	"archive/zip"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/upkeep/upkeep/internal/dbaddr"
	"github.com/upkeep/upkeep/internal/dbsnap"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// blogFiles are three portable migrations of the pack "blog", with
// comments and quoted semicolons, so every backend runs multi-statement
// files split by upkeep.
func blogFiles() map[string]string {
	return map[string]string{
		"0001_create_posts.up.sql": `-- posts; the semicolon in this comment ends nothing;
CREATE TABLE posts (
  id INTEGER NOT NULL PRIMARY KEY,
  title VARCHAR(200) NOT NULL
);
/* a block comment; with a semicolon */
INSERT INTO posts (id, title) VALUES (1, 'first; with a semicolon');
INSERT INTO posts (id, title) VALUES (2, 'it''s second')`,
		"0001_create_posts.down.sql": "DROP TABLE posts;\n",
		"0002_add_slug.up.sql":       "ALTER TABLE posts ADD COLUMN slug VARCHAR(200);\nUPDATE posts SET slug = 'x';\n",
		"0002_add_slug.down.sql":     "ALTER TABLE posts DROP COLUMN slug;\n",
		"0003_create_tags.up.sql":    "CREATE TABLE tags (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(50) NOT NULL);\nCREATE INDEX tags_name ON tags (name);\n",
		"0003_create_tags.down.sql":  "DROP TABLE tags;\n",
	}
}

// makePack builds a pack from files in an fs.FS, the way an application
// that embeds its migrations does.
func makePack(t *testing.T, name string, tables []string, files map[string]string) Pack {
	t.Helper()
	fsys := fstest.MapFS{}
	for n, c := range files {
		fsys["migrations/"+n] = &fstest.MapFile{Data: []byte(c)}
	}
	ms, err := ReadMigrationsFS(fsys, "migrations")
	if err != nil {
		t.Fatalf("ReadMigrationsFS: %v", err)
	}
	return Pack{Name: name, Version: "1.0.0", Tables: tables, Migrations: ms}
}

func blogPack(t *testing.T) Pack {
	return makePack(t, "blog", []string{"posts", "tags"}, blogFiles())
}

func without(files map[string]string, names ...string) map[string]string {
	out := map[string]string{}
	for k, v := range files {
		out[k] = v
	}
	for _, n := range names {
		delete(out, n)
	}
	return out
}

func queryInt(t *testing.T, db *DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(db.q(q), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func tableExists(t *testing.T, db *DB, table string) bool {
	t.Helper()
	s, err := db.TableSchema(context.Background(), table)
	if err != nil {
		t.Fatal(err)
	}
	return s != nil
}

func schemaVersion(t *testing.T, db *DB, pack string) int {
	t.Helper()
	var v int
	err := db.SQL().QueryRow(db.q(`SELECT schema_version FROM upkeep_packs WHERE pack = ?`), pack).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func up(t *testing.T, db *DB, opts UpOptions) *Result {
	t.Helper()
	res, err := db.Up(context.Background(), opts)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	return res
}

// runConformance is the suite every backend passes. b.fresh gives each
// subtest an empty database of its own.
func runConformance(t *testing.T, b backend) {
	ctx := context.Background()
	fresh := func(t *testing.T) (*DB, string, string) {
		dsn, root := b.fresh(t)
		return openDB(t, dsn, root), dsn, root
	}

	t.Run("UpkeepTables", func(t *testing.T) {
		t.Parallel()
		db, dsn, root := fresh(t)
		for _, tb := range []string{"upkeep_packs", "upkeep_settings", "upkeep_migrations", "upkeep_schema", "upkeep_progress", "upkeep_batches"} {
			if !tableExists(t, db, tb) {
				t.Errorf("table %s missing", tb)
			}
		}
		// A second Open of the same database finds them and is fine.
		openDB(t, dsn, root)
	})

	t.Run("UpFromZero", func(t *testing.T) {
		t.Parallel()
		db, _, _ := fresh(t)
		p := blogPack(t)
		res := up(t, db, UpOptions{Packs: []Pack{p}})
		if len(res.Applied) != 3 {
			t.Fatalf("applied %d, want 3", len(res.Applied))
		}
		if n := queryInt(t, db, `SELECT COUNT(*) FROM posts WHERE slug = 'x'`); n != 2 {
			t.Errorf("posts with slug: %d", n)
		}
		var title string
		db.SQL().QueryRow(db.q(`SELECT title FROM posts WHERE id = ?`), 2).Scan(&title)
		if title != "it's second" {
			t.Errorf("title %q", title)
		}
		if v := schemaVersion(t, db, "blog"); v != 3 {
			t.Errorf("schema_version %d", v)
		}
		var version string
		db.SQL().QueryRow(db.q(`SELECT version FROM upkeep_packs WHERE pack = ?`), "blog").Scan(&version)
		if version != "1.0.0" {
			t.Errorf("version %q", version)
		}
		st, err := db.Status(ctx, []Pack{p})
		if err != nil || st.Err() != nil {
			t.Fatalf("status after up: %v, %v", err, st.Err())
		}
		// Nothing left to do: a second Up applies nothing.
		if res := up(t, db, UpOptions{Packs: []Pack{p}}); len(res.Applied) != 0 {
			t.Errorf("second up applied %v", res.Applied)
		}
	})

	t.Run("UpFromMiddleAndStatus", func(t *testing.T) {
		t.Parallel()
		db, _, _ := fresh(t)
		p := blogPack(t)
		up(t, db, UpOptions{Packs: []Pack{p}, Pack: "blog", To: 1})
		st, err := db.Status(ctx, []Pack{p})
		if err != nil {
			t.Fatal(err)
		}
		ps := st.Packs[0]
		if ps.Code != 3 || ps.Database != 1 || !reflect.DeepEqual(ps.Pending, []string{"0002_add_slug.up.sql", "0003_create_tags.up.sql"}) {
			t.Fatalf("status %+v", ps)
		}
		err = st.Err()
		var be *BehindError
		if !errors.Is(err, ErrDatabaseBehind) || !errors.As(err, &be) {
			t.Fatalf("Err() = %v", err)
		}
		for _, want := range []string{"blog", "1 -> 3", "0002_add_slug.up.sql", "0003_create_tags.up.sql", "--migrate-db"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message %q lacks %q", err, want)
			}
		}
		if err := db.Check(ctx, []Pack{p}); !errors.Is(err, ErrDatabaseBehind) {
			t.Errorf("Check: %v", err)
		}
		if _, err := db.Up(ctx, UpOptions{Packs: []Pack{p}, Pack: "blog", To: 4}); err == nil {
			t.Error("target above the code accepted")
		}
		if _, err := db.Up(ctx, UpOptions{Packs: []Pack{p}, To: 2}); err == nil {
			t.Error("target without a pack accepted")
		}
		res := up(t, db, UpOptions{Packs: []Pack{p}})
		if len(res.Applied) != 2 || res.Applied[0].Version != 2 || res.Applied[1].Version != 3 {
			t.Fatalf("applied %+v", res.Applied)
		}
		if n := queryInt(t, db, `SELECT COUNT(*) FROM posts`); n != 2 {
			t.Errorf("posts: %d", n)
		}
		if _, err := db.Up(ctx, UpOptions{Packs: []Pack{p}, Pack: "blog", To: 1}); err == nil || !strings.Contains(err.Error(), "Down") {
			t.Errorf("target below the database: %v", err)
		}
		// A new version of the pack without schema changes is recorded.
		p.Version = "1.0.1"
		if res := up(t, db, UpOptions{Packs: []Pack{p}}); len(res.Applied) != 0 {
			t.Fatalf("applied %+v", res.Applied)
		}
		var version string
		db.SQL().QueryRow(db.q(`SELECT version FROM upkeep_packs WHERE pack = ?`), "blog").Scan(&version)
		if version != "1.0.1" {
			t.Errorf("version %q after a pack update", version)
		}
	})

	t.Run("Downgrade", func(t *testing.T) {
		t.Parallel()
		db, _, _ := fresh(t)
		up(t, db, UpOptions{Packs: []Pack{blogPack(t)}})
		old := makePack(t, "blog", nil, without(blogFiles(), "0003_create_tags.up.sql", "0003_create_tags.down.sql"))
		st, err := db.Status(ctx, []Pack{old})
		if err != nil {
			t.Fatal(err)
		}
		err = st.Err()
		var de *DowngradeError
		if !errors.As(err, &de) || !errors.Is(err, ErrDowngrade) || de.Database != 3 || de.Code != 2 {
			t.Fatalf("Err() = %v", err)
		}
		for _, want := range []string{"blog", "3", "2", "install the newer", "restore a backup"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message %q lacks %q", err, want)
			}
		}
		if _, err := db.Up(ctx, UpOptions{Packs: []Pack{old}}); !errors.Is(err, ErrDowngrade) {
			t.Errorf("Up on a downgrade: %v", err)
		}
	})

	t.Run("ChecksumChanged", func(t *testing.T) {
		t.Parallel()
		db, _, _ := fresh(t)
		two := without(blogFiles(), "0003_create_tags.up.sql", "0003_create_tags.down.sql")
		up(t, db, UpOptions{Packs: []Pack{makePack(t, "blog", nil, two)}})
		files := blogFiles()
		files["0002_add_slug.up.sql"] += "-- edited after it ran\n"
		p := makePack(t, "blog", nil, files)
		st, err := db.Status(ctx, []Pack{p})
		if err != nil {
			t.Fatal(err)
		}
		var ce *ChecksumError
		if err := st.Err(); !errors.As(err, &ce) || !errors.Is(err, ErrChecksumChanged) || ce.Version != 2 || ce.File != "0002_add_slug.up.sql" {
			t.Fatalf("Err() = %v", err)
		}
		if !strings.Contains(ce.Error(), "0002_add_slug.up.sql") || !strings.Contains(ce.Error(), "blog") {
			t.Errorf("message %q", ce)
		}
		// It blocks further migrations of the pack.
		if _, err := db.Up(ctx, UpOptions{Packs: []Pack{p}}); !errors.Is(err, ErrChecksumChanged) {
			t.Fatalf("Up with a changed migration: %v", err)
		}
		if tableExists(t, db, "tags") {
			t.Fatal("tags created despite the changed migration")
		}
		v, err := db.Verify(ctx, []Pack{p})
		if err != nil || len(v.Changed) != 1 || v.OK() {
			t.Fatalf("Verify: %+v, %v", v, err)
		}
		if err := db.AcceptChanged(ctx, []Pack{p}, "blog", 1); err == nil {
			t.Error("AcceptChanged of an unchanged migration succeeded")
		}
		if err := db.AcceptChanged(ctx, []Pack{p}, "blog", 2); err != nil {
			t.Fatal(err)
		}
		if res := up(t, db, UpOptions{Packs: []Pack{p}}); len(res.Applied) != 1 {
			t.Fatalf("after accept applied %+v", res.Applied)
		}
	})

	t.Run("MultiStatementBackendSyntax", func(t *testing.T) {
		t.Parallel()
		db, _, _ := fresh(t)
		files := map[string]string{
			"0001_t.up.sql": "CREATE TABLE notes (id INTEGER NOT NULL PRIMARY KEY, body TEXT);\n" +
				"INSERT INTO notes (id, body) VALUES (1, '-- not a comment; /* nor this */');\n",
		}
		switch b.name {
		case "postgres":
			files["0002_fn.up.sql"] = "CREATE FUNCTION note_count() RETURNS bigint AS $$\n  SELECT count(*) FROM notes; -- ; inside\n$$ LANGUAGE sql;\n" +
				"CREATE FUNCTION bump() RETURNS trigger AS $body$\nBEGIN\n  NEW.body := NEW.body || ';';\n  RETURN NEW;\nEND;\n$body$ LANGUAGE plpgsql;\n" +
				"INSERT INTO notes (id, body) VALUES (2, E'back\\'slash;');\n"
		case "mysql":
			files["0002_fn.up.sql"] = "# a hash comment; here\nINSERT INTO notes (id, body) VALUES (2, 'back\\'slash;');\n" +
				"DELIMITER //\nCREATE PROCEDURE note_count() BEGIN SELECT COUNT(*) FROM notes; SELECT 1; END//\nDELIMITER ;\n" +
				"INSERT INTO notes (id, body) VALUES (3, 'x');\n"
		case "sqlite":
			files["0002_fn.up.sql"] = "CREATE TABLE log (n INTEGER);\n" +
				"CREATE TRIGGER notes_log AFTER INSERT ON notes BEGIN INSERT INTO log (n) VALUES (NEW.id); UPDATE log SET n = n + 0; END;\n" +
				"INSERT INTO notes (id, body) VALUES (2, 'back''slash;');\n"
		}
		up(t, db, UpOptions{Packs: []Pack{makePack(t, "notes", nil, files)}})
		if n := queryInt(t, db, `SELECT COUNT(*) FROM notes`); n < 2 {
			t.Fatalf("notes: %d", n)
		}
		var body string
		db.SQL().QueryRow(`SELECT body FROM notes WHERE id = 2`).Scan(&body)
		if body != "back'slash;" {
			t.Errorf("body %q", body)
		}
		if b.name == "sqlite" && queryInt(t, db, `SELECT COUNT(*) FROM log`) != 1 {
			t.Error("trigger did not fire once")
		}
	})

	t.Run("TransactionControlInFiles", func(t *testing.T) {
		t.Parallel()
		db, _, _ := fresh(t)
		// Files written for tools that do not wrap them in a transaction.
		files := map[string]string{
			"0001_a.up.sql":   "BEGIN;\nCREATE TABLE wrapped (id INTEGER NOT NULL PRIMARY KEY);\nINSERT INTO wrapped (id) VALUES (1);\nCOMMIT;\n",
			"0001_a.down.sql": "START TRANSACTION;\nDROP TABLE wrapped;\nCOMMIT;\n",
			"0002_b.up.sql":   "BEGIN TRANSACTION;\nINSERT INTO wrapped (id) VALUES (2);\nINSERT INTO nope (id) VALUES (1);\nCOMMIT;\n",
		}
		_, err := db.Up(ctx, UpOptions{Packs: []Pack{makePack(t, "w", nil, files)}})
		var me *MigrationError
		if !errors.As(err, &me) || me.Version != 2 {
			t.Fatalf("Up: %v", err)
		}
		if db.d.transactionalDDL() {
			// The COMMIT of file 1 did not end the run's transaction.
			if tableExists(t, db, "wrapped") {
				t.Fatal("a COMMIT in a file committed part of the run")
			}
		} else if n := queryInt(t, db, "SELECT COUNT(*) FROM wrapped"); n != 1 {
			t.Fatalf("wrapped rows %d", n)
		}
		if db.d.transactionalDDL() {
			files["0002_b.up.sql"] = "ROLLBACK;\n"
			if _, err := db.Up(ctx, UpOptions{Packs: []Pack{makePack(t, "w", nil, files)}}); err == nil || !strings.Contains(err.Error(), "0002_b.up.sql line 1") {
				t.Fatalf("ROLLBACK in a file: %v", err)
			}
		}
		delete(files, "0002_b.up.sql")
		p := makePack(t, "w", nil, files)
		up(t, db, UpOptions{Packs: []Pack{p}})
		if _, err := db.Down(ctx, DownOptions{Packs: []Pack{p}, Pack: "w"}); err != nil {
			t.Fatal(err)
		}
		if tableExists(t, db, "wrapped") {
			t.Fatal("down did not drop the table")
		}
	})

	t.Run("FailureMidRun", func(t *testing.T) {
		t.Parallel()
		db, _, _ := fresh(t)
		files := blogFiles()
		files["0002_add_slug.up.sql"] = "CREATE TABLE extra (id INTEGER NOT NULL PRIMARY KEY);\nINSERT INTO extra (id) VALUES (1);\nINSERT INTO no_such_table (id) VALUES (1);\nINSERT INTO extra (id) VALUES (3);\n"
		p := makePack(t, "blog", []string{"posts", "tags", "extra"}, files)
		backups := t.TempDir()
		_, err := db.Up(ctx, UpOptions{Packs: []Pack{p}, Tables: dirStore(backups)})
		var me *MigrationError
		if !errors.As(err, &me) || !errors.Is(err, ErrMigrationFailed) {
			t.Fatalf("Up: %v, want a *MigrationError", err)
		}
		if me.Pack != "blog" || me.Version != 2 || me.File != "0002_add_slug.up.sql" || me.Statement != 3 || me.Line != 3 ||
			me.FirstLine != "INSERT INTO no_such_table (id) VALUES (1)" {
			t.Fatalf("error %+v", me)
		}
		if len(me.Before) != 1 || me.Before[0].Version != 1 {
			t.Errorf("before: %+v", me.Before)
		}
		if !strings.Contains(err.Error(), "statement 3") || !strings.Contains(err.Error(), "no_such_table") {
			t.Errorf("message %q", err)
		}
		if db.d.transactionalDDL() {
			// Nothing of the run is left.
			if !me.RolledBack {
				t.Error("not rolled back")
			}
			for _, tb := range []string{"posts", "extra"} {
				if tableExists(t, db, tb) {
					t.Errorf("table %s left behind", tb)
				}
			}
			if n := queryInt(t, db, `SELECT COUNT(*) FROM upkeep_migrations`); n != 0 {
				t.Errorf("%d history rows left", n)
			}
			if n := queryInt(t, db, `SELECT COUNT(*) FROM upkeep_packs`); n != 0 {
				t.Errorf("%d upkeep_packs rows left", n)
			}
			return
		}
		// MySQL: migration 1 stays, two statements of migration 2 ran,
		// and the progress says so.
		if me.RolledBack || me.StatementsDone != 2 {
			t.Fatalf("rolled back %v, statements done %d", me.RolledBack, me.StatementsDone)
		}
		if !strings.Contains(err.Error(), "resume at statement 3") || !strings.Contains(err.Error(), me.Export) || me.Export == "" {
			t.Errorf("message %q lacks the ways out", err)
		}
		if v := schemaVersion(t, db, "blog"); v != 1 {
			t.Errorf("schema_version %d, want 1", v)
		}
		if n := queryInt(t, db, `SELECT COUNT(*) FROM extra`); n != 1 {
			t.Errorf("extra rows %d, want 1", n)
		}
		if n := queryInt(t, db, `SELECT statements_done FROM upkeep_progress WHERE pack = 'blog' AND version = 2`); n != 2 {
			t.Errorf("progress %d", n)
		}
		st, _ := db.Status(ctx, []Pack{p})
		if ip := st.Packs[0].Interrupted; ip == nil || ip.StatementsDone != 2 || ip.File != "0002_add_slug.up.sql" {
			t.Errorf("status interrupted %+v", ip)
		}
		if err := st.Err(); !errors.Is(err, ErrDatabaseBehind) || !strings.Contains(err.Error(), "resumes at statement 3") {
			t.Errorf("status error %v", err)
		}
		// Changing a statement that already ran is refused on resume.
		bad := map[string]string{}
		for k, v := range files {
			bad[k] = v
		}
		bad["0002_add_slug.up.sql"] = strings.Replace(files["0002_add_slug.up.sql"], "VALUES (1);", "VALUES (7);", 1)
		if _, err := db.Up(ctx, UpOptions{Packs: []Pack{makePack(t, "blog", nil, bad)}}); !errors.Is(err, ErrResumeMismatch) {
			t.Fatalf("resume with changed done statements: %v", err)
		}
		// Fix the failed statement: Up resumes at it.
		files["0002_add_slug.up.sql"] = strings.Replace(files["0002_add_slug.up.sql"], "no_such_table (id) VALUES (1)", "extra (id) VALUES (2)", 1)
		p = makePack(t, "blog", []string{"posts", "tags", "extra"}, files)
		res := up(t, db, UpOptions{Packs: []Pack{p}})
		if len(res.Applied) != 2 || res.Applied[0].Version != 2 {
			t.Fatalf("resume applied %+v", res.Applied)
		}
		if n := queryInt(t, db, `SELECT COUNT(*) FROM extra`); n != 3 {
			t.Errorf("extra rows %d, want 3 (1 before, 2 and 3 on resume)", n)
		}
		if n := queryInt(t, db, `SELECT COUNT(*) FROM upkeep_progress`); n != 0 {
			t.Errorf("progress left: %d", n)
		}
		if v := schemaVersion(t, db, "blog"); v != 3 {
			t.Errorf("schema_version %d", v)
		}
		// The other way out: the export taken before the failed run.
		if err := restoreFile(ctx, db, me.Export); err != nil {
			t.Fatal(err)
		}
		if tableExists(t, db, "posts") || tableExists(t, db, "extra") || schemaVersion(t, db, "blog") != 0 {
			t.Error("restore of the export taken before the run left tables or a version")
		}
	})

	t.Run("RestoreOnFailure", func(t *testing.T) {
		t.Parallel()
		db, _, _ := fresh(t)
		files := blogFiles()
		up(t, db, UpOptions{Packs: []Pack{makePack(t, "blog", []string{"posts"}, files)}, Pack: "blog", To: 1})
		if _, err := db.SQL().Exec("INSERT INTO posts (id, title) VALUES (3, 'mine')"); err != nil {
			t.Fatal(err)
		}
		files["0003_create_tags.up.sql"] += "INSERT INTO no_such_table (id) VALUES (1);\n"
		p := makePack(t, "blog", []string{"posts", "tags"}, files)
		_, err := db.Up(ctx, UpOptions{Packs: []Pack{p}, Tables: dirStore(t.TempDir()), RestoreOnFailure: true})
		var me *MigrationError
		if !errors.As(err, &me) || me.Version != 3 || me.Statement != 3 {
			t.Fatalf("Up: %v", err)
		}
		if !db.d.transactionalDDL() && (!me.Restored || !strings.Contains(err.Error(), "restored from")) {
			t.Fatalf("not restored: %v", err)
		}
		// Either way the database is as before the run.
		s, _ := db.TableSchema(ctx, "posts")
		if schemaVersion(t, db, "blog") != 1 || tableExists(t, db, "tags") || len(s.Columns) != 2 ||
			queryInt(t, db, "SELECT COUNT(*) FROM posts") != 3 || queryInt(t, db, "SELECT COUNT(*) FROM upkeep_progress") != 0 {
			t.Fatal("the failed run left something behind")
		}
		if d, err := db.Drift(ctx); err != nil || len(d) != 0 {
			t.Fatalf("drift after the failed run: %v %v", d, err)
		}
		if !db.d.transactionalDDL() {
			h, _ := db.History(ctx, 1)
			if len(h) != 1 || h[0].Direction != "restore" || h[0].Version != 1 {
				t.Fatalf("history %+v", h)
			}
		}
	})

	t.Run("Down", func(t *testing.T) {
		t.Parallel()
		db, _, _ := fresh(t)
		p := blogPack(t)
		up(t, db, UpOptions{Packs: []Pack{p}})
		res, err := db.Down(ctx, DownOptions{Packs: []Pack{p}, Pack: "blog", To: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Applied) != 2 || res.Applied[0].Version != 3 || res.Applied[1].Version != 2 || res.Applied[0].Direction != "down" {
			t.Fatalf("reverted %+v", res.Applied)
		}
		if tableExists(t, db, "tags") || !tableExists(t, db, "posts") || schemaVersion(t, db, "blog") != 1 {
			t.Fatal("down to 1 did not leave posts alone")
		}
		s, _ := db.TableSchema(ctx, "posts")
		if len(s.Columns) != 2 {
			t.Errorf("posts columns %+v", s.Columns)
		}
		// A missing .down.sql is refused before anything runs, naming it.
		noDown := makePack(t, "blog", nil, without(blogFiles(), "0001_create_posts.down.sql"))
		_, err = db.Down(ctx, DownOptions{Packs: []Pack{noDown}, Pack: "blog", To: 0})
		if !errors.Is(err, ErrNoDown) || !strings.Contains(err.Error(), "0001_create_posts.up.sql") {
			t.Fatalf("down without a down file: %v", err)
		}
		if !tableExists(t, db, "posts") || schemaVersion(t, db, "blog") != 1 {
			t.Fatal("a refused down changed something")
		}
		// Up again goes back to 3.
		if res := up(t, db, UpOptions{Packs: []Pack{p}}); len(res.Applied) != 2 {
			t.Fatalf("up after down %+v", res.Applied)
		}
	})

	t.Run("DownFailure", func(t *testing.T) {
		t.Parallel()
		db, _, _ := fresh(t)
		files := blogFiles()
		files["0003_create_tags.down.sql"] = "DELETE FROM tags;\nDROP TABLE no_such_table;\nDROP TABLE tags;\n"
		p := makePack(t, "blog", nil, files)
		up(t, db, UpOptions{Packs: []Pack{p}})
		if _, err := db.SQL().Exec("INSERT INTO tags (id, name) VALUES (1, 'a')"); err != nil {
			t.Fatal(err)
		}
		_, err := db.Down(ctx, DownOptions{Packs: []Pack{p}, Pack: "blog", To: 1})
		var me *MigrationError
		if !errors.As(err, &me) || me.Direction != "down" || me.File != "0003_create_tags.down.sql" || me.Statement != 2 {
			t.Fatalf("Down: %v", err)
		}
		if schemaVersion(t, db, "blog") != 3 || !tableExists(t, db, "tags") {
			t.Fatal("failed revert changed the version or dropped tags")
		}
		if db.d.transactionalDDL() {
			if n := queryInt(t, db, "SELECT COUNT(*) FROM tags"); n != 1 {
				t.Errorf("tags rows %d, want 1: the failed revert was not rolled back", n)
			}
			return
		}
		if n := queryInt(t, db, "SELECT COUNT(*) FROM tags"); n != 0 || me.StatementsDone != 1 || !strings.Contains(err.Error(), "run Down again") {
			t.Fatalf("tags rows %d, done %d, message %q", n, me.StatementsDone, err)
		}
		// Up refuses to go on from a half-reverted migration.
		if _, err := db.Up(ctx, UpOptions{Packs: []Pack{p}}); err == nil || !strings.Contains(err.Error(), "0003_create_tags.down.sql") {
			t.Fatalf("Up after a failed revert: %v", err)
		}
		files["0003_create_tags.down.sql"] = "DELETE FROM tags;\nDROP TABLE IF EXISTS no_such_table;\nDROP TABLE tags;\n"
		p = makePack(t, "blog", nil, files)
		res, err := db.Down(ctx, DownOptions{Packs: []Pack{p}, Pack: "blog", To: 1})
		if err != nil || len(res.Applied) != 2 {
			t.Fatalf("resumed Down: %+v %v", res, err)
		}
		if tableExists(t, db, "tags") || schemaVersion(t, db, "blog") != 1 || queryInt(t, db, "SELECT COUNT(*) FROM upkeep_progress") != 0 {
			t.Fatal("resumed revert did not finish")
		}
	})

	t.Run("Baseline", func(t *testing.T) {
		t.Parallel()
		db, _, _ := fresh(t)
		// An existing database made without upkeep.
		if _, err := db.SQL().Exec("CREATE TABLE posts (id INTEGER NOT NULL PRIMARY KEY, title VARCHAR(200) NOT NULL)"); err != nil {
			t.Fatal(err)
		}
		p := blogPack(t)
		if err := db.Baseline(ctx, BaselineOptions{Packs: []Pack{p}, Pack: "blog", Version: 1}); err != nil {
			t.Fatal(err)
		}
		st, _ := db.Status(ctx, []Pack{p})
		if ps := st.Packs[0]; ps.Database != 1 || len(ps.Pending) != 2 {
			t.Fatalf("status %+v", ps)
		}
		if err := db.Baseline(ctx, BaselineOptions{Packs: []Pack{p}, Pack: "blog", Version: 1}); err == nil {
			t.Error("second baseline accepted")
		}
		res := up(t, db, UpOptions{Packs: []Pack{p}})
		if len(res.Applied) != 2 || res.Applied[0].Version != 2 {
			t.Fatalf("applied %+v", res.Applied)
		}
		if n := queryInt(t, db, `SELECT COUNT(*) FROM posts`); n != 0 {
			t.Errorf("migration 1 ran: %d posts", n)
		}
	})

	t.Run("HistoryNewestFirst", func(t *testing.T) {
		t.Parallel()
		db, _, _ := fresh(t)
		p := blogPack(t)
		up(t, db, UpOptions{Packs: []Pack{p}})
		if _, err := db.Down(ctx, DownOptions{Packs: []Pack{p}, Pack: "blog", To: 2}); err != nil {
			t.Fatal(err)
		}
		h, err := db.History(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range h {
			got = append(got, e.Direction+" "+e.Name)
			if e.AppliedAt.IsZero() {
				t.Errorf("no time in %+v", e)
			}
		}
		want := []string{"down create_tags", "up create_tags", "up add_slug", "up create_posts"}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("history %q, want %q", got, want)
		}
		if h[3].SHA256 != p.Migrations[0].SHA256 {
			t.Error("sha256 not recorded")
		}
		if h2, _ := db.History(ctx, 2); len(h2) != 2 || h2[0].ID != h[0].ID {
			t.Errorf("limit 2: %+v", h2)
		}
	})

	t.Run("Drift", func(t *testing.T) {
		t.Parallel()
		db, _, _ := fresh(t)
		p := blogPack(t)
		up(t, db, UpOptions{Packs: []Pack{p}})
		d, err := db.Drift(ctx)
		if err != nil || len(d) != 0 {
			t.Fatalf("drift right after up: %v, %v", d, err)
		}
		// Reading the same schema twice reads the same.
		if n := queryInt(t, db, `SELECT COUNT(*) FROM upkeep_schema WHERE pack = 'blog' AND table_version = 3`); n != 2 {
			t.Fatalf("%d schema records", n)
		}
		// Behind upkeep's back.
		change := map[string]string{
			"sqlite":   "CREATE INDEX posts_title ON posts (title)",
			"postgres": "ALTER TABLE posts ALTER COLUMN title DROP NOT NULL",
			"mysql":    "ALTER TABLE posts MODIFY title VARCHAR(200) NULL",
		}[b.name]
		for _, s := range []string{"ALTER TABLE posts ADD COLUMN extra INTEGER", change, "DROP TABLE tags"} {
			if _, err := db.SQL().Exec(s); err != nil {
				t.Fatal(err)
			}
		}
		d, err = db.Drift(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range d {
			got = append(got, it.Table+": "+string(it.Kind)+" "+it.Name)
		}
		want := []string{"posts: column changed title", "posts: column added extra", "tags: table missing "}
		if b.name == "sqlite" {
			want = []string{"posts: column added extra", "posts: index added posts_title", "tags: table missing "}
		} else if !strings.Contains(d[0].String(), "NOT NULL") {
			t.Errorf("column changed: %s", d[0])
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("drift %q, want %q", got, want)
		}
		v, err := db.Verify(ctx, []Pack{p})
		if err != nil || len(v.Drift) != 3 || len(v.Changed) != 0 {
			t.Fatalf("Verify %+v %v", v, err)
		}
	})

	// The backend's backup and restore tooling (internal/dbsnap), chosen
	// from the same address: a snapshot, taken through the open handle
	// where the backend allows it, put back by Load, whatever changed
	// since; a failed load changes nothing or says how to undo it.
	t.Run("SnapshotTool", func(t *testing.T) {
		t.Parallel()
		db, dsn, root := fresh(t)
		a, err := dbaddr.Parse(dsn, root)
		if err != nil {
			t.Fatal(err)
		}
		tool := dbsnap.For(a, dbsnap.Options{DB: db.SQL()})
		for _, s := range []string{"CREATE TABLE snap_t (id integer PRIMARY KEY, v varchar(20))", "INSERT INTO snap_t VALUES (1, 'one'), (2, 'two')"} {
			if _, err := db.SQL().ExecContext(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		if tool.Estimate(ctx) <= 0 {
			t.Errorf("Estimate = %d", tool.Estimate(ctx))
		}
		snap := filepath.Join(t.TempDir(), tool.SnapshotName())
		if absent, err := tool.Snapshot(ctx, snap); err != nil || absent {
			t.Fatalf("Snapshot: %v, absent %v", err, absent)
		}
		for _, s := range []string{"DELETE FROM snap_t WHERE id = 1", "INSERT INTO snap_t VALUES (3, 'three')", "CREATE TABLE snap_extra (id integer)"} {
			if _, err := db.SQL().ExecContext(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
		if err := tool.Load(ctx, snap); err != nil {
			t.Fatalf("Load: %v", err)
		}
		db = openDB(t, dsn, root)
		if n := queryInt(t, db, "SELECT count(*) FROM snap_t WHERE id IN (1, 2)"); n != 2 || queryInt(t, db, "SELECT count(*) FROM snap_t") != 2 {
			t.Errorf("after Load: %d of rows 1 and 2, want exactly them", n)
		}
		if tableExists(t, db, "snap_extra") {
			t.Error("after Load: a table made after the snapshot is still there")
		}
		if !db.TransactionalDDL() && b.name != "mysql" || db.TransactionalDDL() && b.name == "mysql" {
			t.Errorf("TransactionalDDL() = %v on %s", db.TransactionalDDL(), b.name)
		}
		// Undo after a load: SQLite puts the replaced files back, a server
		// either needs nothing (PostgreSQL: one transaction) or says to
		// reload the snapshot taken before (MySQL: DDL commits).
		err = tool.Undo(ctx)
		switch b.name {
		case "sqlite":
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			db = openDB(t, dsn, root)
			if !tableExists(t, db, "snap_extra") {
				t.Error("SQLite Undo did not put the replaced file back")
			}
		case "postgres":
			if err != nil {
				t.Errorf("Undo = %v", err)
			}
			bad := filepath.Join(t.TempDir(), "bad.sql")
			os.WriteFile(bad, []byte("DELETE FROM snap_t;\nTHIS IS NOT SQL;\n"), 0o644)
			if err := tool.Load(ctx, bad); err == nil {
				t.Error("Load of a bad dump succeeded")
			}
			if n := queryInt(t, db, "SELECT count(*) FROM snap_t"); n != 2 {
				t.Errorf("a failed load changed the database: %d rows", n)
			}
		case "mysql":
			if !errors.Is(err, dbsnap.ErrReload) {
				t.Errorf("Undo = %v, want ErrReload", err)
			}
		}
		if err := tool.Finish(); err != nil {
			t.Error(err)
		}
	})

	t.Run("ExportRestore", func(t *testing.T) {
		t.Parallel()
		db, _, _ := fresh(t)
		p := blogPack(t)
		up(t, db, UpOptions{Packs: []Pack{p}})
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.SQL().Exec(db.q(q), args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`INSERT INTO posts (id, title, slug) VALUES (?, ?, ?)`, 3, "ünïcode 'quoted' \"double\" \\ back", nil)
		exec(`INSERT INTO tags (id, name) VALUES (?, ?)`, 1, "go")
		key := db.d.quote("key")
		for _, kv := range [][3]string{{"blog", "theme", "light"}, {"blog", "theme", "dark"}, {"blog", "per_page", "20"}, {"other", "keep", "me"}} {
			if err := db.SetSetting(ctx, kv[0], kv[1], kv[2]); err != nil {
				t.Fatal(err)
			}
		}
		if s, err := db.Settings(ctx, "blog"); err != nil || !reflect.DeepEqual(s, map[string]string{"theme": "dark", "per_page": "20"}) {
			t.Fatalf("Settings: %v %v", s, err)
		}
		before := dumpPack(t, db)
		// Where exports live and how they are named is the store's
		// business (backupstore: TestTablesBackupNames).
		path, err := exportFile(ctx, db, []Pack{p}, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		zr.Close()
		// Change everything.
		exec(`DELETE FROM posts WHERE id = ?`, 1)
		exec(`UPDATE posts SET title = 'changed'`)
		exec(`ALTER TABLE posts ADD COLUMN junk INTEGER`)
		exec(`DROP TABLE tags`)
		exec(`DELETE FROM upkeep_settings WHERE pack = 'blog' AND ` + key + ` = 'theme'`)
		exec(`UPDATE upkeep_settings SET value = '50' WHERE pack = 'blog'`)
		exec(`UPDATE upkeep_packs SET schema_version = 9`)
		if err := restoreFile(ctx, db, path); err != nil {
			t.Fatal(err)
		}
		after := dumpPack(t, db)
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("restore differs:\nbefore %v\nafter  %v", before, after)
		}
		if d, err := db.Drift(ctx); err != nil || len(d) != 0 {
			t.Fatalf("drift after restore: %v %v", d, err)
		}
		// Sequences and keys still work.
		exec(`INSERT INTO tags (id, name) VALUES (?, ?)`, 2, "sql")
		if err := db.Check(ctx, []Pack{p}); err != nil {
			t.Fatal(err)
		}
		// Up takes its export into the store it is given.
		files := blogFiles()
		files["0004_more.up.sql"] = "CREATE TABLE more_t (id INTEGER NOT NULL PRIMARY KEY);"
		res, err := db.Up(ctx, UpOptions{Packs: []Pack{makePack(t, "blog", []string{"posts", "tags", "more_t"}, files)}, Tables: dirStore(t.TempDir())})
		if err != nil || res.Export == "" {
			t.Fatalf("Up: %v, export %q", err, res.Export)
		}
		if _, err := os.Stat(res.Export); err != nil {
			t.Fatal(err)
		}
		// Restoring it drops the table the run created.
		if err := restoreFile(ctx, db, res.Export); err != nil {
			t.Fatal(err)
		}
		if tableExists(t, db, "more_t") || schemaVersion(t, db, "blog") != 3 {
			t.Error("restore did not undo the run")
		}
	})

	t.Run("ExportTypes", func(t *testing.T) {
		t.Parallel()
		db, _, _ := fresh(t)
		exportTypes(t, db, b.name)
	})

	t.Run("Locks", func(t *testing.T) {
		t.Parallel()
		db1, dsn, root := fresh(t)
		db2 := openDB(t, dsn, root)
		l, err := db1.Lock(ctx, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = db2.Lock(ctx, 300*time.Millisecond)
		var le *LockedError
		if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
			t.Fatalf("second Lock: %v", err)
		}
		if w := time.Since(start); w < 250*time.Millisecond || w > 5*time.Second {
			t.Errorf("waited %s for a 300ms timeout", w)
		}
		if b.name != "sqlite" && le.Holder == "" {
			t.Errorf("holder not named: %v", err)
		}
		t.Logf("%v", err)
		if _, err := db2.Up(ctx, UpOptions{Packs: []Pack{blogPack(t)}, LockTimeout: 200 * time.Millisecond}); !errors.Is(err, ErrLocked) {
			t.Fatalf("Up while locked: %v", err)
		}
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
		l2, err := db2.Lock(ctx, time.Second)
		if err != nil {
			t.Fatalf("Lock after release: %v", err)
		}
		l2.Release()
		up(t, db2, UpOptions{Packs: []Pack{blogPack(t)}})
	})

	t.Run("TableLockTimeout", func(t *testing.T) {
		if b.name == "sqlite" {
			t.Log("nothing to test: SQLite has no table locks, a run holds the write lock")
			return
		}
		t.Parallel()
		db, _, _ := fresh(t)
		p := blogPack(t)
		up(t, db, UpOptions{Packs: []Pack{p}, Pack: "blog", To: 1})
		// The application reads posts in a transaction that stays open.
		app, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer app.Rollback()
		var n int
		if err := app.QueryRow("SELECT COUNT(*) FROM posts").Scan(&n); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = db.Up(ctx, UpOptions{Packs: []Pack{p}, TableLockTimeout: 300 * time.Millisecond})
		var me *MigrationError
		if !errors.As(err, &me) || me.Version != 2 || me.Statement != 1 {
			t.Fatalf("Up against a held table lock: %v", err)
		}
		if w := time.Since(start); w > 10*time.Second {
			t.Errorf("took %s", w)
		}
		app.Rollback()
		if res := up(t, db, UpOptions{Packs: []Pack{p}}); len(res.Applied) != 2 {
			t.Fatalf("applied %+v", res.Applied)
		}
	})

	t.Run("GoMigrations", func(t *testing.T) {
		t.Parallel()
		db, _, _ := fresh(t)
		p := makePack(t, "gopack", nil, map[string]string{"0001_first.up.sql": "CREATE TABLE g1 (id INTEGER NOT NULL PRIMARY KEY);"})
		p.Migrations = append(p.Migrations, Migration{Version: 2, Name: "seed_in_go",
			Up: func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO g1 (id) VALUES (42)")
				return err
			},
			Down: func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, "DELETE FROM g1")
				return err
			}})
		res := up(t, db, UpOptions{Packs: []Pack{p}})
		if len(res.Applied) != 2 || queryInt(t, db, "SELECT id FROM g1") != 42 {
			t.Fatalf("applied %+v", res.Applied)
		}
		if _, err := db.Down(ctx, DownOptions{Packs: []Pack{p}, Pack: "gopack", To: 1}); err != nil {
			t.Fatal(err)
		}
		if n := queryInt(t, db, "SELECT COUNT(*) FROM g1"); n != 0 {
			t.Fatalf("g1 rows %d after down", n)
		}
		// A failing Go migration is reported with its name.
		p.Migrations = append(p.Migrations, Migration{Version: 3, Name: "boom", Up: func(context.Context, *sql.Tx) error { return errors.New("boom") }})
		_, err := db.Up(ctx, UpOptions{Packs: []Pack{p}})
		var me *MigrationError
		if !errors.As(err, &me) || me.File != "go:3_boom" {
			t.Fatalf("failing Go migration: %v", err)
		}
	})

	t.Run("SeveralPacksAndUnknown", func(t *testing.T) {
		t.Parallel()
		db, _, _ := fresh(t)
		a := blogPack(t)
		c := makePack(t, "comments", []string{"comments"}, map[string]string{"0001_c.up.sql": "CREATE TABLE comments (id INTEGER NOT NULL PRIMARY KEY)"})
		res := up(t, db, UpOptions{Packs: []Pack{a, c}, Pack: "comments"})
		if len(res.Applied) != 1 || tableExists(t, db, "posts") {
			t.Fatalf("--pack comments applied %+v", res.Applied)
		}
		if _, err := db.Up(ctx, UpOptions{Packs: []Pack{a, c}, Pack: "nope"}); !errors.Is(err, ErrUnknownPack) {
			t.Fatalf("unknown pack: %v", err)
		}
		up(t, db, UpOptions{Packs: []Pack{a, c}})
		st, err := db.Status(ctx, []Pack{a})
		if err != nil || !reflect.DeepEqual(st.Unknown, []string{"comments"}) {
			t.Fatalf("unknown %v %v", st.Unknown, err)
		}
	})
}

// dumpPack reads blog's tables, settings and bookkeeping as strings.
func dumpPack(t *testing.T, db *DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	key := db.d.quote("key")
	for name, q := range map[string]string{
		"posts":    "SELECT id, title, COALESCE(slug, '<null>') FROM posts ORDER BY id",
		"tags":     "SELECT id, name FROM tags ORDER BY id",
		"settings": "SELECT pack, " + key + ", value FROM upkeep_settings ORDER BY pack, " + key,
		"packs":    "SELECT pack, version, schema_version, installed_at, updated_at FROM upkeep_packs ORDER BY pack",
		"schema":   "SELECT pack, table_name, table_version, schema_text FROM upkeep_schema ORDER BY pack, table_name",
	} {
		rows, err := db.SQL().Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
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
				parts = append(parts, v.String)
			}
			out[name] = append(out[name], strings.Join(parts, "|"))
		}
		rows.Close()
	}
	if s, _ := db.TableSchema(context.Background(), "posts"); s != nil {
		out["posts schema"] = []string{s.Text()}
	}
	return out
}
