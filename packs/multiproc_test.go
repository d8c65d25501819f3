//go:build unix

// Killing a process with SIGKILL is a Unix test.

package packs

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// childPack is blog plus a Go migration that holds the run open for a
// while, so that two processes started together overlap.
func childPack(t *testing.T) Pack {
	p := blogPack(t)
	p.Migrations = append(p.Migrations, Migration{Version: 4, Name: "slow", Up: func(ctx context.Context, tx *sql.Tx) error {
		time.Sleep(700 * time.Millisecond)
		_, err := tx.ExecContext(ctx, "INSERT INTO tags (id, name) VALUES (1, 'once')")
		return err
	}})
	return p
}

// TestHelperMigrate is the child process of TestTwoProcesses: it does
// nothing unless UPKEEP_TEST_CHILD_DSN is set.
func TestHelperMigrate(t *testing.T) {
	dsn := os.Getenv("UPKEEP_TEST_CHILD_DSN")
	if dsn == "" {
		return // only a child process of TestTwoProcesses and TestCrash* does something
	}
	db, err := Open(context.Background(), dsn, os.Getenv("UPKEEP_TEST_CHILD_ROOT"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := childPack(t)
	if os.Getenv("UPKEEP_TEST_CHILD_MODE") == "crash-statement" {
		// Die after the first statement of migration 2.
		testHookAfterStatement = func(pack string, version, statement int) {
			if version == 2 && statement == 1 {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		}
	}
	if os.Getenv("UPKEEP_TEST_CHILD_MODE") == "crash" {
		// Die like kill -9 in the middle of the run, inside migration 4.
		p.Migrations[3].Up = func(context.Context, *sql.Tx) error {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	start := time.Now()
	res, err := db.Up(context.Background(), UpOptions{Packs: []Pack{p}, LockTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("CHILD applied=%d took=%d\n", len(res.Applied), time.Since(start).Milliseconds())
}

// TestTwoProcesses runs two OS processes migrating the same database at
// once: one applies everything, the other waits for the lock and then
// finds nothing to do.
func TestTwoProcesses(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			dsn, root := b.fresh(t)
			openDB(t, dsn, root) // upkeep tables exist before the race
			var (
				wg   sync.WaitGroup
				outs = make([][]byte, 2)
				errs = make([]error, 2)
			)
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cmd := exec.Command(os.Args[0], "-test.run=^TestHelperMigrate$", "-test.count=1")
					cmd.Env = append(os.Environ(), "UPKEEP_TEST_CHILD_DSN="+dsn, "UPKEEP_TEST_CHILD_ROOT="+root)
					var out bytes.Buffer
					cmd.Stdout, cmd.Stderr = &out, &out
					errs[i] = cmd.Run()
					outs[i] = out.Bytes()
				}()
			}
			wg.Wait()
			re := regexp.MustCompile(`CHILD applied=(\d+) took=(\d+)`)
			var applied []int
			for i := range 2 {
				m := re.FindSubmatch(outs[i])
				if errs[i] != nil || m == nil {
					t.Fatalf("child %d: %v\n%s", i, errs[i], outs[i])
				}
				n, _ := strconv.Atoi(string(m[1]))
				applied = append(applied, n)
				t.Logf("child %d: %s", i, m[0])
			}
			if !(applied[0] == 4 && applied[1] == 0 || applied[0] == 0 && applied[1] == 4) {
				t.Fatalf("applied %v, want one 4 and one 0", applied)
			}
			db := openDB(t, dsn, root)
			if n := queryInt(t, db, `SELECT COUNT(*) FROM upkeep_migrations`); n != 4 {
				t.Errorf("%d history rows, want 4", n)
			}
			if n := queryInt(t, db, `SELECT COUNT(*) FROM tags`); n != 1 {
				t.Errorf("%d tags rows, want 1", n)
			}
			if n := queryInt(t, db, `SELECT COUNT(*) FROM posts`); n != 2 {
				t.Errorf("%d posts rows, want 2", n)
			}
			if v := schemaVersion(t, db, "blog"); v != 4 {
				t.Errorf("schema_version %d", v)
			}
		})
	}
}

// TestCrashMidRun kills a process in the middle of a run and checks what
// the database holds afterwards: nothing of the run where DDL is
// transactional, the migrations that completed (and no progress for the
// one that died) on MySQL; and that the lock died with the process.
func TestCrashMidRun(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			dsn, root := b.fresh(t)
			db := openDB(t, dsn, root)
			runKilledChild(t, dsn, root, "crash")
			if db.d.transactionalDDL() {
				if tableExists(t, db, "posts") || tableExists(t, db, "tags") || schemaVersion(t, db, "blog") != 0 ||
					queryInt(t, db, "SELECT COUNT(*) FROM upkeep_migrations") != 0 {
					t.Fatal("a killed run left something behind")
				}
			} else {
				if schemaVersion(t, db, "blog") != 3 || queryInt(t, db, "SELECT COUNT(*) FROM upkeep_migrations") != 3 ||
					queryInt(t, db, "SELECT COUNT(*) FROM tags") != 0 || queryInt(t, db, "SELECT COUNT(*) FROM upkeep_progress") != 0 {
					t.Fatal("a killed run on MySQL did not stop cleanly after migration 3")
				}
			}
			// The lock died with the process: the next run gets it at once.
			res, err := db.Up(context.Background(), UpOptions{Packs: []Pack{childPack(t)}, LockTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if schemaVersion(t, db, "blog") != 4 || queryInt(t, db, "SELECT COUNT(*) FROM tags") != 1 {
				t.Fatalf("after the crash, Up applied %+v", res.Applied)
			}
		})
	}
}

func runKilledChild(t *testing.T, dsn, root, mode string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperMigrate$", "-test.count=1")
	cmd.Env = append(os.Environ(), "UPKEEP_TEST_CHILD_DSN="+dsn, "UPKEEP_TEST_CHILD_ROOT="+root, "UPKEEP_TEST_CHILD_MODE="+mode)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v\n%s", err, out)
	}
}

