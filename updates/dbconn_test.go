package updates

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/internal/dbaddr"
	"github.com/upkeep/upkeep/packs"
)

// A start opens the database once: an install with its backup (VACUUM
// INTO through the same handle), its migrations and the final check of
// every pack (before, each opened its own: four opens). Not parallel: the
// count is the process's.
func TestInstallOpensDatabaseOnce(t *testing.T) {
	root := newRoot(t)
	newPack("core", "1.0.0").migrations(2, "t1", "t2").writeZip(t, pending(root, "core.zip"))
	before := dbaddr.Opens()
	rep, err := Bootstrap(context.Background(), Options{ScanOptions: ScanOptions{Root: root.Dir}, Mode: Install, MigrateDB: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := dbaddr.Opens() - before; n != 1 {
		t.Errorf("the install opened the database %d times, want 1", n)
	}
	if rep.Batch == nil || rep.Batch.Backup == "" || len(rep.Batch.Migrations) != 2 {
		t.Fatalf("batch %+v", rep.Batch)
	}
	m, err := backupstore.Show(root, rep.Batch.Backup)
	if err != nil || m.Database.Kind != "sqlite" || m.Database.Snapshot == nil {
		t.Fatalf("backup database %+v, %v", m, err)
	}
}

// An application hands over its own *sql.DB: the start opens nothing,
// migrates and backs up through it, and leaves it open.
func TestInstallUsesHandedOverDatabase(t *testing.T) {
	root := newRoot(t)
	newPack("core", "1.0.0").migrations(2, "t1", "t2").writeZip(t, pending(root, "core.zip"))
	file := filepath.Join(t.TempDir(), "own.db")
	own, err := sql.Open("sqlite", "file:"+file)
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	before := dbaddr.Opens()
	rep, err := Bootstrap(context.Background(), Options{ScanOptions: ScanOptions{Root: root.Dir}, Mode: Install, MigrateDB: true,
		SQL: own, Dialect: packs.DialectSQLite})
	if err != nil {
		t.Fatal(err)
	}
	if n := dbaddr.Opens() - before; n != 0 {
		t.Errorf("the start opened the database %d times, want 0", n)
	}
	var tables int
	if err := own.QueryRow("SELECT count(*) FROM sqlite_master WHERE name IN ('t1', 't2', 'upkeep_packs')").Scan(&tables); err != nil || tables != 3 {
		t.Fatalf("the handed-over database holds %d of t1, t2, upkeep_packs (%v): the start did not migrate it", tables, err)
	}
	if err := own.Ping(); err != nil {
		t.Fatalf("the start closed the handed-over database: %v", err)
	}
	m, err := backupstore.Show(root, rep.Batch.Backup)
	if err != nil || m.Database.Snapshot == nil || m.Database.Source != file {
		t.Fatalf("backup database %+v, %v; want a snapshot of %s", m.Database, err, file)
	}
}
