package jsondoc

import (
	"context"
	"time"

	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
)

// History is `upkeep history --json` and GET /api/history: the install
// batches upkeep_batches records, newest first.
type History struct {
	Host    string  `json:"host"` // this root's host id; "" before its first install
	Batches []Batch `json:"batches"`
}

// Batch is one install batch.
type Batch struct {
	ID         string            `json:"id"`
	Host       string            `json:"host"`
	Hostname   string            `json:"hostname"`
	ThisHost   bool              `json:"this_host"`
	Started    time.Time         `json:"started"`
	Committed  *time.Time        `json:"committed"`
	DurationMS int64             `json:"duration_ms"`
	Outcome    string            `json:"outcome"`
	Reason     string            `json:"reason"`
	Phase      string            `json:"phase"`
	Backup     string            `json:"backup"`
	Packs      []packs.BatchPack `json:"packs"`
	Zips       []string          `json:"zips"`
	Migrations []string          `json:"migrations"`
}

// HistoryLimit is how many batches `upkeep history` and the history page
// show by default.
const HistoryLimit = 50

// ReadHistory reads the newest limit batches (0: all) of the database;
// with thisHost, only those of root's host. It changes nothing.
func ReadHistory(ctx context.Context, db *packs.DB, root layout.Root, thisHost bool, limit int) (*History, error) {
	host, err := updates.HostID(root)
	if err != nil {
		return nil, err
	}
	only := ""
	if thisHost {
		if host == "" {
			only = "-" // no batch yet: none matches
		} else {
			only = host
		}
	}
	bs, err := db.Batches(ctx, only, limit)
	if err != nil {
		return nil, err
	}
	return NewHistory(host, bs), nil
}

// NewHistory is the batches bs as a document, seen from host.
func NewHistory(host string, bs []packs.BatchRecord) *History {
	d := &History{Host: host, Batches: []Batch{}}
	for _, b := range bs {
		hb := Batch{ID: b.ID, Host: b.Host, Hostname: b.Hostname, ThisHost: b.Host == host, Started: b.Started.UTC(),
			DurationMS: b.Duration.Milliseconds(), Outcome: b.Outcome, Reason: b.Reason, Phase: b.Phase, Backup: b.Backup,
			Packs: b.Packs, Zips: b.Zips, Migrations: b.Migrations}
		if !b.Committed.IsZero() {
			t := b.Committed.UTC()
			hb.Committed = &t
		}
		d.Batches = append(d.Batches, hb)
	}
	return d
}

// OutcomeText is how the batch ended, in words for people.
func (b Batch) OutcomeText() string {
	switch b.Outcome {
	case packs.OutcomeCommitted:
		return "committed"
	case packs.OutcomeRolledBack:
		return "ROLLED BACK"
	case packs.OutcomeUndone:
		return "INTERRUPTED, undone"
	case packs.OutcomeManual:
		return "FAILED, could not roll back"
	case packs.OutcomeRunning:
		return "running (or interrupted; the next start finishes or undoes it)"
	}
	return b.Outcome
}

// Took is how long the batch ran, "-" while it runs.
func (b Batch) Took() string {
	if b.DurationMS <= 0 {
		return "-"
	}
	return (time.Duration(b.DurationMS) * time.Millisecond).String()
}
