package updates

import "context"

// The step names of a batch, declared once: the forward path runs them in
// this order, a fault is injected at the end of each, and an
// [InstallError] names the one that failed. Steps of one pack or zip are
// the prefix and the name ("stage:blog", "move:blog-1.4.0.zip").
const (
	stepPreflight = "preflight"  // the staged batch fits on the disk
	stepBackup    = "backup"     // the backup taken before the batch
	stepJournal   = "journal"    // the journal is written: from here, recovery knows the batch
	stepStage     = "stage:"     // + pack: the zip extracted into staging
	stepStaged    = "staged"     // the staged packs are durable
	stepSwapping  = "swapping"   // the journal says swapping
	stepSwapOut   = "swap-out:"  // + pack: packs/<pack> moved aside
	stepSwapIn    = "swap-in:"   // + pack: the staged folder moved into packs/
	stepSwapped   = "swapped"    // the swaps are durable
	stepMigration = "migration:" // + pack:version: one migration ran (a fault point inside migrate, not a step)
	stepMigrate   = "migrate"    // the migrations ran and the batch committed in the database
	stepMigrated  = "migrated"   // (a boundary only)
	stepCommit    = "commit"     // the journal says committed
	stepProtect   = "protect"    // the batch's backup is the one pruning keeps
	stepMove      = "move:"      // + zip: the zip (and its signature) moved to Updates_Installed
	stepCopy      = "copy:"      // + zip: halfway through copying it there, where no hard link can be made (a fault point only)
	stepMoved     = "moved"      // the moves are durable
	stepClean     = "clean"      // the batch's folders and journal removed
)

// The steps of the rollback of a committed batch whose health check
// failed (healthRollbackSteps), in order.
const (
	stepHealthJournal  = "health-journal"  // the journal says rolling back: from here, a start finishes it
	stepHealthRestore  = "health-restore"  // the batch's backup restored: files and database as before it
	stepHealthReturn   = "health-return:"  // + zip: moved back from Updates_Installed to Updates_Pending
	stepHealthReturned = "health-returned" // the moves are durable
	stepHealthRecord   = "health-record"   // the history and the zips' failure records say rolled back
	stepHealthClean    = "health-clean"    // the journal removed
)

// step is one step of a batch: run, then the fault point of its name.
// Zip is the zip the step works on, "" for a step of the whole batch.
type step struct {
	name string
	zip  string
	run  func(ctx context.Context) error // nil: a boundary only
}

// runSteps runs steps in order, each followed by its fault point, and
// returns the first failure with the step it failed at. It stops before a
// step once ctx has ended.
func runSteps(ctx context.Context, steps []step, f faults) (*step, error) {
	for i := range steps {
		s := &steps[i]
		if err := ctx.Err(); err != nil {
			return s, err
		}
		if s.run != nil {
			if err := s.run(ctx); err != nil {
				return s, err
			}
		}
		if err := f.at(s.name); err != nil {
			return s, err
		}
	}
	return nil, nil
}
