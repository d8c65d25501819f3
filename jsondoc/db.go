package jsondoc

import (
	"time"

	"github.com/upkeep/upkeep/packs"
)

// The documents of the db commands. The packs package's types carry no
// JSON names; these do.

// DBStatus is `upkeep db status --json` and GET /api/status: each pack's
// schema in its code and in the database, and drift.
type DBStatus struct {
	Backend  string      `json:"backend"`
	Database string      `json:"database"` // the address, without its password
	Packs    []PackState `json:"packs"`
	Unknown  []string    `json:"unknown"` // packs the database records that are not installed
	Drift    []Drift     `json:"drift"`
	HostID   string      `json:"host_id"` // this root's, "" before its first start
	Hosts    []Host      `json:"hosts"`   // every host that used the database, newest first (SetHosts)
}

// PackState is one pack in [DBStatus].
type PackState struct {
	Pack        string       `json:"pack"`
	Version     string       `json:"version,omitempty"` // the version the database records
	Files       string       `json:"files_version"`     // the version of this host's files
	Code        int          `json:"code"`              // schema version the code expects
	Database    int          `json:"database"`          // schema version in the database
	State       string       `json:"state"`             // up to date, behind, downgrade or changed migration
	Pending     []string     `json:"pending"`           // up files still to run
	Changed     []Changed    `json:"changed"`
	Interrupted *Interrupted `json:"interrupted,omitempty"`
}

// Changed is an applied migration whose file changed since.
type Changed struct {
	Pack           string `json:"pack"`
	Version        int    `json:"version"`
	File           string `json:"file"`
	RecordedSHA256 string `json:"recorded_sha256"`
	CurrentSHA256  string `json:"current_sha256"`
}

// Interrupted is a NO TRANSACTION migration that stopped part way.
type Interrupted struct {
	Version        int    `json:"version"`
	File           string `json:"file"`
	StatementsDone int    `json:"statements_done"`
}

// Drift is one difference between a table and its recorded schema.
type Drift struct {
	Pack             string `json:"pack"`
	Table            string `json:"table"`
	Kind             string `json:"kind"`
	Name             string `json:"name,omitempty"` // the column or index
	Was              string `json:"was,omitempty"`
	Is               string `json:"is,omitempty"`
	RecordedAtSchema int    `json:"recorded_at_schema"`
}

// Migration is one row of `upkeep db history --json`.
type Migration struct {
	ID         int64     `json:"id"`
	Pack       string    `json:"pack"`
	Version    int       `json:"version"`
	Name       string    `json:"name"`
	SHA256     string    `json:"sha256"`
	Direction  string    `json:"direction"`
	AppliedAt  time.Time `json:"applied_at"`
	DurationMS int64     `json:"duration_ms"`
}

// DBHistory is `upkeep db history --json`: the migrations, newest first.
type DBHistory struct {
	Migrations []Migration `json:"migrations"`
}

// Applied is one migration a run of db up or db down applied.
type Applied struct {
	Pack       string `json:"pack"`
	Version    int    `json:"version"`
	Name       string `json:"name"`
	Direction  string `json:"direction"`
	DurationMS int64  `json:"duration_ms"`
}

// Run is `upkeep db up --json` and `db down --json`.
type Run struct {
	Applied []Applied `json:"applied"`          // in the order they ran
	Export  string    `json:"export,omitempty"` // the export of the packs' tables taken first
}

// Verify is `upkeep db verify --json`.
type Verify struct {
	OK      bool      `json:"ok"`
	Changed []Changed `json:"changed"`
	Drift   []Drift   `json:"drift"`
}

// PackStateOf is a pack's state in words: up to date, behind, downgrade or
// changed migration.
func PackStateOf(p packs.PackStatus) string {
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

// NewDBStatus is the status document of db's status st and drift.
func NewDBStatus(db *packs.DB, st *packs.Status, drift []packs.DriftItem) *DBStatus {
	d := &DBStatus{Backend: db.Backend(), Database: db.String(), Packs: []PackState{}, Unknown: st.Unknown, Drift: NewDrift(drift), Hosts: []Host{}}
	for _, p := range st.Packs {
		ps := PackState{Pack: p.Pack, Version: p.Version, Files: p.FilesVersion, Code: p.Code, Database: p.Database,
			State: PackStateOf(p), Pending: p.Pending, Changed: NewChanged(p.Changed)}
		if p.Interrupted != nil {
			ps.Interrupted = &Interrupted{p.Interrupted.Version, p.Interrupted.File, p.Interrupted.StatementsDone}
		}
		d.Packs = append(d.Packs, ps)
	}
	return d
}

// Behind tells whether any pack's database schema differs from its code,
// or has a changed migration.
func (d *DBStatus) Behind() bool {
	for _, p := range d.Packs {
		if p.State != "up to date" {
			return true
		}
	}
	return false
}

// NewChanged is the changed migrations as documents.
func NewChanged(changed []*packs.ChecksumError) []Changed {
	out := []Changed{}
	for _, c := range changed {
		out = append(out, Changed{c.Pack, c.Version, c.File, c.Recorded, c.Current})
	}
	return out
}

// NewDrift is the drift as documents.
func NewDrift(drift []packs.DriftItem) []Drift {
	out := []Drift{}
	for _, d := range drift {
		out = append(out, Drift{d.Pack, d.Table, string(d.Kind), d.Name, d.Was, d.Is, d.Record})
	}
	return out
}

// NewDBHistory is the migrations of upkeep_migrations as a document.
func NewDBHistory(hist []packs.HistoryEntry) *DBHistory {
	out := &DBHistory{Migrations: []Migration{}}
	for _, h := range hist {
		out.Migrations = append(out.Migrations, Migration{h.ID, h.Pack, h.Version, h.Name, h.SHA256, h.Direction, h.AppliedAt, h.Duration.Milliseconds()})
	}
	return out
}

// NewRun is what a migration run applied.
func NewRun(res *packs.Result) *Run {
	d := &Run{Applied: []Applied{}, Export: res.Export}
	for _, a := range res.Applied {
		d.Applied = append(d.Applied, Applied{a.Pack, a.Version, a.Name, a.Direction, a.Duration.Milliseconds()})
	}
	return d
}

// String is the drift in words: "pack blog, posts.slug: column added, is
// TEXT".
func (d Drift) String() string {
	return packs.DriftItem{Pack: d.Pack, Table: d.Table, Kind: packs.DriftKind(d.Kind), Name: d.Name, Was: d.Was, Is: d.Is, Record: d.RecordedAtSchema}.Line()
}

// Accepted is what db accept recorded: the new file of an applied
// migration (Version) or the live schema of a drifted table (Table).
type Accepted struct {
	Pack    string `json:"pack"`
	Version *int   `json:"version,omitempty"` // --version: the migration whose new file is now the record
	Table   string `json:"table,omitempty"`   // --table: the table whose live schema is now the record
}

// Baselined is what db baseline recorded: the pack at a schema version,
// with no migration run.
type Baselined struct {
	Pack          string `json:"pack"`
	SchemaVersion int    `json:"schema_version"`
}
