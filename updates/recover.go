package updates

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

// RecoveryAction is what the start did with work an earlier run left
// unfinished.
type RecoveryAction string

const (
	// Finished: the interrupted batch had committed; the start finished it.
	Finished RecoveryAction = "finished"
	// Undone: the interrupted batch had not committed; the start put the
	// root and the database back as before it.
	Undone RecoveryAction = "undone"
	// RestoreFinished: an interrupted restore of a backup had put
	// everything in place; the start removed what was left of it.
	RestoreFinished RecoveryAction = "restore-finished"
	// RestoreUndone: an interrupted restore of a backup was undone: the
	// root and the database are as before that restore.
	RestoreUndone RecoveryAction = "restore-undone"
	// HealthRolledBack: the rollback of a batch whose health check failed
	// was interrupted; the start finished it: the root and the database
	// are as before the batch, its zips in Updates_Pending.
	HealthRolledBack RecoveryAction = "health-rolled-back"
)

// Recovery says what the start did with a batch, or a restore, that an
// earlier run left unfinished (killed, or the power went).
type Recovery struct {
	Batch  string         `json:"batch"` // the batch, or the backup an interrupted restore was restoring
	Action RecoveryAction `json:"action"`
	Packs  []string       `json:"packs"` // pack version, in install order
	// RestoreState is the state an interrupted restore stopped in.
	RestoreState backupstore.State `json:"restore_state,omitempty"`
	// FilesOnly, with Finished: the batch had not committed, but the
	// database several hosts share records its versions (another host's
	// batch committed them), so its files were installed, not undone.
	FilesOnly bool `json:"files_only,omitempty"`
}

func (r *Recovery) String() string {
	switch r.Action {
	case RestoreFinished:
		return fmt.Sprintf("finished the interrupted restore of backup %s", r.Batch)
	case RestoreUndone:
		return fmt.Sprintf("undid the interrupted restore of backup %s (it stopped in state %s)", r.Batch, r.RestoreState)
	case HealthRolledBack:
		return fmt.Sprintf("finished rolling back batch %s after its failed health check (%s)", r.Batch, strings.Join(r.Packs, ", "))
	case Finished:
		if r.FilesOnly {
			return fmt.Sprintf("finished the interrupted install of batch %s (%s): it had not committed, but another host had put the database at these versions, so its files were installed", r.Batch, strings.Join(r.Packs, ", "))
		}
		return fmt.Sprintf("finished the interrupted install of batch %s (%s)", r.Batch, strings.Join(r.Packs, ", "))
	}
	return fmt.Sprintf("undid the interrupted install of batch %s (%s)", r.Batch, strings.Join(r.Packs, ", "))
}

// restoreRecovery is the Recovery of an interrupted restore that
// backupstore.Recover acted on.
func restoreRecovery(j *backupstore.Journal) *Recovery {
	rec := &Recovery{Batch: j.Backup, Action: RestoreUndone, RestoreState: j.State, Packs: []string{}}
	if j.State == backupstore.StateCleanup {
		rec.Action = RestoreFinished
	}
	return rec
}

