package packs

import (
	"context"
	"reflect"
	"testing"
	"time"
)

// TestBatches records batches in upkeep_batches on every backend: a row
// written when a batch starts, replaced by Up in the run's transaction as
// it commits, kept as it was when the run fails.
func TestBatches(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn, root := b.fresh(t)
			db := openDB(t, dsn, root)
			started := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
			rec := BatchRecord{ID: "20261206T200000Z", Host: "host-a", Hostname: "web-1", Phase: "staging", Outcome: OutcomeRunning,
				Packs: []BatchPack{{Pack: "blog", From: "", To: "1.0.0", Installed: "blog_20261206T200000Z.zip"}},
				Zips:  []string{"blog.zip"}, Backup: "20261206T200000Z_install", Started: started}
			if err := db.RecordBatch(ctx, rec); err != nil {
				t.Fatal(err)
			}
			got, err := db.LookupBatch(ctx, "host-a", rec.ID)
			if err != nil || got == nil {
				t.Fatalf("LookupBatch: %v, %v", got, err)
			}
			want := rec
			want.Migrations = []string{}
			if !reflect.DeepEqual(*got, want) {
				t.Fatalf("read back\n%+v\nwant\n%+v", *got, want)
			}

			// A failing run leaves the row as it was.
			bad := makePack(t, "blog", []string{"posts"}, map[string]string{"1_bad.up.sql": "CREATE TABLE posts (id INTEGER);\nTHIS IS NOT SQL;\n"})
			commit := rec
			if _, err := db.Up(ctx, UpOptions{Packs: []Pack{bad}, Batch: &commit}); err == nil {
				t.Fatal("Up of a bad migration succeeded")
			}
			if got, _ := db.LookupBatch(ctx, "host-a", rec.ID); got == nil || got.Outcome != OutcomeRunning || !got.Committed.IsZero() {
				t.Fatalf("after a failed run: %+v", got)
			}

			// A run that commits writes the row, committed, with its migrations.
			dsn2, root2 := b.fresh(t)
			db3 := openDB(t, dsn2, root2)
			db3.now = func() time.Time { return started.Add(1500 * time.Millisecond) }
			commit = rec
			if _, err := db3.Up(ctx, UpOptions{Packs: []Pack{blogPack(t)}, Batch: &commit}); err != nil {
				t.Fatal(err)
			}
			got, err = db3.LookupBatch(ctx, "host-a", rec.ID)
			if err != nil || got == nil {
				t.Fatalf("LookupBatch: %v, %v", got, err)
			}
			wantMigs := []string{"blog 1_create_posts", "blog 2_add_slug", "blog 3_create_tags"}
			if got.Outcome != OutcomeCommitted || got.Phase != "committed" || !reflect.DeepEqual(got.Migrations, wantMigs) ||
				!got.Committed.Equal(started.Add(1500*time.Millisecond)) || got.Duration != 1500*time.Millisecond {
				t.Fatalf("committed row: %+v", got)
			}

			// Newest first, across hosts; filtered by host.
			other := rec
			other.ID, other.Host, other.Started = "20261206T210000Z", "host-b", started.Add(time.Hour)
			if err := db3.RecordBatch(ctx, other); err != nil {
				t.Fatal(err)
			}
			all, err := db3.Batches(ctx, "", 0)
			if err != nil || len(all) != 2 || all[0].Host != "host-b" || all[1].Host != "host-a" {
				t.Fatalf("Batches: %+v, %v", all, err)
			}
			mine, err := db3.Batches(ctx, "host-a", 0)
			if err != nil || len(mine) != 1 || mine[0].ID != rec.ID {
				t.Fatalf("Batches(host-a): %+v, %v", mine, err)
			}
			if none, err := db3.LookupBatch(ctx, "host-c", rec.ID); none != nil || err != nil {
				t.Fatalf("LookupBatch of another host: %+v, %v", none, err)
			}
		})
	}
}
