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
// application start. This root's own row (its host id, machine and
// folder) is from a run of its that was killed, and its recovery is done:
// the row goes. Another host's row, a copy of this root's among them, is
// waited for, up to the lock timeout, then the start stops with a
// *packs.MaintenanceError (exit 5) that names that host.
func honourMaintenance(ctx context.Context, opts Options, root layout.Root, db *packs.DB) error {
	if _, err := HostID(root); err != nil {
		return err
	}
	who := whoRuns(root, "")
	if _, err := db.ClearMaintenance(ctx, who); err != nil {
		return err
	}
	return db.WaitMaintenance(ctx, who, opts.LockTimeout)
}

// whoRuns is who runs a migration of this root, for its maintenance row;
// batch is "" for a run outside a batch.
func whoRuns(root layout.Root, batch string) *packs.Maintenance {
	host, _ := HostID(root)
	name, _ := os.Hostname()
	return &packs.Maintenance{Host: host, Hostname: name, Root: root.Dir, Batch: batch}
}
