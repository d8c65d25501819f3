package backupstore

import (
	"database/sql"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/upkeep/upkeep/layout"
)

// Format is the version of backup.json this package writes. Format 1
// (before incremental backups) had no base, depth, backup, inode or
// ctime_ns; this package still reads it: every entry in its own zip.
const Format = 2

// FullEvery bounds a chain of incremental backups: a backup whose base is
// FullEvery-1 backups away from a full one is taken full (see the README
// for why 10).
const FullEvery = 10

// DefaultKeep is how many backups [Prune] keeps when asked to keep 0 or less.
const DefaultKeep = 5

// ReasonBeforeRestore is the reason of the backup [Restore] takes first.
const ReasonBeforeRestore = "before-restore"

// TimeFormat is the UTC timestamp that starts every backup's name.
const TimeFormat = "20060102T150405Z"

// Names inside a backup zip.
const (
	ManifestName = "backup.json"
	FilesDir     = "files/"    // the root's files, under their path in the root
	DatabaseDir  = "database/" // the database snapshot
)

// Kinds of database, as backup.json records them.
const (
	DBNone     = "none"
	DBSQLite   = "sqlite"
	DBPostgres = "postgres"
	DBMySQL    = "mysql"
)

// Types of [File].
const (
	TypeFile    = "file"
	TypeDir     = "dir"
	TypeSymlink = "symlink"
)

// Manifest is the contents of a backup's backup.json.
type Manifest struct {
	Format int `json:"format"`
	// Kind is KindFull (written as "" before kinds existed) or KindTables.
	Kind          string            `json:"kind,omitempty"`
	Created       time.Time         `json:"created"`
	Reason        string            `json:"reason"`
	UpkeepVersion string            `json:"upkeep_version"`
	Packs         map[string]string `json:"packs"` // pack name -> version, as the caller gave them
	Database      Database          `json:"database"`
	// References are the IDs of the backups whose zips hold entries this
	// one references (the Backup of its records), sorted; written before
	// the records, so that a prune learns them without reading the
	// records. nil for a backup.json written before the key existed.
	References []string `json:"references"`
	Files      []File   `json:"files"` // every entry under files/ (tables/ for kind tables), in zip order
	// Tables are the packs whose tables a backup of kind tables holds.
	Tables []string `json:"tables,omitempty"`
	// Base is the backup this one was built on (its files that had not
	// changed are referenced, see [File.Backup]); "" for a full backup.
	// Depth is how many backups lie between it and the last full one (0
	// for a full backup).
	Base  string `json:"base,omitempty"`
	Depth int    `json:"depth,omitempty"`

	prefix string // where Files are in the zip: FilesDir, TablesDir, or "" (a legacy export)
	legacy bool   // a table export written before backup.json: no sha256 to check
}

// kind is Kind, with the default of backups written before kinds.
func (m *Manifest) kind() string {
	if m.Kind == "" {
		return KindFull
	}
	return m.Kind
}

// Database says which database the backup covers and where its snapshot is.
type Database struct {
	Kind string `json:"kind"` // DBNone, DBSQLite, DBPostgres or DBMySQL
	// Source is the SQLite file's path relative to the root, or the server
	// DSN without its password.
	Source string `json:"source,omitempty"`
	// Snapshot is the snapshot's entry (Path is the zip entry name, e.g.
	// "database/app.db" or "database/dump.sql"); nil when there is none.
	Snapshot *File `json:"snapshot,omitempty"`
	// Note says why there is no snapshot ("no database configured",
	// "SQLite file data/app.db absent").
	Note string `json:"note,omitempty"`
}

// File is one entry of a backup.
type File struct {
	Path     string    `json:"path"` // slash-separated, relative to the root (the entry is files/PATH)
	Type     string    `json:"type"` // TypeFile, TypeDir or TypeSymlink
	Size     int64     `json:"size"` // bytes of the content (of the target, for a symlink)
	Mode     string    `json:"mode"` // permission bits in octal, "0644"
	SHA256   string    `json:"sha256,omitempty"`
	Target   string    `json:"target,omitempty"` // symlinks only
	Modified time.Time `json:"modified"`
	// Backup, when set, is the earlier backup whose zip holds this file's
	// content, as its entry files/PATH (the file had not changed since):
	// Updates_Backups/BACKUP.zip, or BACKUP.pieces.zip once that backup
	// was pruned. "" means this backup's own zip.
	Backup string `json:"backup,omitempty"`
	// Inode and CTime (nanoseconds since 1970) are the file's as the backup
	// saw them; with Size and Modified they decide whether the next backup
	// may reference the file instead of storing it. Both are 0 when
	// unknown (Windows) or when the file changed less than a second before
	// the backup began (it might change again within the same time stamp).
	Inode uint64 `json:"inode,omitempty"`
	CTime int64  `json:"ctime_ns,omitempty"`
}

