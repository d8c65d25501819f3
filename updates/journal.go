package updates

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/upkeep/upkeep/internal/atomicfile"
	ijournal "github.com/upkeep/upkeep/internal/journal"
	"github.com/upkeep/upkeep/layout"
)

// The journal is the durable record of a batch in progress,
// ROOT/.upkeep/journal.json (layout.Root.Journal), rewritten atomically at each phase (with
// package internal/journal, as the restore journal is). While it exists, a
// batch is unfinished; the next start of upkeep, in any mode, finishes or
// undoes it before anything else.
//
// The files of a batch live under ROOT/.upkeep/batch/:
//
//	staging/<pack>.part  a pack being extracted (incomplete: discarded on undo)
//	staging/<pack>       a pack extracted in full, synced, waiting for the swap
//	old/<pack>           the installed folder of the pack, moved aside by the swap
//
// A swap is two renames: packs/<pack> to old/<pack>, then staging/<pack>
// to packs/<pack>. So at any instant, for each pack, the folders tell how far
// its swap went, and undoing it needs no record beyond the journal.
// phase is how far a batch went.
type phase string

const (
	// phaseStaging: packs are being extracted into staging; packs/ and the
	// database are as before. Undo: remove the staging folders.
	phaseStaging phase = "staging"
	// phaseSwapping: pack folders are being swapped, then the batch's
	// migrations run. The database says whether the batch committed:
	// every pack of it recorded at its new version in upkeep_packs. If so,
	// recovery finishes the batch; if not, it swaps back.
	phaseSwapping phase = "swapping"
	// phaseCommitted: every pack is in place and the batch is committed;
	// what is left is moving the zips to Updates_Installed and cleaning up.
	// Recovery finishes it.
	phaseCommitted phase = "committed"
	// phaseHealthRestoring: the batch committed and finished, its health
	// check failed, and its backup is being restored. Recovery restores it
	// (again), then goes on as in phaseHealthReturning.
	phaseHealthRestoring phase = "health-restoring"
	// phaseHealthReturning: the backup is restored; the zips are moving
	// back to Updates_Pending. Recovery moves the rest and records the
	// rollback.
	phaseHealthReturning phase = "health-returning"
)

type journal struct {
	Batch   string        `json:"batch"` // UTC time of the start, 20060102T150405Z
	Phase   phase         `json:"phase"`
	Started time.Time     `json:"started"`
	Backup  string        `json:"backup,omitempty"` // the backup taken before the batch, "" with --no-backup
	Export  string        `json:"export,omitempty"` // MySQL/MariaDB: the backup (kind tables) of the packs' tables, taken before the migrations
	Packs   []journalPack `json:"packs"`            // in install order
	Reason  string        `json:"reason,omitempty"` // why a health rollback runs
}

type journalPack struct {
	Pack      string `json:"pack"`
	Version   string `json:"version"`
	From      string `json:"from,omitempty"` // the version installed before the batch, "" for a new pack
	Zip       string `json:"zip"`            // file name in Updates_Pending
	Installed string `json:"installed"`      // file name it gets in Updates_Installed
	HadOld    bool   `json:"had_old"`        // packs/<pack> existed before the batch
}

// zipOf is the zip of pack in the batch.
func (j *journal) zipOf(pack string) string {
	for _, p := range j.Packs {
		if p.Pack == pack {
			return p.Zip
		}
	}
	return ""
}

// batchPaths names the folders of a batch in a root.
type batchPaths struct {
	root layout.Root
}

func (b batchPaths) dir() string               { return b.root.Batch() }
func (b batchPaths) staging() string           { return filepath.Join(b.dir(), "staging") }
func (b batchPaths) staged(pack string) string { return filepath.Join(b.staging(), pack) }
func (b batchPaths) part(pack string) string   { return filepath.Join(b.staging(), pack+".part") }
func (b batchPaths) oldDir() string            { return filepath.Join(b.dir(), "old") }
func (b batchPaths) old(pack string) string    { return filepath.Join(b.oldDir(), pack) }

// journal is the install journal of the root.
func (b batchPaths) journal() ijournal.File[journal, phase] {
	return ijournal.File[journal, phase]{
		Path:    b.root.Journal(),
		Phases:  []phase{phaseStaging, phaseSwapping, phaseCommitted, phaseHealthRestoring, phaseHealthReturning},
		PhaseOf: func(j *journal) phase { return j.Phase },
	}
}

// save writes the journal durably.
func (b batchPaths) save(j *journal) error { return b.journal().Save(j) }

// load reads the journal; nil, nil when there is none.
func (b batchPaths) load() (*journal, error) { return b.journal().Load() }

// clear removes what is left of a batch: its folders, then the journal.
func (b batchPaths) clear() error {
	if err := os.RemoveAll(b.dir()); err != nil {
		return fmt.Errorf("clean up %s: %w", b.dir(), err)
	}
	if err := atomicfile.SyncDir(b.root.State()); err != nil {
		return err
	}
	return b.journal().Remove()
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
