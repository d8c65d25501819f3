package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/upkeep/upkeep/internal/testdb"
)

// production is what a rehearsal must leave alone: every file of the root
// with its content, mode and time (the root's lock file aside: taking the
// lock writes who holds it), the database's tables and rows (testdb.Dump),
// and on PostgreSQL pg_dump's full schema and data.
func production(t *testing.T, tr *trial) map[string]string {
	t.Helper()
	s := map[string]string{}
	for k, v := range fingerprint(t, tr.dir) {
		if rel, _ := filepath.Rel(tr.dir, k); rel != filepath.Join(".upkeep", "lock") {
			s[rel] = v
		}
	}
	for k, v := range testdb.Dump(t, tr.dsn, tr.dir) {
		s["db:"+k] = v
	}
	if strings.HasPrefix(tr.dsn, "postgres") {
		out, err := exec.Command("pg_dump", "--no-owner", "--dbname="+tr.dsn).Output()
		if err != nil {
			t.Fatalf("pg_dump: %v", err)
		}
		// \restrict and \unrestrict carry a key pg_dump draws anew each
		// run: leave them out.
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			if !strings.HasPrefix(l, `\restrict `) && !strings.HasPrefix(l, `\unrestrict `) {
				lines = append(lines, l)
			}
		}
		s["pg_dump"] = strings.Join(lines, "\n")
	}
	return s
}

// scratchFor gives a trial on a server a fresh, empty scratch database and
// the flag that names it.
func scratchFor(t *testing.T, kind string) (string, []string) {
	if kind == "sqlite" {
		return "", nil
	}
	dsn := testdb.Fresh(t, kind)
	return dsn, []string{"--scratch-db", dsn}
}

func scratchTables(t *testing.T, dsn string) int {
	t.Helper()
	if dsn == "" {
		return 0
	}
	db, err := testdb.Open(dsn, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()`
	if strings.HasPrefix(dsn, "mysql") {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()`
	}
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func assertDiscarded(t *testing.T, tr *trial, scratch string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(tr.dir, ".upkeep", "rehearsal")); err == nil {
		t.Fatal(".upkeep/rehearsal is still there")
	}
	if n := scratchTables(t, scratch); n != 0 {
		t.Fatalf("the scratch database still holds %d tables", n)
	}
}

func TestRehearse(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		f := newBatchFixture(t, kind, 3000)

		// A passing rehearsal: the batch installs on the copy, the health
		// command sees the copy, production is as it was.
		tr := f.copy(t)
		before := production(t, tr)
		scratch, flags := scratchFor(t, kind)
		args := append([]string{"rehearse", "--health", `test "$UPKEEP_REHEARSAL" = 1 && test -d "$UPKEEP_ROOT/packs/blog" && test "$UPKEEP_ROOT" != "` + tr.dir + `" && test -n "$UPKEEP_DB"`}, flags...)
		tr.run(t, args...).want(t, 0, []string{"Rehearsal PASSED", "core: 2.0.0 -> 2.1.0", "blog: new pack -> 1.4.0",
			"copy root", "snapshot database", "install: migrate", "core 2_email", "blog 1_posts",
			"Schema before:", "users (", "Schema after:", "posts (", "add table posts", "add column users.email",
			"health check", "passed", "The copy was discarded"}, nil)
		if after := production(t, tr); !reflect.DeepEqual(after, before) {
			t.Fatalf("production changed:\n%v", diffKeys(before, after))
		}
		assertDiscarded(t, tr, scratch)

		// --json: one document with the steps and migrations timed.
		r := tr.run(t, append([]string{"rehearse", "--json"}, flags...)...)
		r.want(t, 0, []string{`"passed": true`, `"duration_ms"`, `"schema_sql"`}, nil)
		assertDiscarded(t, tr, scratch)

		// A failing health command: exit 6, production unchanged.
		tr.run(t, append([]string{"rehearse", "--health", "echo blog is down; exit 7"}, flags...)...).want(t, 6,
			[]string{"Rehearsal FAILED", "exit 7): blog is down"}, []string{"rehearsal failed at health", "production was not changed"})
		if after := production(t, tr); !reflect.DeepEqual(after, before) {
			t.Fatalf("production changed:\n%v", diffKeys(before, after))
		}
		assertDiscarded(t, tr, scratch)

		// The scratch database may not be production.
		if kind != "sqlite" {
			tr.run(t, "rehearse", "--scratch-db", tr.dsn).want(t, 1, nil, []string{"production database", "hint:"})
			tr.run(t, "rehearse").want(t, 1, nil, []string{"needs --scratch-db"})
		}

		// A broken migration: the install fails on the copy, exit 6.
		bad := f.copy(t)
		run(t, ".", "pack", source(t, "wiki", "1.0.0", map[string]string{
			"migrations/0001_pages.up.sql": "CREATE TABLE pages (id INTEGER PRIMARY KEY);\nINSERT INTO nowhere VALUES (1);\n",
		}, nil, "pages"), "-o", filepath.Join(bad.dir, "Updates_Pending", "wiki-1.0.0.zip")).want(t, 0, nil, nil)
		before = production(t, bad)
		bad.run(t, append([]string{"rehearse"}, flags...)...).want(t, 6, []string{"Rehearsal FAILED"}, []string{"rehearsal failed at install", "nowhere"})
		if after := production(t, bad); !reflect.DeepEqual(after, before) {
			t.Fatalf("production changed:\n%v", diffKeys(before, after))
		}
		assertDiscarded(t, bad, scratch)
	})
}

// A rehearsal killed with SIGKILL leaves production as it was; the next
// start removes its copy and empties the scratch database.
func TestRehearseKilled(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		f := newBatchFixture(t, kind, 1000)
		tr := f.copy(t)
		before := production(t, tr)
		scratch, flags := scratchFor(t, kind)
		marker := filepath.Join(t.TempDir(), "health-started")
		cmd := exec.Command(upkeepBin, append(tr.args("rehearse", "--health", "touch "+marker+"; sleep 60"), flags...)...)
		cmd.Dir = tr.dir
		cmd.Env = append(os.Environ(), "UPKEEP_ROOT=")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			if _, err := os.Stat(marker); err == nil {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatal("the health command never started")
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if _, err := os.Stat(filepath.Join(tr.dir, ".upkeep", "rehearsal", "root", "packs", "blog")); err != nil {
			t.Fatalf("the killed rehearsal left no copy to clean (%v): the test proves nothing", err)
		}
		if kind != "sqlite" && scratchTables(t, scratch) == 0 {
			t.Fatal("the killed rehearsal left nothing in the scratch database")
		}
		after := production(t, tr)
		for k := range after {
			if strings.HasPrefix(k, filepath.Join(".upkeep", "rehearsal")) {
				delete(after, k)
			}
		}
		if !reflect.DeepEqual(after, before) {
			t.Fatalf("production changed:\n%v", diffKeys(before, after))
		}
		tr.run(t, "--ignore-updates").want(t, 0, nil, nil)
		assertDiscarded(t, tr, scratch)
	})
}

func diffKeys(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, "changed or gone: "+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, "new: "+k)
		}
	}
	return out
}
