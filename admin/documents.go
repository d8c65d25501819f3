package admin

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
)

// JSONFormat is the json_format of every document the API serves.
const JSONFormat = 1

// The documents of the JSON API. Keys are snake_case, lists are [] and
// never null, times RFC 3339 UTC, durations integers named *_ms: the
// contract of the CLI's --json.

// ReportDoc is GET /api/report: the check report of Updates_Pending, as
// `upkeep updates list --json` prints it.
type ReportDoc struct {
	JSONFormat int `json:"json_format"`
	*updates.Report
	Watching string `json:"watching"` // "events", or "polling: WHY"
	Error    string `json:"error,omitempty"`
}

// StatusDoc is GET /api/status: every pack's code and database schema,
// drift, and what the root's lock and journal say.
type StatusDoc struct {
	JSONFormat int                     `json:"json_format"`
	Root       string                  `json:"root"`
	Backend    string                  `json:"backend"`
	Database   string                  `json:"database"`
	Installed  []updates.InstalledPack `json:"installed"`
	Packs      []PackStatusDoc         `json:"packs"`
	Unknown    []string                `json:"unknown"`
	Drift      []DriftDoc              `json:"drift"`
	Problems   []string                `json:"problems"`
	State      *updates.State          `json:"state"`
	Error      string                  `json:"error,omitempty"` // the database could not be read
}

// PackStatusDoc is one pack's schema in the code and in the database.
type PackStatusDoc struct {
	Pack     string   `json:"pack"`
	Version  string   `json:"version"`
	Code     int      `json:"code"`
	Database int      `json:"database"`
	State    string   `json:"state"` // up to date, behind, downgrade, changed migration
	Pending  []string `json:"pending"`
}

// DriftDoc is one difference between a table and its recorded schema.
type DriftDoc struct {
	Pack   string `json:"pack"`
	Table  string `json:"table"`
	Kind   string `json:"kind"`
	Name   string `json:"name,omitempty"`
	Was    string `json:"was,omitempty"`
	Is     string `json:"is,omitempty"`
	Record int    `json:"record"`
	Text   string `json:"text"`
}

// BackupsDoc is GET /api/backups.
type BackupsDoc struct {
	JSONFormat int         `json:"json_format"`
	Backups    []BackupDoc `json:"backups"` // newest first
	Error      string      `json:"error,omitempty"`
}

// BackupDoc is one backup in Updates_Backups.
type BackupDoc struct {
	ID        string    `json:"id"`
	Created   time.Time `json:"created"`
	Reason    string    `json:"reason"`
	Size      int64     `json:"size"`
	Files     int       `json:"files"`
	Bytes     int64     `json:"bytes"`
	Database  string    `json:"database"`
	Protected bool      `json:"protected"`
	Problem   string    `json:"problem,omitempty"`
}

// HistoryDoc is GET /api/history: the migrations the database ran and
// the zips installed, newest first.
type HistoryDoc struct {
	JSONFormat int            `json:"json_format"`
	Migrations []MigrationDoc `json:"migrations"`
	Installed  []InstalledZip `json:"installed"`
	Error      string         `json:"error,omitempty"`
}

// MigrationDoc is one row of upkeep_migrations.
type MigrationDoc struct {
	Pack       string    `json:"pack"`
	Version    int       `json:"version"`
	Name       string    `json:"name"`
	Direction  string    `json:"direction"`
	AppliedAt  time.Time `json:"applied_at"`
	DurationMS int64     `json:"duration_ms"`
}

// InstalledZip is one zip in Updates_Installed.
type InstalledZip struct {
	File        string    `json:"file"`
	Size        int64     `json:"size"`
	InstalledAt time.Time `json:"installed_at"`
}

