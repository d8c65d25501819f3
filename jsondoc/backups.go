package jsondoc

import (
	"time"

	"github.com/upkeep/upkeep/backupstore"
)

// Backup is one backup in Updates_Backups: an element of `upkeep backups
// list --json` (GET /api/backups), and the backup of `backups create
// --json` and `backups export --json`.
type Backup struct {
	ID        string    `json:"id"`
	Path      string    `json:"path"`
	Size      int64     `json:"size"`
	Created   time.Time `json:"created"`
	Reason    string    `json:"reason"`
	Kind      string    `json:"kind"`      // backup, db export (a backup of kind tables) or unreadable
	Protected bool      `json:"protected"` // the backup of the last install: prune keeps it
	Files     int       `json:"files"`
	Bytes     int64     `json:"bytes"`
	Database  string    `json:"database"`
	Base      string    `json:"base"`              // the backup it builds on ("" for a full backup)
	Depth     int       `json:"depth"`             // backups since the last full one (0 for a full backup)
	Problem   string    `json:"problem,omitempty"` // why it cannot be read
}

// Kinds of [Backup].
const (
	KindBackup     = "backup"
	KindDBExport   = "db export"
	KindUnreadable = "unreadable"
)

// Backups is `upkeep backups list --json` and GET /api/backups.
type Backups struct {
	Backups []Backup `json:"backups"` // newest first
}

// BackupCreated is `upkeep backups create --json` and `backups export
// --json`.
type BackupCreated struct {
	Backup Backup `json:"backup"`
}

// NewBackup is b as a document.
func NewBackup(b backupstore.Backup) Backup {
	d := Backup{ID: b.ID, Path: b.Path, Size: b.Size, Created: b.Created, Reason: b.Reason, Kind: KindBackup,
		Protected: b.Protected, Files: b.Files, Bytes: b.Bytes, Database: b.Database, Base: b.Base, Depth: b.Depth}
	switch {
	case b.Kind == backupstore.KindTables:
		d.Kind = KindDBExport
	case b.Err != nil:
		d.Kind, d.Problem = KindUnreadable, b.Err.Error()
	}
	return d
}

// NewBackups is the list of backups, as [backupstore.List] returns it
// (newest first), as a document.
func NewBackups(list []backupstore.Backup) *Backups {
	d := &Backups{Backups: []Backup{}}
	for _, b := range list {
		d.Backups = append(d.Backups, NewBackup(b))
	}
	return d
}

// Restored is what a restore put back: the document of backups restore
// and the result of the admin pages' restore action.
type Restored struct {
	Restored string `json:"restored"` // the backup's id
	Kind     string `json:"kind"`     // KindBackup or KindDBExport, as backups list says
	// Tables are the packs whose tables a db export put back.
	Tables []string `json:"tables"`
	// FilesOnly: the root's files alone were restored (--files-only), the
	// database left as it was.
	FilesOnly bool `json:"files_only"`
	// BeforeRestore is the backup of the state before a full restore.
	BeforeRestore *Backup `json:"before_restore,omitempty"`
}
