package updates

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

// Recovery says what the start did with a batch that an earlier run left
// unfinished (killed, or the power went).
type Recovery struct {
	Batch  string   `json:"batch"`  // the batch, or the backup an interrupted restore was restoring
	Action string   `json:"action"` // "finished": it had committed; "undone": it had not; "restore:STATE": a restore interrupted in STATE was finished or undone
	Packs  []string `json:"packs"`  // pack version, in install order
}

func (r *Recovery) String() string {
	if state, ok := strings.CutPrefix(r.Action, "restore:"); ok {
		if state == "cleanup" {
			return fmt.Sprintf("finished the interrupted restore of backup %s", r.Batch)
		}
		return fmt.Sprintf("undid the interrupted restore of backup %s (it stopped in state %s)", r.Batch, state)
	}
	verb := "undid"
	if r.Action == "finished" {
		verb = "finished"
	}
	return fmt.Sprintf("%s the interrupted install of batch %s (%s)", verb, r.Batch, strings.Join(r.Packs, ", "))
}

// recoverBatch finishes or undoes the batch the journal says was
// interrupted. It returns nil, nil when there was none.
func recoverBatch(ctx context.Context, opts Options, root layout.Root) (*Recovery, error) {
	b := batchPaths{root}
	// A run killed in the middle of an atomic write leaves its temporary
	// file: the file it was replacing is whole, the temporary one is waste.
	tmps, _ := filepath.Glob(filepath.Join(root.State(), ".*.tmp"))
	for _, tmp := range tmps {
		if err := os.Remove(tmp); err != nil {
			return nil, fmt.Errorf("clean up: %w", err)
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
	rec := &Recovery{Batch: j.Batch}
	for _, p := range j.Packs {
		rec.Packs = append(rec.Packs, p.Pack+" "+p.Version)
	}
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
	if committed {
		rec.Action = "finished"
		if err := finish(b, j, nil); err != nil {
			return nil, fmt.Errorf("finish the interrupted batch %s: %w", j.Batch, err)
		}
		forgetFailures(root, j)
		ended("finished", packs.OutcomeCommitted, fmt.Errorf("interrupted after it committed; finished by the next start"))
		return rec, nil
	}
	rec.Action = "undone"
	cause := fmt.Errorf("the batch was interrupted")
	if err := restoreExport(ctx, opts, root, j); err != nil {
		merr := &ManualError{Batch: j.Batch, Backup: j.Backup, Cause: cause, Err: err}
		ended(string(j.Phase), packs.OutcomeManual, merr)
		return nil, merr
	}
	if err := undo(b, j); err != nil {
		merr := &ManualError{Batch: j.Batch, Backup: j.Backup, Cause: cause, Err: err}
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
