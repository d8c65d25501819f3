package cli

import (
	"time"

	"github.com/upkeep/upkeep/packs"
)

// The JSON documents of the db commands (docs/json.md). They are the
// CLI's: the packs package's types carry no JSON names.

type dbStatusDoc struct {
	Backend  string         `json:"backend"`
	Database string         `json:"database"` // the address, without its password
	Packs    []packStateDoc `json:"packs"`
	Unknown  []string       `json:"unknown"` // packs the database records that are not installed
	Drift    []driftDoc     `json:"drift"`
	HostID   string         `json:"host_id"` // this root's, "" before its first start
	Hosts    []hostDoc      `json:"hosts"`   // every host that used the database, newest first
}

type packStateDoc struct {
	Pack        string          `json:"pack"`
	Version     string          `json:"version,omitempty"` // the version the database records
	Files       string          `json:"files_version"`     // the version of this host's files
	Code        int             `json:"code"`              // schema version the code expects
	Database    int             `json:"database"`          // schema version in the database
	State       string          `json:"state"`             // up to date, behind, downgrade or changed migration
	Pending     []string        `json:"pending"`           // up files still to run
	Changed     []changedDoc    `json:"changed"`
	Interrupted *interruptedDoc `json:"interrupted,omitempty"`
}

type changedDoc struct {
	Pack           string `json:"pack"`
	Version        int    `json:"version"`
	File           string `json:"file"`
	RecordedSHA256 string `json:"recorded_sha256"`
	CurrentSHA256  string `json:"current_sha256"`
}

type interruptedDoc struct {
	Version        int    `json:"version"`
	File           string `json:"file"`
	StatementsDone int    `json:"statements_done"`
}

type driftDoc struct {
	Pack             string `json:"pack"`
	Table            string `json:"table"`
	Kind             string `json:"kind"`
	Name             string `json:"name,omitempty"` // the column or index
	Was              string `json:"was,omitempty"`
	Is               string `json:"is,omitempty"`
	RecordedAtSchema int    `json:"recorded_at_schema"`
}

type historyDoc struct {
	ID         int64     `json:"id"`
	Pack       string    `json:"pack"`
	Version    int       `json:"version"`
	Name       string    `json:"name"`
	SHA256     string    `json:"sha256"`
	Direction  string    `json:"direction"`
	AppliedAt  time.Time `json:"applied_at"`
	DurationMS int64     `json:"duration_ms"`
}

type appliedDoc struct {
	Pack       string `json:"pack"`
	Version    int    `json:"version"`
	Name       string `json:"name"`
	Direction  string `json:"direction"`
	DurationMS int64  `json:"duration_ms"`
}

type runDoc struct {
	Applied []appliedDoc `json:"applied"`          // in the order they ran
	Export  string       `json:"export,omitempty"` // the export of the packs' tables taken first
}

type verifyDoc struct {
	OK      bool         `json:"ok"`
	Changed []changedDoc `json:"changed"`
	Drift   []driftDoc   `json:"drift"`
}

func packState(p packs.PackStatus) string {
	switch {
	case p.Database > p.Code:
		return "downgrade"
	case len(p.Changed) > 0:
		return "changed migration"
	case p.Database < p.Code:
		return "behind"
	}
	return "up to date"
}

func newStatusDoc(db *packs.DB, st *packs.Status, drift []packs.DriftItem, code []packs.Pack, hosts hostsView) dbStatusDoc {
	d := dbStatusDoc{Backend: db.Backend(), Database: db.String(), Unknown: st.Unknown, Drift: newDriftDocs(drift),
		HostID: hosts.self, Hosts: hosts.docs()}
	for i, p := range st.Packs {
		ps := packStateDoc{Pack: p.Pack, Version: p.Version, Files: code[i].Version, Code: p.Code, Database: p.Database,
			State: packState(p), Pending: p.Pending, Changed: newChangedDocs(p.Changed)}
		if p.Interrupted != nil {
			ps.Interrupted = &interruptedDoc{p.Interrupted.Version, p.Interrupted.File, p.Interrupted.StatementsDone}
		}
		d.Packs = append(d.Packs, ps)
	}
	return d
}

func newChangedDocs(changed []*packs.ChecksumError) []changedDoc {
	out := []changedDoc{}
	for _, c := range changed {
		out = append(out, changedDoc{c.Pack, c.Version, c.File, c.Recorded, c.Current})
	}
	return out
}

func newDriftDocs(drift []packs.DriftItem) []driftDoc {
	out := []driftDoc{}
	for _, d := range drift {
		out = append(out, driftDoc{d.Pack, d.Table, string(d.Kind), d.Name, d.Was, d.Is, d.Record})
	}
	return out
}

func newHistoryDocs(hist []packs.HistoryEntry) []historyDoc {
	out := []historyDoc{}
	for _, h := range hist {
		out = append(out, historyDoc{h.ID, h.Pack, h.Version, h.Name, h.SHA256, h.Direction, h.AppliedAt, h.Duration.Milliseconds()})
	}
	return out
}

func newRunDoc(res *packs.Result) runDoc {
	d := runDoc{Applied: []appliedDoc{}, Export: res.Export}
	for _, a := range res.Applied {
		d.Applied = append(d.Applied, appliedDoc{a.Pack, a.Version, a.Name, a.Direction, a.Duration.Milliseconds()})
	}
	return d
}