// readStatus builds the status document from the database and the root.
func readStatus(ctx context.Context, opts updates.Options, root layout.Root) *StatusDoc {
	d := &StatusDoc{JSONFormat: JSONFormat, Root: root.Dir, Installed: []updates.InstalledPack{}, Packs: []PackStatusDoc{},
		Unknown: []string{}, Drift: []DriftDoc{}, Problems: []string{}}
	if st, err := updates.ReadState(root.Dir); err == nil {
		d.State = st
	} else {
		d.Problems = append(d.Problems, err.Error())
	}
	if installed, err := packs.List(root.Packs()); err == nil {
		for _, p := range installed {
			d.Installed = append(d.Installed, updates.InstalledPack{Pack: p.Name, Version: p.Manifest.Version, SchemaVersion: p.Manifest.SchemaVersion()})
		}
	} else {
		d.Problems = append(d.Problems, err.Error())
	}
	code, err := updates.CodePacks(opts)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	db, err := packs.Open(ctx, opts.DB, root.Dir)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	defer db.Close()
	d.Backend, d.Database = db.Backend(), db.String()
	st, err := db.Status(ctx, code)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	versions := map[string]string{}
	for _, p := range code {
		versions[p.Name] = p.Version
	}
	for _, p := range st.Packs {
		state := "up to date"
		switch {
		case p.Database > p.Code:
			state = "downgrade"
		case len(p.Changed) > 0:
			state = "changed migration"
		case p.Database < p.Code:
			state = "behind"
		}
		pending := p.Pending
		if pending == nil {
			pending = []string{}
		}
		d.Packs = append(d.Packs, PackStatusDoc{Pack: p.Pack, Version: versions[p.Pack], Code: p.Code, Database: p.Database, State: state, Pending: pending})
	}
	d.Unknown = append(d.Unknown, st.Unknown...)
	if err := st.Err(); err != nil {
		d.Problems = append(d.Problems, strings.Split(err.Error(), "\n")...)
	}
	drift, err := db.Drift(ctx)
	if err != nil {
		d.Problems = append(d.Problems, "drift: "+err.Error())
	}
	for _, it := range drift {
		d.Drift = append(d.Drift, DriftDoc{Pack: it.Pack, Table: it.Table, Kind: string(it.Kind), Name: it.Name, Was: it.Was, Is: it.Is, Record: it.Record, Text: it.String()})
	}
	return d
}

// Behind tells whether a pack's database schema differs from its code.
func (d *StatusDoc) Behind() bool {
	for _, p := range d.Packs {
		if p.State != "up to date" {
			return true
		}
	}
	return false
}

func readBackups(root layout.Root) *BackupsDoc {
	d := &BackupsDoc{JSONFormat: JSONFormat, Backups: []BackupDoc{}}
	list, err := backupstore.List(root)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	for _, b := range list {
		bd := BackupDoc{ID: b.ID, Created: b.Created.UTC(), Reason: b.Reason, Size: b.Size, Files: b.Files, Bytes: b.Bytes, Database: b.Database, Protected: b.Protected}
		if b.Err != nil {
			bd.Problem = b.Err.Error()
		}
		d.Backups = append(d.Backups, bd)
	}
	sort.SliceStable(d.Backups, func(i, j int) bool { return d.Backups[i].ID > d.Backups[j].ID })
	return d
}

// historyLimit is how many migrations the history shows.
const historyLimit = 200

func readHistory(ctx context.Context, opts updates.Options, root layout.Root) *HistoryDoc {
	d := &HistoryDoc{JSONFormat: JSONFormat, Migrations: []MigrationDoc{}, Installed: []InstalledZip{}}
	entries, _ := os.ReadDir(root.Installed())
	for _, e := range entries {
		if !strings.EqualFold(filepath.Ext(e.Name()), ".zip") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		d.Installed = append(d.Installed, InstalledZip{File: e.Name(), Size: info.Size(), InstalledAt: installedAt(e.Name(), info.ModTime())})
	}
	sort.SliceStable(d.Installed, func(i, j int) bool { return d.Installed[i].InstalledAt.After(d.Installed[j].InstalledAt) })
	db, err := packs.Open(ctx, opts.DB, root.Dir)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	defer db.Close()
	hist, err := db.History(ctx, historyLimit)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	for _, h := range hist {
		d.Migrations = append(d.Migrations, MigrationDoc{Pack: h.Pack, Version: h.Version, Name: h.Name, Direction: h.Direction,
			AppliedAt: h.AppliedAt.UTC(), DurationMS: h.Duration.Milliseconds()})
	}
	return d
}

// installedAt reads the UTC time an install added to a zip's name
// (NAME_20261121T080000Z.zip, maybe with -N), else the file's time.
func installedAt(name string, mod time.Time) time.Time {
	base := strings.TrimSuffix(name, filepath.Ext(name))
	if i := strings.LastIndexByte(base, '-'); i > 0 && i > strings.LastIndexByte(base, '_') {
		base = base[:i]
	}
	if i := strings.LastIndexByte(base, '_'); i >= 0 {
		if t, err := time.Parse("20060102T150405Z", base[i+1:]); err == nil {
			return t.UTC()
		}
	}
	return mod.UTC()
}
