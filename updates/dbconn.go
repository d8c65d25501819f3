package updates

import (
	"context"
	"fmt"

	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

// dbConn is the start's database: opened once, on first use (after the
// recovery of an interrupted restore, which may swap a SQLite file), used
// by the backup, the batch's migrations, recovery and the final check, and
// closed when [Bootstrap] returns. A *sql.DB the application handed over
// (Options.SQL) is used as it is and never closed.
type dbConn struct {
	db *packs.DB
}

// openDB returns the start's database and a release function. Outside
// Bootstrap (no dbConn) it opens one for the caller, which release closes.
func openDB(ctx context.Context, opts Options, root layout.Root) (*packs.DB, func(), error) {
	if c := opts.conn; c != nil {
		if c.db == nil {
			db, err := newDB(ctx, opts, root)
			if err != nil {
				return nil, nil, err
			}
			c.db = db
		}
		return c.db, func() {}, nil
	}
	db, err := newDB(ctx, opts, root)
	if err != nil {
		return nil, nil, err
	}
	return db, func() { db.Close() }, nil
}

func newDB(ctx context.Context, opts Options, root layout.Root) (*packs.DB, error) {
	if opts.SQL != nil {
		return packs.New(ctx, opts.Dialect, opts.SQL, root.Dir)
	}
	return packs.Open(ctx, opts.DB, root.Dir)
}

// close closes the database the start opened.
func (c *dbConn) close() {
	if c.db != nil {
		c.db.Close()
		c.db = nil
	}
}

// dbAddress is the address backups use: Options.DB, or for a SQLite
// database handed over, its file.
func dbAddress(opts Options, db *packs.DB) (string, error) {
	if opts.DB != "" || opts.SQL == nil {
		return opts.DB, nil
	}
	if a := db.Address(); a != "" {
		return a, nil
	}
	return "", fmt.Errorf("updates: the %s database handed over in Options.SQL needs its address in Options.DB for backups (pg_dump and mariadb-dump connect by themselves), or NoBackup", db.Backend())
}
