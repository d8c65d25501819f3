package packs

import (
	"context"
	"database/sql"
	"errors"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/upkeep/upkeep/internal/sqlsplit"
)

// Every spelling of transaction control each backend accepts is either
// skipped (it asks for what the run does) or refused; ATTACH, DETACH and
// VACUUM INTO on SQLite, and any mention of upkeep's tables, are refused.
func TestCheckStatement(t *testing.T) {
	const run, skip, refuse = "run", "skip", "refuse"
	cases := []struct {
		f    sqlsplit.Flavor
		text string
		want string
	}{
		{sqlsplit.SQLite, "BEGIN", skip},
		{sqlsplit.SQLite, "begin immediate transaction y", skip},
		{sqlsplit.SQLite, "BEGIN /* c */ TRANSACTION \"y\"", skip},
		{sqlsplit.SQLite, "END TRANSACTION x", skip},
		{sqlsplit.SQLite, "commit transaction x", skip},
		{sqlsplit.SQLite, "ROLLBACK TRANSACTION x", refuse},
		{sqlsplit.SQLite, "-- c\n/* d */ rollback", refuse},
		{sqlsplit.SQLite, "ROLLBACK TRANSACTION TO SAVEPOINT a", run},
		{sqlsplit.SQLite, "SAVEPOINT a", run},
		{sqlsplit.SQLite, "RELEASE a", run},
		{sqlsplit.SQLite, "ATTACH DATABASE '/tmp/x.db' AS x", refuse},
		{sqlsplit.SQLite, "attach '/tmp/x.db' as x", refuse},
		{sqlsplit.SQLite, "DETACH x", refuse},
		{sqlsplit.SQLite, "VACUUM INTO '/tmp/y.db'", refuse},
		{sqlsplit.SQLite, "VACUUM main INTO '/tmp/y.db'", refuse},
		{sqlsplit.SQLite, "UPDATE upkeep_packs SET schema_version = 99", refuse},
		{sqlsplit.SQLite, "DROP TABLE 'upkeep_packs'", refuse},
		{sqlsplit.SQLite, "DELETE FROM [UPKEEP_MIGRATIONS]", refuse},
		{sqlsplit.SQLite, "DELETE FROM main.\"upkeep_schema\"", refuse},
		{sqlsplit.SQLite, "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE upkeep_packs SET version = 'x'; END", refuse},
		{sqlsplit.SQLite, "CREATE TABLE myupkeep_x (a INTEGER)", run},
		{sqlsplit.SQLite, "INSERT INTO t VALUES ('-- upkeep_packs is named in a comment? no: in a string')", refuse},
		{sqlsplit.SQLite, "-- upkeep_packs in a comment\nCREATE TABLE t (a INTEGER)", run},
		{sqlsplit.Postgres, "COMMIT AND NO CHAIN", skip},
		{sqlsplit.Postgres, "COMMIT AND CHAIN", skip},
		{sqlsplit.Postgres, "END WORK", skip},
		{sqlsplit.Postgres, "START TRANSACTION ISOLATION LEVEL SERIALIZABLE", skip},
		{sqlsplit.Postgres, "BEGIN WORK READ WRITE", skip},
		{sqlsplit.Postgres, "ROLLBACK AND CHAIN", refuse},
		{sqlsplit.Postgres, "ABORT", refuse},
		{sqlsplit.Postgres, "abort work and no chain", refuse},
		{sqlsplit.Postgres, "PREPARE TRANSACTION 'x'", refuse},
		{sqlsplit.Postgres, "COMMIT PREPARED 'x'", refuse},
		{sqlsplit.Postgres, "ROLLBACK PREPARED 'x'", refuse},
		{sqlsplit.Postgres, "PREPARE q AS SELECT 1", run},
		{sqlsplit.Postgres, "ROLLBACK TO SAVEPOINT a", run},
		{sqlsplit.Postgres, "/* a /* nested */ comment */ ROLLBACK", refuse},
		{sqlsplit.Postgres, "DO $$BEGIN EXECUTE 'DELETE FROM upkeep_migrations'; END$$", refuse},
		{sqlsplit.Postgres, "UPDATE public.\"upkeep_packs\" SET schema_version = 99", refuse},
		{sqlsplit.Postgres, "ATTACH x", run}, // not SQLite: PostgreSQL refuses it itself
		{sqlsplit.MySQL, "BEGIN", run},
		{sqlsplit.MySQL, "START TRANSACTION WITH CONSISTENT SNAPSHOT", run},
		{sqlsplit.MySQL, "COMMIT WORK AND NO CHAIN", run},
		{sqlsplit.MySQL, "COMMIT RELEASE", refuse},
		{sqlsplit.MySQL, "ROLLBACK WORK AND CHAIN", refuse},
		{sqlsplit.MySQL, "XA START 'x'", refuse},
		{sqlsplit.MySQL, "SET autocommit = 0", refuse},
		{sqlsplit.MySQL, "SET @@session.completion_type = 1", refuse},
		{sqlsplit.MySQL, "SET SESSION sql_mode = ''", run},
		{sqlsplit.MySQL, "/*!40101 ROLLBACK */", refuse},
		{sqlsplit.MySQL, "# c\nROLLBACK", refuse},
		{sqlsplit.MySQL, "BEGIN NOT ATOMIC COMMIT; END", refuse},
		{sqlsplit.MySQL, "CREATE PROCEDURE p() BEGIN ROLLBACK; END", refuse},
		{sqlsplit.MySQL, "DELETE FROM `upkeep_migrations`", refuse},
		{sqlsplit.MySQL, "INSERT INTO t VALUES ('a\\'upkeep_packs')", refuse},
	}
	for _, c := range cases {
		rule, err := checkStatement(c.f, sqlsplit.Statement{Text: c.text, Line: 3})
		got := run
		switch {
		case err != nil:
			got = refuse
			var re *RefusedError
			if !errors.As(err, &re) || re.Line != 3 || !errors.Is(err, ErrRefused) {
				t.Errorf("%q: error %#v", c.text, err)
			}
		case rule == skipIt:
			got = skip
		}
		if got != c.want {
			t.Errorf("flavor %d: %q: %s, want %s (%v)", c.f, c.text, got, c.want, err)
		}
	}
}

