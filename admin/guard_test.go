package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/upkeep/upkeep/internal/testdb"
	"github.com/upkeep/upkeep/updates"
)

// Guard honours the maintenance row another host keeps on a shared
// MySQL/MariaDB database while it migrates (or after it was killed doing
// so): 503 until the row goes or expires.
func TestGuardHonoursAnotherHostsMaintenanceRow(t *testing.T) {
	dsn := testdb.Fresh(t, "mysql")
	root := newRoot(t)
	dropZip(t, root, "core", "core-2.1.0.zip")
	opts := updates.Options{ScanOptions: updates.ScanOptions{Root: root}, DB: dsn, Mode: updates.Install, NoBackup: true}
	if _, err := updates.Bootstrap(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("the app")) })
	g := Guard(Options{Options: updates.Options{ScanOptions: updates.ScanOptions{Root: root}, DB: dsn}}, app)
	if rec := httpDo(g, "GET", "/posts"); rec.Code != 200 {
		t.Fatalf("before: %d %s", rec.Code, rec.Body)
	}
	db, err := testdb.Open(dsn, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
	if _, err := db.Exec(`INSERT INTO upkeep_maintenance (id, host_id, hostname, root, batch_id, started_at, renewed_at) VALUES (1, ?, 'web-2', '/srv/app', '20261206T101500Z', ?, ?)`,
		strings.Repeat("ab", 16), now, now); err != nil {
		t.Fatal(err)
	}
	time.Sleep(guardEvery + 100*time.Millisecond)
	rec := httpDo(g, "GET", "/posts")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "30" || !strings.Contains(rec.Body.String(), "The database is being updated.") {
		t.Fatalf("while another host migrates: %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	// Nobody renews it: it expires, and the application opens again.
	if _, err := db.Exec(`UPDATE upkeep_maintenance SET renewed_at = '2026-01-01T00:00:00.000000Z'`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(guardEvery + 100*time.Millisecond)
	if rec := httpDo(g, "GET", "/posts"); rec.Code != 200 || rec.Body.String() != "the app" {
		t.Fatalf("after the row expired: %d %s", rec.Code, rec.Body)
	}
}
