package backupstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/upkeep/upkeep/internal/dbaddr"
	"github.com/upkeep/upkeep/internal/dbsnap"
	"github.com/upkeep/upkeep/layout"
)

// dbConfig is the database a backup covers: its address, read once by
// package internal/dbaddr (the parser package packs uses too), and its
// backend's tooling (package internal/dbsnap), chosen once from it.
type dbConfig struct {
	kind string // DBNone, DBSQLite, DBPostgres, DBMySQL
	addr dbaddr.Addr
	tool dbsnap.Tool
}

// parseDB reads the database option: "none" is no database, anything
// else an address (see package internal/dbaddr). sdb, when not nil, is an
// open handle on it that the SQLite snapshot uses.
func parseDB(root layout.Root, dsn string, sdb *sql.DB, step func(string) error) (dbConfig, error) {
	if dsn == DBNone {
		return dbConfig{kind: DBNone}, nil
	}
	a, err := dbaddr.Parse(dsn, root.Dir)
	if err != nil {
		return dbConfig{}, fmt.Errorf("backupstore: %w", err)
	}
	return dbConfig{kind: string(a.Kind), addr: a, tool: dbsnap.For(a, dbsnap.Options{DB: sdb, Step: step})}, nil
}

// source is what backup.json records as the database's source.
func (c dbConfig) source() string {
	if c.kind == DBNone {
		return ""
	}
	return c.addr.Source()
}

// sqliteSuffixes are the files SQLite keeps beside a database, and the
// names Restore gives the old and new file while it swaps them.
var sqliteSuffixes = dbsnap.SQLiteSuffixes

const (
	sqliteNew = dbsnap.SQLiteNew
	sqliteOld = dbsnap.SQLiteOld
)

// excludedPaths are the root paths of the database files, which go into
// the backup as a snapshot, never as files.
func (c dbConfig) excludedPaths() []string {
	if c.kind != DBSQLite || c.addr.Rel == "" {
		return nil
	}
	var ps []string
	for _, s := range sqliteSuffixes {
		ps = append(ps, c.addr.Rel+s, c.addr.Rel+s+sqliteNew, c.addr.Rel+s+sqliteOld)
	}
	return ps
}

// snapshotName is the snapshot's entry in the zip.
func (c dbConfig) snapshotName() string { return DatabaseDir + c.tool.SnapshotName() }

// estimate is about how many bytes a snapshot takes; 0 when unknown.
func (c dbConfig) estimate(ctx context.Context) int64 {
	if c.tool == nil {
		return 0
	}
	return c.tool.Estimate(ctx)
}

// snapshot writes a consistent copy of the database to dst. absent is set
// (and nothing written) when the SQLite file does not exist.
func (c dbConfig) snapshot(ctx context.Context, dst string) (absent bool, err error) {
	if c.tool == nil {
		return true, nil
	}
	absent, err = c.tool.Snapshot(ctx, dst)
	if err != nil {
		return false, fmt.Errorf("backupstore: %w", err)
	}
	return absent, nil
}

// load replaces the database with the snapshot (see [dbsnap.Tool.Load]).
func (c dbConfig) load(ctx context.Context, snap string) error {
	if err := c.tool.Load(ctx, snap); err != nil {
		return fmt.Errorf("backupstore: %w", err)
	}
	return nil
}