// A file that ends the run's transaction in a way the statement check
// cannot see (here a Go migration, which the check does not read) is
// caught after it, on every backend, and nothing of the run stays.
func TestRunTransactionIsWatched(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn, root := b.fresh(t)
			db := openDB(t, dsn, root)
			if !db.d.transactionalDDL() {
				// Each statement commits on its own: a file that leaves a
				// transaction open is refused after it.
				p := makePack(t, "w", nil, map[string]string{
					"0001_a.up.sql": "CREATE TABLE wa (id INTEGER);\nSTART TRANSACTION;\nINSERT INTO wa (id) VALUES (1);\n",
				})
				_, err := db.Up(ctx, UpOptions{Packs: []Pack{p}})
				if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "0001_a.up.sql refused: the file left a transaction open") {
					t.Fatalf("Up: %v", err)
				}
				return
			}
			ms := makePack(t, "w", nil, map[string]string{"0001_a.up.sql": "CREATE TABLE wa (id INTEGER);\n"}).Migrations
			ms = append(ms, Migration{Version: 2, Name: "commit", Up: func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, "COMMIT")
				return err
			}})
			_, err := db.Up(ctx, UpOptions{Packs: []Pack{{Name: "w", Version: "1.0.0", Migrations: ms}}})
			switch b.name {
			case "sqlite":
				// SQLite's commit hook turns the COMMIT into a rollback:
				// it fails, and the run with it.
				if !errors.Is(err, ErrMigrationFailed) || !strings.Contains(err.Error(), "go:2_commit failed") {
					t.Fatalf("Up: %v", err)
				}
			default:
				if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "go:2_commit refused: the transaction upkeep runs the migrations in was ended") {
					t.Fatalf("Up: %v", err)
				}
			}
			if b.name == "sqlite" && tableExists(t, db, "wa") {
				// SQLite's commit hook turns any commit before the run's
				// own into a rollback.
				t.Fatal("the Go migration's COMMIT committed part of the run")
			}
		})
	}
}

// SQLite's authorizer denies, below the statement check, what a
// migration statement may not do.
func TestSQLiteAuthorizer(t *testing.T) {
	ctx := context.Background()
	dsn, root := sqliteBackend.fresh(t)
	db := openDB(t, dsn, root)
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	w, err := db.d.watch(ctx, conn, tx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	w.enter()
	for _, stmt := range []string{
		"ATTACH DATABASE '" + root + "/x.db' AS x", "DETACH main", "UPDATE upkeep_packs SET version = 'x'",
		"DROP TABLE upkeep_schema", "SELECT * FROM upkeep_settings", "ROLLBACK",
		"VACUUM INTO '" + root + "/y.db'",
	} {
		if _, err := tx.ExecContext(ctx, stmt); err == nil {
			t.Errorf("%s ran", stmt)
		}
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE fine (a INTEGER)"); err != nil {
		t.Fatal(err)
	}
	w.leave()
	if err := w.check(ctx, tx); err != nil {
		t.Fatalf("check: %v", err)
	}
	if _, err := tx.ExecContext(ctx, "SELECT count(*) FROM upkeep_packs"); err != nil {
		t.Fatalf("upkeep's own statement outside a migration: %v", err)
	}
}

// TestKeywordsCoverTheChecks guards keyword: a word is upper-cased only
// when it is in keywords, so every upper-case word the checks compare a
// token with must be there, or a lower-case spelling would slip through.
func TestKeywordsCoverTheChecks(t *testing.T) {
	fset := gotoken.NewFileSet()
	file, err := parser.ParseFile(fset, "stmtcheck.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, k := range keywords {
		known[k] = true
	}
	word := regexp.MustCompile(`^"[A-Z][A-Z_]*"$`)
	seen := 0
	for _, d := range file.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || (fn.Name.Name != "checkTokens" && fn.Name.Name != "checkBody") {
			continue
		}
		ast.Inspect(fn, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || !word.MatchString(lit.Value) {
				return true
			}
			seen++
			if k, _ := strconv.Unquote(lit.Value); !known[k] {
				t.Errorf("%s: %s is compared with but not in keywords", fset.Position(lit.Pos()), k)
			}
			return true
		})
	}
	if seen < 20 {
		t.Fatalf("found %d keywords in checkTokens and checkBody, want the checks' 20 or more", seen)
	}
	for _, w := range []string{"rollback", "RollBack", "ROLLBACK"} {
		if got := keyword(w); got != "ROLLBACK" {
			t.Errorf("keyword(%q) = %q, want ROLLBACK", w, got)
		}
	}
	if got := keyword("t_1"); got != "t_1" {
		t.Errorf("keyword(%q) = %q, want it unchanged", "t_1", got)
	}
}
