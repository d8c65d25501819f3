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
				if err := db.WaitMaintenance(ctx, nil, time.Millisecond); err != nil {
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
			me1 := &Maintenance{Host: rec.Host, Hostname: "web-1", Root: "/srv/app"}
			err = db.WaitMaintenance(ctx, me1, 300*time.Millisecond)
			var me *MaintenanceError
			if !errors.As(err, &me) || !errors.Is(err, ErrLocked) || time.Since(start) < 300*time.Millisecond || !me.Stopped ||
				!strings.Contains(err.Error(), "after host web-2 (root /srv/app) stopped while migrating (batch b9") {
				t.Fatalf("WaitMaintenance: %v after %s", err, time.Since(start))
			}
			owner := &Maintenance{Host: other, Hostname: "web-2", Root: "/srv/app"}
			if err := db.WaitMaintenance(ctx, owner, time.Millisecond); err != nil {
				t.Fatalf("the host's own row is not waited for: %v", err)
			}
			// A copy of web-2's root, on another machine or in another
			// folder, has web-2's host id: the row is not its own.
			for _, copied := range []*Maintenance{
				{Host: other, Hostname: "web-3", Root: "/srv/app"},
				{Host: other, Hostname: "web-2", Root: "/srv/app-copy"},
			} {
				if err := db.WaitMaintenance(ctx, copied, time.Millisecond); !errors.As(err, &me) {
					t.Fatalf("a copy of the root (%s, %s) does not wait for the row: %v", copied.Hostname, copied.Root, err)
				}
				if cleared, err := db.ClearMaintenance(ctx, copied); cleared || err != nil {
					t.Fatalf("a copy of the root (%s, %s) cleared the row: %v %v", copied.Hostname, copied.Root, cleared, err)
				}
			}
			if m, err := db.Maintenance(ctx); m == nil || err != nil {
				t.Fatalf("the row is gone: %+v %v", m, err)
			}
			shop := makePack(t, "shop", []string{"carts"}, map[string]string{"0001_carts.up.sql": "CREATE TABLE carts (id INTEGER NOT NULL PRIMARY KEY);\n"})
			if _, err := db.Up(ctx, UpOptions{Packs: []Pack{shop}}); !errors.As(err, &me) || tableExists(t, db, "carts") {
				t.Fatalf("a run beside another host's row: %v", err)
			}
			if cleared, err := db.ClearMaintenance(ctx, me1); cleared || err != nil {
				t.Fatalf("a host cleared another's row: %v %v", cleared, err)
			}
			// Expired: ignored, and the next run replaces it.
			if _, err := db.SQL().Exec(`UPDATE upkeep_maintenance SET renewed_at = '2026-01-01T00:00:00.000000Z'`); err != nil {
				t.Fatal(err)
			}
			if err := db.WaitMaintenance(ctx, me1, time.Millisecond); err != nil {
				t.Fatalf("an expired row is waited for: %v", err)
			}
			if _, err := db.Up(ctx, UpOptions{Packs: []Pack{shop}}); err != nil || !tableExists(t, db, "carts") {
				t.Fatalf("a run after the row expired: %v", err)
			}
			if m, err := db.Maintenance(ctx); m != nil || err != nil {
				t.Fatalf("after the run the maintenance row is %+v (%v)", m, err)
			}
			// The root's own row, left by a run of its that was killed:
			// its next start clears it.
			if _, err := db.SQL().Exec(`INSERT INTO upkeep_maintenance (id, host_id, hostname, root, batch_id, started_at, renewed_at) VALUES (1, ?, 'web-2', '/srv/app', 'b9', ?, ?)`, other, now, now); err != nil {
				t.Fatal(err)
			}
			if cleared, err := db.ClearMaintenance(ctx, owner); !cleared || err != nil {
				t.Fatalf("the root's own row is not cleared: %v %v", cleared, err)
			}
			if m, err := db.Maintenance(ctx); m != nil || err != nil {
				t.Fatalf("after its root cleared it the maintenance row is %+v (%v)", m, err)
			}
		})
	}
}

