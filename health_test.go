package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// A health check that fails after the batch committed puts everything
// back from the backup: files, tables and rows, zips pending; exit 6. One
// that passes leaves the batch installed.
func TestInstallHealthCheck(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		f := newBatchFixture(t, kind, 2000)

		tr := f.copy(t)
		before := state(t, tr)
		r := tr.run(t, "--install-updates", "--health", `test -n "$UPKEEP_DB" && test -d "$UPKEEP_ROOT/packs/blog" && echo "blog answers 500" && exit 3`)
		r.want(t, 6, nil, []string{"at health", `health check failed: "test -n`, `(exit 3): blog answers 500`, "everything was put back"})
		if got := state(t, tr); !reflect.DeepEqual(got, before) {
			t.Fatalf("after the failed health check the root is not as before:\n got    %v\n before %v", keys(got), keys(before))
		}
		assertHealthRollbackInHistory(t, tr, `(exit 3): blog answers 500`)
		// No batch or restore left half done in .upkeep (the backup taken
		// before the batch stays the protected one: it holds this state).
		for _, d := range []string{"batch", "restore"} {
			if _, err := os.Stat(filepath.Join(tr.dir, ".upkeep", d)); err == nil {
				t.Fatalf(".upkeep/%s left behind", d)
			}
		}

		tr = f.copy(t)
		tr.run(t, "--install-updates", "--health", "sleep 5", "--health-timeout", "200ms").want(t, 6, nil, []string{"timed out"})
		if !reflect.DeepEqual(state(t, tr), before) {
			t.Fatal("after the timed-out health check the root is not as before")
		}

		tr = f.copy(t)
		tr.run(t, "--install-updates", "--health", `test "$UPKEEP_ROOT" = "$PWD"`).want(t, 0, []string{"Installed 3 updates", "passed"}, nil)
		if !reflect.DeepEqual(state(t, tr), state(t, f.after)) {
			t.Fatal("a passing health check did not leave the batch installed")
		}

		tr = f.copy(t)
		tr.run(t, "--install-updates", "--no-backup", "--health", "true").want(t, 1, nil, []string{"--health needs the backup"})
		if _, err := os.Stat(filepath.Join(tr.dir, "packs", "blog")); err == nil {
			t.Fatal("refused start installed")
		}
	})
}

// assertHealthRollbackInHistory checks that upkeep history shows the
// newest batch rolled back by its failed health check, why, and that the
// zips are marked failed.
func assertHealthRollbackInHistory(t *testing.T, tr *trial, why string) {
	t.Helper()
	r := tr.run(t, "history", "--json")
	r.want(t, 0, nil, nil)
	var h struct {
		Batches []struct {
			Outcome string   `json:"outcome"`
			Reason  string   `json:"reason"`
			Backup  string   `json:"backup"`
			Zips    []string `json:"zips"`
		} `json:"batches"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &h); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(h.Batches) == 0 {
		t.Fatalf("history holds no batch:\n%s", r.stdout)
	}
	b := h.Batches[0]
	if b.Outcome != "rolled_back" || !strings.HasPrefix(b.Reason, "health check failed: ") || !strings.Contains(b.Reason, why) ||
		b.Backup == "" || len(b.Zips) != 3 {
		t.Fatalf("newest batch %+v, want rolled_back with \"health check failed: ...%s\"", b, why)
	}
	tr.run(t, "history").want(t, 0, []string{"ROLLED BACK", "Why: health check failed: "}, nil)
	tr.run(t, "--check-updates").want(t, 3, []string{"blog-1.4.0.zip: failed", "health check failed: "}, nil)
	tr.run(t, "backups", "list").want(t, 0, []string{"install failed and was rolled back (batch "}, nil)
}

// The rollback of a batch whose health check failed is killed with SIGKILL
// at each of its steps: the next start finishes it, so every zip is back
// in Updates_Pending (and only there), the files, tables and rows are as
// before the batch, and the history says rolled back. On each backend.
func TestHealthRollbackCrashAtEveryStep(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		f := newBatchFixture(t, kind, 4096)
		before := state(t, f.template)
		for _, step := range []string{"health-journal", "health-restore", "health-return:core-2.1.0.zip",
			"health-return:blog-1.4.0.zip", "health-return:shop-1.0.0.zip", "health-returned", "health-record", "health-clean"} {
			t.Run(step, func(t *testing.T) {
				tr := f.copy(t)
				r := runEnv(t, tr.dir, []string{"UPKEEP_TEST_FAULT=crash@" + step}, tr.args("--install-updates", "--health", "echo down; exit 1")...)
				if r.code != -int(syscall.SIGKILL) {
					t.Fatalf("the rollback was not killed at %s: exit %d\n%s%s", step, r.code, r.stdout, r.stderr)
				}
				r = tr.run(t, "--check-updates")
				if step == "health-clean" {
					// Dead after the journal went: nothing left to do.
					r.want(t, 3, []string{"3 update zips in"}, nil)
				} else {
					r.want(t, 3, []string{"upkeep finished rolling back batch ", "after its failed health check (core 2.1.0, blog 1.4.0, shop 1.0.0)", "3 update zips in"}, nil)
				}
				// The state holds which zips are in Updates_Pending and which
				// in Updates_Installed: as before, each is pending only.
				if got := state(t, tr); !reflect.DeepEqual(got, before) {
					t.Fatalf("after a crash at %s the root is not as before the batch:\n got    %v\n before %v", step, keys(got), keys(before))
				}
				for _, d := range []string{"journal.json", "batch", "restore"} {
					if _, err := os.Stat(filepath.Join(tr.dir, ".upkeep", d)); err == nil {
						t.Fatalf(".upkeep/%s left behind", d)
					}
				}
				assertHealthRollbackInHistory(t, tr, "(exit 1): down")
			})
		}
	})
}