// recoverBatch finishes or undoes the batch the journal says was
// interrupted. It returns nil, nil when there was none.
func recoverBatch(ctx context.Context, opts Options, root layout.Root) (*Recovery, error) {
	b := batchPaths{root}
	// A run killed in the middle of an atomic write leaves its temporary
	// file: the file it was replacing is whole, the temporary one is waste.
	// So does one killed while it probed that the zips can be linked into
	// Updates_Installed (.NAME.link.tmp), or copied one there.
	for _, dir := range []string{root.State(), root.Installed()} {
		if err := atomicfile.CleanTemps(dir); err != nil {
			return nil, err
		}
	}
	j, err := b.load()
	if err != nil {
		return nil, err
	}
	if j == nil {
		// A batch dies before its journal is written: only staging to drop.
		if exists(b.dir()) {
			return nil, os.RemoveAll(b.dir())
		}
		return nil, nil
	}
	if j.Phase == phaseHealthRestoring || j.Phase == phaseHealthReturning {
		return recoverHealthRollback(ctx, opts, root, j)
	}
	rec := &Recovery{Batch: j.Batch}
	for _, p := range j.Packs {
		rec.Packs = append(rec.Packs, p.Pack+" "+p.Version)
	}
	// Committed: the journal says so, or, while swapping, the batch's own
	// row in upkeep_batches, never a version another host may have written.
	committed := j.Phase == phaseCommitted
	if j.Phase == phaseSwapping {
		if committed, err = batchCommitted(ctx, opts, root, j); err != nil {
			return nil, err
		}
	}
	// The history row says how the batch ended (best effort, as in
	// install).
	ended := func(phase, outcome string, cause error) {
		host, err := EnsureHostID(root)
		if err != nil {
			return
		}
		from := map[string]string{}
		for _, p := range j.Packs {
			from[p.Pack] = p.From
		}
		endBatch(ctx, opts, root, batchRecord(j, host, from), phase, outcome, cause.Error(), time.Time{})
		noteBackup(root, j.Backup, outcome, j.Batch)
	}
	forward := func(cause, why error) (*Recovery, error) {
		rec.Action = Finished
		if err := settleFolders(opts, b, j); err != nil {
			return nil, &ManualError{Batch: j.Batch, Backup: j.Backup, Cause: cause, Err: err}
		}
		if err := finish(ctx, b, j); err != nil {
			return nil, fmt.Errorf("finish the interrupted batch %s: %w", j.Batch, err)
		}
		forgetFailures(root, j)
		ended("finished", packs.OutcomeCommitted, why)
		return rec, nil
	}
	if committed {
		return forward(fmt.Errorf("the batch was interrupted after it committed"), fmt.Errorf("interrupted after it committed; finished by the next start"))
	}
	if j.Phase == phaseSwapping {
		// Not committed. Where DDL is not transactional, the run may have
		// changed tables: put them back from the export, unless another
		// host migrated the database since (restoreExport says).
		if _, err := restoreExport(ctx, opts, root, j); err != nil {
			merr := &ManualError{Batch: j.Batch, Backup: j.Backup, Cause: fmt.Errorf("the batch was interrupted"), Err: errors.Join(err, undo(b, j))}
			ended(string(j.Phase), packs.OutcomeManual, merr)
			return nil, merr
		}
		// The database at the batch's versions all the same: another
		// host's batch committed them. Back, the files would be older
		// than the database; forward they go.
		elsewhere, err := committedElsewhere(ctx, opts, root, j)
		if err != nil {
			return nil, err
		}
		if elsewhere {
			rec.FilesOnly = true
			return forward(fmt.Errorf("the batch was interrupted, and another host had put the database at its versions"),
				fmt.Errorf("interrupted before it committed; another host had put the database at its versions, so the next start installed its files"))
		}
	}
	rec.Action = Undone
	if err := rollback(ctx, opts, b, j); err != nil {
		merr := &ManualError{Batch: j.Batch, Backup: j.Backup, Cause: fmt.Errorf("the batch was interrupted"), Err: err}
		ended(string(j.Phase), packs.OutcomeManual, merr)
		return nil, merr
	}
	ended(string(j.Phase), packs.OutcomeUndone, fmt.Errorf("interrupted (the process was killed or the machine stopped) while %s; undone by the next start", j.Phase))
	return rec, nil
}

// DiscardBatch drops what an interrupted batch left in the root's .upkeep
// (its journal, staging and the folders it moved aside). Call it only once
// the root has been restored from a backup, which supersedes the batch:
// that is what to do when recovery fails with a [*ManualError].
func DiscardBatch(root string) error {
	r, err := layout.Open(root)
	if err != nil {
		return err
	}
	return batchPaths{r}.clear()
}