// TestMaintenanceSameRoot: a row is a root's own only for its host id,
// machine and folder; a copy of the root (its host id on another machine
// or in another folder) is another host, for the start (Mine) and for a
// run that would replace the row (same).
func TestMaintenanceSameRoot(t *testing.T) {
	id, other := strings.Repeat("aa", 16), strings.Repeat("bb", 16)
	row := &Maintenance{Host: id, Hostname: "web-1", Root: "/srv/app"}
	cases := []struct {
		who        *Maintenance
		mine, same bool
	}{
		{&Maintenance{Host: id, Hostname: "web-1", Root: "/srv/app"}, true, true},
		{&Maintenance{Host: id, Hostname: "web-2", Root: "/srv/app"}, false, false},
		{&Maintenance{Host: id, Hostname: "web-1", Root: "/srv/app-copy"}, false, false},
		{&Maintenance{Host: other, Hostname: "web-1", Root: "/srv/app"}, false, false},
		{&Maintenance{Hostname: "web-1", Root: "/srv/app"}, false, true}, // packs alone: no host id
		{nil, false, false},
	}
	for _, c := range cases {
		if got := row.Mine(c.who); got != c.mine {
			t.Errorf("Mine(%+v) = %v, want %v", c.who, got, c.mine)
		}
		if c.who != nil {
			if got := row.same(c.who); got != c.same {
				t.Errorf("same(%+v) = %v, want %v", c.who, got, c.same)
			}
		}
	}
}

// TestMaintenanceOnTheServersClock: the maintenance row's times are the
// database server's, so a host whose clock is off by more than
// MaintenanceExpiry reads the row as the others do: one ahead does not
// take a live row for expired, one behind does not honour an expired row.
func TestMaintenanceOnTheServersClock(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.Fresh(t, "mysql")
	writer := openDB(t, dsn, t.TempDir())
	writer.now = func() time.Time { return time.Now().Add(-2 * time.Hour) } // its clock lags
	blog := makePack(t, "blog", []string{"posts", "tags"}, without(blogFiles(), "0002_add_slug.up.sql", "0002_add_slug.down.sql"))
	checked := false
	ahead := openDB(t, dsn, t.TempDir())
	ahead.now = func() time.Time { return time.Now().Add(MaintenanceExpiry + time.Hour) }
	_, err := writer.Up(ctx, UpOptions{Packs: []Pack{blog},
		Maintenance: &Maintenance{Host: strings.Repeat("aa", 16), Hostname: "web-1", Root: "/srv/app"},
		OnApplied: func(Applied) error {
			if checked {
				return nil
			}
			checked = true
			m, err := writer.Maintenance(ctx)
			if err != nil || m == nil {
				t.Fatalf("during the run: row %+v (%v)", m, err)
			}
			if d := time.Since(m.Renewed); d < -time.Minute || d > time.Minute {
				t.Errorf("the row was renewed %s ago by its writer, whose clock lags 2h: not the server's time", d)
			}
			// The host whose clock runs ahead waits for the live row.
			if err := ahead.WaitMaintenance(ctx, &Maintenance{Host: strings.Repeat("bb", 16), Hostname: "web-2", Root: "/srv/app"}, time.Millisecond); !errors.Is(err, ErrLocked) {
				t.Errorf("a host whose clock runs ahead took the live row for expired: %v", err)
			}
			if m, err := ahead.ActiveMaintenance(ctx); m == nil || err != nil {
				t.Errorf("ActiveMaintenance on a host whose clock runs ahead: %+v (%v)", m, err)
			}
			return nil
		}})
	if err != nil || !checked {
		t.Fatalf("Up: %v", err)
	}
	// A row nobody renewed for longer than MaintenanceExpiry, by the
	// server's clock: the host whose clock lags does not honour it.
	old := time.Now().UTC().Add(-MaintenanceExpiry - time.Minute).Format(timeFormat)
	if _, err := writer.SQL().Exec(`INSERT INTO upkeep_maintenance (id, host_id, hostname, root, batch_id, started_at, renewed_at) VALUES (1, ?, 'web-3', '/srv/app', 'b9', ?, ?)`, strings.Repeat("cc", 16), old, old); err != nil {
		t.Fatal(err)
	}
	if err := writer.WaitMaintenance(ctx, nil, time.Millisecond); err != nil {
		t.Fatalf("a host whose clock lags honours an expired row: %v", err)
	}
	if m, err := writer.ActiveMaintenance(ctx); m != nil || err != nil {
		t.Fatalf("ActiveMaintenance of an expired row: %+v (%v)", m, err)
	}
}