// Backup is one backup in Updates_Backups, as [List] and [Create] see it.
type Backup struct {
	ID        string // file name without .zip: 20261121T080000Z_manual
	Kind      string // KindFull or KindTables
	Path      string // absolute path of the zip
	Size      int64  // bytes of the zip
	Created   time.Time
	Reason    string
	Protected bool   // see [MarkProtected]
	Note      string // see [SetNote]: e.g. the install it was taken for failed
	Files     int    // entries under files/
	Bytes     int64  // bytes of the files, uncompressed
	Database  string
	// Base and Depth are backup.json's: the backup this one builds on
	// ("" for a full backup) and how far it is from the last full one.
	Base  string
	Depth int
	// Err is set by [List] when backup.json could not be read; Created and
	// Reason then come from the name.
	Err error

	refs []string // Manifest.References, read by list without the records
}

// CreateOptions are the options of [Create].
type CreateOptions struct {
	Root          layout.Root
	Reason        string            // sanitized to [a-z0-9-]; "manual" when empty
	UpkeepVersion string            // recorded in backup.json
	Packs         map[string]string // pack versions, recorded in backup.json
	// DB is the database: "" for the default sqlite:data/app.db,
	// "none" for no database, sqlite:PATH (relative to the root),
	// postgres://... or mysql://user:pass@host:port/db.
	DB string
	// SQL, when not nil, is a handle the caller already has open on DB:
	// SQLite's snapshot (VACUUM INTO) runs through it instead of opening
	// the file again.
	SQL *sql.DB
	// Exclude are extra globs (path.Match) of root paths not to back up. A
	// glob without "/" matches a base name at any depth; with "/" it matches
	// the slash-separated path from the root. A matched folder is skipped
	// whole.
	Exclude []string
	// Progress, when not nil, receives a progress bar (terminal) or plain
	// lines at most once a second.
	Progress io.Writer
	// Workers compressing files at once; 0 means GOMAXPROCS.
	Workers int
	// Level is the deflate level (1 fastest .. 9 smallest); 0 means 1.
	Level int
	// Full stores every file, even those an earlier backup holds
	// unchanged: the backup starts a new chain (see [FullEvery]).
	Full bool
	// FreeSpace returns the bytes available to unprivileged users on the
	// file system holding dir; nil means statfs(2). Tests replace it.
	FreeSpace func(dir string) (uint64, error)
	// Now replaces time.Now (tests).
	Now func() time.Time
	// FilesOnly backs up the root's files alone: no database snapshot,
	// and a SQLite file in the root is left out all the same.
	FilesOnly bool

	// wrapOutput, when set, wraps the temp file the zip is written to
	// (tests inject write failures).
	wrapOutput func(io.Writer) io.Writer
}

// RestoreOptions are the options of [Restore].
type RestoreOptions struct {
	Root layout.Root
	ID   string
	// DB is the database to restore into, as in [CreateOptions.DB]. Its
	// kind must match the backup's snapshot.
	DB            string
	SQL           *sql.DB  // as in CreateOptions, for the before-restore backup
	Exclude       []string // as in CreateOptions: left alone by the restore
	UpkeepVersion string   // for the before-restore backup
	Packs         map[string]string
	Progress      io.Writer
	FreeSpace     func(dir string) (uint64, error)
	Now           func() time.Time
	// FilesOnly restores the root's files alone and leaves the database
	// as it is, whatever the backup holds (on a database other hosts
	// share, rewinding it would rewind theirs); the backup taken first
	// holds the files alone too.
	FilesOnly bool

	// failAt, when set, is called at each step of the swap; an error it
	// returns makes the restore fail there (tests).
	failAt func(step string) error
}

// SanitizeReason maps a reason to the characters allowed in a backup name:
// lower-case a-z, 0-9 and "-", runs of anything else become one "-", at
// most 40 characters, "manual" when nothing is left.
func SanitizeReason(reason string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(reason) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	if s == "" {
		return "manual"
	}
	return s
}

// checkID refuses IDs that are not plain names in Updates_Backups.
func checkID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") ||
		strings.HasSuffix(id+".zip", PiecesSuffix) {
		return fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	return nil
}

// parseID reads the time and reason from a backup's name.
func parseID(id string) (time.Time, string, bool) {
	ts, reason, ok := strings.Cut(id, "_")
	if !ok {
		return time.Time{}, "", false
	}
	t, err := time.Parse(TimeFormat, ts)
	if err != nil {
		return time.Time{}, "", false
	}
	return t, reason, true
}
