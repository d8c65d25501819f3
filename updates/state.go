package updates

import (
	"time"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/internal/lock"
	"github.com/upkeep/upkeep/layout"
)

// State is what a root's .upkeep says right now: who holds the root's
// lock, and the batch a journal records as unfinished. It is read without
// taking the lock, so that it can be shown while an install runs.
type State struct {
	Lock  LockState   `json:"lock"`
	Batch *BatchState `json:"batch"` // nil when no batch is under way or interrupted
	// Restore is a restore of a backup under way or interrupted; nil when
	// there is none.
	Restore *RestoreState `json:"restore"`
}

// RestoreState is a restore the restore journal records.
type RestoreState struct {
	Backup  string    `json:"backup"`
	State   string    `json:"state"`
	Started time.Time `json:"started"`
	Running bool      `json:"running"`
	// NextStart says what the next start does with an interrupted restore:
	// "finish" (its files and database are in place) or "undo".
	NextStart string `json:"next_start,omitempty"`
}

// LockState is the root's lock.
type LockState struct {
	Held   bool   `json:"held"`
	Holder string `json:"holder,omitempty"` // "pid 123 on host, install since 2026-11-21T08:00:00Z"
}

// BatchState is a batch the journal records: one running now (the lock is
// held) or one an earlier run left unfinished (killed, or the power went).
type BatchState struct {
	ID      string    `json:"id"`
	Phase   string    `json:"phase"` // staging, swapping or committed
	Started time.Time `json:"started"`
	Backup  string    `json:"backup,omitempty"`
	Packs   []string  `json:"packs"` // "pack version", in install order
	// Running is set while the lock is held: the batch is going on now.
	Running bool `json:"running"`
	// NextStart says what the next start does with the batch when it was
	// interrupted: "finish" (it committed), "undo" (it did not), or
	// "finish or undo" (swapping: the database tells).
	NextStart string `json:"next_start,omitempty"`
}

// ReadState reads the root's lock and journal. It changes nothing.
func ReadState(rootDir string) (*State, error) {
	root, err := layout.Open(rootDir)
	if err != nil {
		return nil, err
	}
	st := &State{}
	st.Lock.Held, st.Lock.Holder, err = lock.Probe(root.Lock())
	if err != nil {
		return nil, err
	}
	if rj, err := backupstore.ReadJournal(root); err != nil {
		return nil, err
	} else if rj != nil {
		rs := &RestoreState{Backup: rj.Backup, State: string(rj.State), Started: rj.Started, Running: st.Lock.Held}
		if !rs.Running {
			rs.NextStart = "undo"
			if rj.State == backupstore.StateCleanup {
				rs.NextStart = "finish"
			}
		}
		st.Restore = rs
	}
	j, err := batchPaths{root}.load()
	if err != nil || j == nil {
		return st, err
	}
	b := &BatchState{ID: j.Batch, Phase: string(j.Phase), Started: j.Started, Backup: j.Backup, Packs: []string{}, Running: st.Lock.Held}
	for _, p := range j.Packs {
		b.Packs = append(b.Packs, p.Pack+" "+p.Version)
	}
	if !b.Running {
		switch j.Phase {
		case phaseStaging:
			b.NextStart = "undo"
		case phaseCommitted:
			b.NextStart = "finish"
		default:
			b.NextStart = "finish or undo"
		}
	}
	st.Batch = b
	return st, nil
}
