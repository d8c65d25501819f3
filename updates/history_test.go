package updates

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/packs"
)

// Every batch leaves a row in upkeep_batches: committed with what it ran,
// or rolled back with why; the backup of the failed one says so in
// backups list, and the host id is made once.
func TestInstallRecordsBatches(t *testing.T) {
	ctx := context.Background()
	root := newRoot(t)
	opts := Options{ScanOptions: ScanOptions{Root: root.Dir}, Mode: Install}

	newPack("blog", "1.0.0").migrations(2, "t1", "t2").writeZip(t, pending(root, "blog-1.0.0.zip"))
	r, err := Bootstrap(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	host, err := HostID(root)
	if err != nil || len(host) != 32 {
		t.Fatalf("host id %q, %v", host, err)
	}
	db, err := packs.Open(ctx, "", root.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bs, err := db.Batches(ctx, "", 0)
	if err != nil || len(bs) != 1 {
		t.Fatalf("batches %+v, %v", bs, err)
	}
	b := bs[0]
	if b.ID != r.Batch.ID || b.Host != host || b.Outcome != packs.OutcomeCommitted || b.Phase != "finished" ||
		b.Backup != r.Batch.Backup || b.Backup == "" || b.Committed.IsZero() || b.Duration <= 0 ||
		!slices.Equal(b.Zips, []string{"blog-1.0.0.zip"}) ||
		!slices.Equal(b.Migrations, []string{"blog 1_step1", "blog 2_step2"}) ||
		len(b.Packs) != 1 || b.Packs[0] != (packs.BatchPack{Pack: "blog", From: "", To: "1.0.0", Installed: r.Batch.Updates[0].Installed}) {
		t.Fatalf("committed batch: %+v", b)
	}

	// 1.1.0's third migration fails: rolled back, and recorded so.
	p := newPack("blog", "1.1.0").migrations(3, "t1", "t2", "t3")
	p.files["migrations/0003_step3.up.sql"] = "CREATE TABLE t3 (id INTEGER);\nNOT SQL AT ALL;\n"
	p.writeZip(t, pending(root, "blog-1.1.0.zip"))
	if _, err := Bootstrap(ctx, opts); !errors.Is(err, ErrInstallFailed) {
		t.Fatalf("err %v, want ErrInstallFailed", err)
	}
	if host2, _ := HostID(root); host2 != host {
		t.Fatalf("host id changed: %s, then %s", host, host2)
	}
	bs, err = db.Batches(ctx, host, 0)
	if err != nil || len(bs) != 2 {
		t.Fatalf("batches %+v, %v", bs, err)
	}
	f := bs[0]
	if f.Outcome != packs.OutcomeRolledBack || f.Phase != "swapping" || !strings.Contains(f.Reason, "NOT SQL") ||
		!f.Committed.IsZero() || len(f.Migrations) != 0 || f.Packs[0].From != "1.0.0" || f.Packs[0].To != "1.1.0" {
		t.Fatalf("failed batch: %+v", f)
	}
	list, err := backupstore.List(root)
	if err != nil {
		t.Fatal(err)
	}
	notes := map[string]string{}
	for _, bk := range list {
		notes[bk.ID] = bk.Note
	}
	if n := notes[f.Backup]; !strings.Contains(n, "rolled back") || !strings.Contains(n, f.ID) {
		t.Fatalf("note of the failed install's backup %s: %q (all: %v)", f.Backup, n, notes)
	}
	if n := notes[b.Backup]; n != "" {
		t.Fatalf("note of the committed install's backup: %q", n)
	}
}

// A batch killed before it committed is marked undone by the next start,
// which finds its row still running.
func TestRecoveryRecordsUndoneBatch(t *testing.T) {
	ctx := context.Background()
	root := newRoot(t)
	opts := Options{ScanOptions: ScanOptions{Root: root.Dir}, Mode: Install, NoBackup: true}
	newPack("blog", "1.0.0").migrations(1, "t1").writeZip(t, pending(root, "blog-1.0.0.zip"))
	r, err := Scan(ctx, opts.ScanOptions)
	if err != nil {
		t.Fatal(err)
	}
	// The state a kill -9 after staging leaves: the row "running", the
	// journal, the staged folder.
	b, err := newBatchRun(opts, root, r)
	if err != nil {
		t.Fatal(err)
	}
	host, err := EnsureHostID(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := startBatch(ctx, opts, root, b.j, host, b.from()); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(b.paths.staged("blog"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := b.paths.save(b.j); err != nil {
		t.Fatal(err)
	}
	db, err := packs.Open(ctx, "", root.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, _ := db.LookupBatch(ctx, host, b.j.Batch); got == nil || got.Outcome != packs.OutcomeRunning {
		t.Fatalf("before recovery: %+v", got)
	}
	// A kill while checkMoves probed the hard link leaves its probe.
	probe := filepath.Join(root.Installed(), ".blog-1.0.0.zip.link.tmp")
	if err := os.MkdirAll(root.Installed(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(pending(root, "blog-1.0.0.zip"), probe); err != nil {
		t.Fatal(err)
	}
	rec, err := recoverBatch(ctx, opts, root)
	if err != nil || rec == nil || rec.Action != Undone {
		t.Fatalf("recovery %+v, %v", rec, err)
	}
	if _, err := os.Lstat(probe); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link probe is left in Updates_Installed: %v", err)
	}
	if _, err := os.Stat(pending(root, "blog-1.0.0.zip")); err != nil {
		t.Errorf("the pending zip: %v", err)
	}
	got, err := db.LookupBatch(ctx, host, b.j.Batch)
	if err != nil || got == nil || got.Outcome != packs.OutcomeUndone || !strings.Contains(got.Reason, "interrupted") {
		t.Fatalf("after recovery: %+v, %v", got, err)
	}
	if _, err := os.Stat(b.paths.dir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("staging left behind: %v", err)
	}
}
