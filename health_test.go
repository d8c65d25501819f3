package main

import (
	"os"
	"path/filepath"
	"reflect"
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
		r.want(t, 6, nil, []string{"at health", `exit 3): blog answers 500`, "everything was put back"})
		if got := state(t, tr); !reflect.DeepEqual(got, before) {
			t.Fatalf("after the failed health check the root is not as before:\n got    %v\n before %v", keys(got), keys(before))
		}
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
