package updates

import (
	"context"
	"os"

	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

// honourMaintenance is where a start honours the maintenance row that a
// run migrating a database without transactional DDL keeps (see
// packs.Maintenance): before it installs, and before it lets the
// application start. This host's own row is from a run of its that was
// killed, and its recovery is done: the row goes. Another host's row is
// waited for, up to the lock timeout, then the start stops with a
// *packs.MaintenanceError (exit 5) that names that host.
func honourMaintenance(ctx context.Context, opts Options, root layout.Root, db *packs.DB) error {
	host, err := HostID(root)
	if err != nil {
		return err
	}
	if _, err := db.ClearMaintenance(ctx, host); err != nil {
		return err
	}
	return db.WaitMaintenance(ctx, host, opts.LockTimeout)
}

// whoRuns is who runs a migration of this root, for its maintenance row;
// batch is "" for a run outside a batch.
func whoRuns(root layout.Root, batch string) *packs.Maintenance {
	host, _ := HostID(root)
	name, _ := os.Hostname()
	return &packs.Maintenance{Host: host, Hostname: name, Root: root.Dir, Batch: batch}
}