// TestCrashBetweenStatements kills a process right after the first
// statement of a two-statement file: where DDL is transactional nothing is
// left; on MySQL the progress says one statement ran, and the next run
// resumes at the second without running the first again.
func TestCrashBetweenStatements(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			dsn, root := b.fresh(t)
			db := openDB(t, dsn, root)
			runKilledChild(t, dsn, root, "crash-statement")
			st, err := db.Status(context.Background(), []Pack{childPack(t)})
			if err != nil {
				t.Fatal(err)
			}
			ps := st.Packs[0]
			if db.d.transactionalDDL() {
				if ps.Database != 0 || ps.Interrupted != nil || tableExists(t, db, "posts") {
					t.Fatalf("a killed run left something behind: %+v", ps)
				}
			} else {
				// 0002_add_slug: ALTER TABLE ran, UPDATE did not.
				if ps.Database != 1 || ps.Interrupted == nil || ps.Interrupted.StatementsDone != 1 || ps.Interrupted.File != "0002_add_slug.up.sql" {
					t.Fatalf("status after the kill: %+v %+v", ps, ps.Interrupted)
				}
				if n := queryInt(t, db, "SELECT COUNT(*) FROM posts WHERE slug IS NULL"); n != 2 {
					t.Fatalf("%d posts without slug, want 2", n)
				}
			}
			if _, err := db.Up(context.Background(), UpOptions{Packs: []Pack{childPack(t)}, LockTimeout: 5 * time.Second}); err != nil {
				t.Fatal(err)
			}
			if schemaVersion(t, db, "blog") != 4 || queryInt(t, db, "SELECT COUNT(*) FROM posts WHERE slug = 'x'") != 2 {
				t.Fatal("the run after the kill did not finish the migrations")
			}
		})
	}
}
