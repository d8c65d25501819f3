package sqlsplit

import (
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name   string
		flavor Flavor
		src    string
		want   []string
		lines  []int
	}{
		{"two", SQLite, "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\n", []string{"CREATE TABLE a (x int)", "INSERT INTO a VALUES (1)"}, []int{1, 2}},
		{"no final semicolon", Postgres, "SELECT 1;\nSELECT 2", []string{"SELECT 1", "SELECT 2"}, []int{1, 2}},
		{"semicolon in string", Postgres, "INSERT INTO a VALUES ('x;y');SELECT 'it''s;'", []string{"INSERT INTO a VALUES ('x;y')", "SELECT 'it''s;'"}, nil},
		{"semicolon in comments", SQLite, "-- a; b\nSELECT 1; /* c;\n d */ SELECT 2;", []string{"-- a; b\nSELECT 1", "/* c;\n d */ SELECT 2"}, []int{2, 3}},
		{"only comments dropped", SQLite, "SELECT 1;\n-- trailing comment;\n/* x */", []string{"SELECT 1"}, nil},
		{"dollar quoting", Postgres, "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\nCREATE FUNCTION g() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;", []string{"CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql", "CREATE FUNCTION g() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql"}, []int{1, 2}},
		{"positional parameter is not a dollar quote", Postgres, "PREPARE p AS SELECT $1;SELECT 2", []string{"PREPARE p AS SELECT $1", "SELECT 2"}, nil},
		{"nested comment pg", Postgres, "/* a /* b; */ c; */ SELECT 1;", []string{"/* a /* b; */ c; */ SELECT 1"}, nil},
		{"E string pg", Postgres, `SELECT E'a\';b';SELECT 2`, []string{`SELECT E'a\';b'`, "SELECT 2"}, nil},
		{"mysql backslash", MySQL, `INSERT INTO a VALUES ('a\';b');SELECT 2`, []string{`INSERT INTO a VALUES ('a\';b')`, "SELECT 2"}, nil},
		{"mysql hash comment and backticks", MySQL, "# x;\nSELECT `a;b` FROM t;", []string{"# x;\nSELECT `a;b` FROM t"}, []int{2}},
		{"mysql delimiter", MySQL, "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END//\nDELIMITER ;\nSELECT 3;", []string{"CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END", "SELECT 3"}, []int{2, 4}},
		{"sqlite trigger", SQLite, "CREATE TRIGGER tr AFTER INSERT ON a BEGIN UPDATE b SET n = CASE WHEN n > 0 THEN n + 1 ELSE 1 END; DELETE FROM c; END;\nSELECT 1;", []string{"CREATE TRIGGER tr AFTER INSERT ON a BEGIN UPDATE b SET n = CASE WHEN n > 0 THEN n + 1 ELSE 1 END; DELETE FROM c; END", "SELECT 1"}, []int{1, 2}},
		{"sqlite begin transaction stays a statement", SQLite, "BEGIN; SELECT 1; END;", []string{"BEGIN", "SELECT 1", "END"}, nil},
		{"double quoted identifier", SQLite, `CREATE TABLE "a;b" (x);`, []string{`CREATE TABLE "a;b" (x)`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Split(tt.src, tt.flavor)
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			var lines []int
			for _, s := range got {
				texts = append(texts, s.Text)
				lines = append(lines, s.Line)
			}
			if !reflect.DeepEqual(texts, tt.want) {
				t.Fatalf("got %q, want %q", texts, tt.want)
			}
			if tt.lines != nil && !reflect.DeepEqual(lines, tt.lines) {
				t.Fatalf("lines %v, want %v", lines, tt.lines)
			}
		})
	}
}

func TestFirstLine(t *testing.T) {
	got, err := Split("-- why\n/* more */ INSERT INTO t\n  VALUES (1);\n\n  SELECT 2", SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].FirstLine() != "INSERT INTO t" || got[0].Line != 2 || got[1].FirstLine() != "SELECT 2" || got[1].Line != 5 {
		t.Fatalf("%+v", got)
	}
}

func TestSplitErrors(t *testing.T) {
	for _, src := range []string{"SELECT 'abc", "SELECT 1; /* x", "SELECT $$ abc"} {
		if _, err := Split(src, Postgres); err == nil {
			t.Errorf("%q: no error", src)
		}
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"SELECT 1;", "SELECT 'a;b'; -- c\n", "$$;$$", "/* /* */ */;", "DELIMITER //\nx//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, fl := range []Flavor{SQLite, Postgres, MySQL} {
			stmts, err := Split(src, fl)
			if err != nil {
				continue
			}
			for _, s := range stmts {
				if s.Text == "" || s.Line < 1 {
					t.Fatalf("bad statement %+v", s)
				}
			}
		}
	})
}
