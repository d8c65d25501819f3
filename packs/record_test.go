package packs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// TestHistoryRowsInBatches checks that a run's history rows, inserted a
// batch at a time, are all there, in the order the migrations ran, also
// across a migration that runs outside the transaction (which commits
// what ran before it).
func TestHistoryRowsInBatches(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:app.db", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := t.TempDir()
	const n = 2*recordBatch + 50
	for i := 1; i <= n; i++ {
		up := fmt.Sprintf("CREATE TABLE t_%d (id INTEGER PRIMARY KEY);\n", i)
		if i == recordBatch+50 {
			up = "-- +upkeep NO TRANSACTION\n" + up
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%04d_t%d.up.sql", i, i)), []byte(up), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := ReadMigrationsDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !ms[recordBatch+49].NoTransaction {
		t.Fatal("the marked migration does not run alone")
	}
	res, err := db.Up(ctx, UpOptions{Packs: []Pack{{Name: "p", Version: "1.0.0", Migrations: ms}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != n {
		t.Fatalf("%d applied, want %d", len(res.Applied), n)
	}
	rows, err := db.db.QueryContext(ctx, `SELECT version, name, sha256, direction FROM upkeep_migrations WHERE pack = 'p' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	v := 0
	for rows.Next() {
		var version int
		var name, sum, dir string
		if err := rows.Scan(&version, &name, &sum, &dir); err != nil {
			t.Fatal(err)
		}
		m := ms[v]
		v++
		if version != v || name != m.Name || sum != m.SHA256 || dir != "up" {
			t.Fatalf("history row %d: version %d %s %s %s, want %d %s %s up", v, version, name, sum, dir, v, m.Name, m.SHA256)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if v != n {
		t.Fatalf("%d history rows, want %d", v, n)
	}
	st, err := db.Status(ctx, []Pack{{Name: "p", Version: "1.0.0", Migrations: ms}})
	if err != nil {
		t.Fatal(err)
	}
	if p := st.Packs[0]; p.Database != n || len(p.Changed) > 0 {
		t.Fatalf("status %+v", p)
	}
}

// TestFileSavepoints checks that a file may use savepoints of its own, and
// that one that releases upkeep's is refused.
func TestFileSavepoints(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		up      string
		refused bool
	}{
		{"CREATE TABLE a (id INTEGER);\nSAVEPOINT s;\nINSERT INTO a VALUES (1);\nROLLBACK TO s;\nRELEASE s;\nINSERT INTO a VALUES (2);\n", false},
		{"CREATE TABLE a (id INTEGER);\nRELEASE SAVEPOINT upkeep_file;\n", true},
	} {
		db, err := Open(ctx, "sqlite:app.db", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		ms, err := ReadMigrationsFS(fstest.MapFS{"m/1_a.up.sql": {Data: []byte(c.up)}}, "m")
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Up(ctx, UpOptions{Packs: []Pack{{Name: "p", Migrations: ms}}})
		var re *RefusedError
		switch {
		case c.refused && !errors.As(err, &re):
			t.Errorf("%q: err = %v, want it refused", c.up, err)
		case !c.refused && err != nil:
			t.Errorf("%q: %v", c.up, err)
		case !c.refused:
			var n, v int
			if err := db.db.QueryRowContext(ctx, "SELECT count(*), max(id) FROM a").Scan(&n, &v); err != nil || n != 1 || v != 2 {
				t.Errorf("%q: table a holds %d rows, last %d (%v), want the one row 2", c.up, n, v, err)
			}
		}
		db.Close()
	}
}
