package updates

import (
	"context"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

// RestoreTables puts back the packs' tables, settings and schema versions
// that backup id, a table export (kind tables, taken by db up, db down or
// an install on MySQL/MariaDB), holds, into the database at dbAddr, after
// verifying it. The root's files are left alone. The caller holds the
// root's lock.
func RestoreTables(ctx context.Context, root layout.Root, dbAddr, id string) error {
	fsys, closer, err := backupstore.OpenTables(root, id)
	if err != nil {
		return err
	}
	defer closer.Close()
	db, err := packs.Open(ctx, dbAddr, root.Dir)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.RestoreTables(ctx, fsys, id)
}
