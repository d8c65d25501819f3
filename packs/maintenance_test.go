package packs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/upkeep/upkeep/internal/testdb"
)

// The maintenance row on MySQL/MariaDB: a run that migrates writes it and
// clears it with the batch's commit record; another host's row that is
// not expired is waited for (then a *MaintenanceError, exit 5) and refuses
// a run; an expired one is ignored and replaced; a host clears only its
// own. SQLite and PostgreSQL keep none.
func TestMaintenanceRow(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{"sqlite", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			dsn := testdb.Fresh(t, kind)
			db := openDB(t, dsn, t.TempDir())
			blog := makePack(t, "blog", []string{"posts", "tags"}, without(blogFiles(), "0002_add_slug.up.sql", "0002_add_slug.down.sql"))
			seen := 0
			rec := &BatchRecord{ID: "b1", Host: strings.Repeat("aa", 16), Started: time.Now()}
			_, err := db.Up(ctx, UpOptions{Packs: []Pack{blog}, Batch: rec,
				Maintenance: &Maintenance{Host: rec.Host, Hostname: "web-1", Batch: "b1"},
				OnApplied: func(Applied) error {
					// After migration 1 of 2 (after the last one, the run has
					// committed and cleared it).
					if m, err := db.Maintenance(ctx); seen == 0 && (err != nil || (m != nil) != (kind == "mysql") || (m != nil && (m.Host != rec.Host || m.Batch != "b1"))) {
						t.Errorf("during the run the maintenance row is %+v (%v)", m, err)
					}
					seen++
					return nil
				}})
			if err != nil || seen != 2 {
				t.Fatalf("Up: %v (%d migrations seen)", err, seen)
			}
			if m, err := db.Maintenance(ctx); m != nil || err != nil {
				t.Fatalf("after the run the maintenance row is %+v (%v)", m, err)
			}
			if b, err := db.LookupBatch(ctx, rec.Host, "b1"); err != nil || b == nil || b.Committed.IsZero() {
				t.Fatalf("the batch's row: %+v (%v)", b, err)
			}
			if kind != "mysql" {
				if err := db.WaitMaintenance(ctx, "", time.Millisecond); err != nil {
					t.Fatal(err)
				}
				return
			}
			// Another host's row, as a host killed while migrating leaves it.
			other := strings.Repeat("bb", 16)
			now := time.Now().UTC().Format(timeFormat)
			if _, err := db.SQL().Exec(`INSERT INTO upkeep_maintenance (id, host_id, hostname, root, batch_id, started_at, renewed_at) VALUES (1, ?, 'web-2', '/srv/app', 'b9', ?, ?)`, other, now, now); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = db.WaitMaintenance(ctx, rec.Host, 300*time.Millisecond)
			var me *MaintenanceError
			if !errors.As(err, &me) || !errors.Is(err, ErrLocked) || time.Since(start) < 300*time.Millisecond || !me.Stopped ||
				!strings.Contains(err.Error(), "after host web-2 (root /srv/app) stopped while migrating (batch b9") {
				t.Fatalf("WaitMaintenance: %v after %s", err, time.Since(start))
			}
			if err := db.WaitMaintenance(ctx, other, time.Millisecond); err != nil {
				t.Fatalf("the host's own row is not waited for: %v", err)
			}
			shop := makePack(t, "shop", []string{"carts"}, map[string]string{"0001_carts.up.sql": "CREATE TABLE carts (id INTEGER NOT NULL PRIMARY KEY);\n"})
			if _, err := db.Up(ctx, UpOptions{Packs: []Pack{shop}}); !errors.As(err, &me) || tableExists(t, db, "carts") {
				t.Fatalf("a run beside another host's row: %v", err)
			}
			if cleared, err := db.ClearMaintenance(ctx, rec.Host); cleared || err != nil {
				t.Fatalf("a host cleared another's row: %v %v", cleared, err)
			}
			// Expired: ignored, and the next run replaces it.
			if _, err := db.SQL().Exec(`UPDATE upkeep_maintenance SET renewed_at = '2026-01-01T00:00:00.000000Z'`); err != nil {
				t.Fatal(err)
			}
			if err := db.WaitMaintenance(ctx, rec.Host, time.Millisecond); err != nil {
				t.Fatalf("an expired row is waited for: %v", err)
			}
			if _, err := db.Up(ctx, UpOptions{Packs: []Pack{shop}}); err != nil || !tableExists(t, db, "carts") {
				t.Fatalf("a run after the row expired: %v", err)
			}
			if m, err := db.Maintenance(ctx); m != nil || err != nil {
				t.Fatalf("after the run the maintenance row is %+v (%v)", m, err)
			}
		})
	}
}
