package backupstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/upkeep/upkeep/internal/dbaddr"
	"github.com/upkeep/upkeep/internal/dbsnap"
	"github.com/upkeep/upkeep/internal/diskspace"
)

var (
	// ErrNoSpace is returned by [Create] (and by [Restore], which creates a
	// before-restore backup and stages the files) when the file system
	// holding Updates_Backups or .upkeep has less free space than the work
	// needs. The error is a [*NoSpaceError] that says needed vs available.
	// It is the one error of package diskspace, which updates shares.
	ErrNoSpace = diskspace.ErrNoSpace

	// ErrNotFound is returned by [Show], [Verify], [Restore] and
	// [MarkProtected] when no backup has the given ID.
	ErrNotFound = errors.New("backupstore: no such backup")

	// ErrInvalidID is returned when an ID is not a plain backup name (it is
	// empty, or holds a path separator or "..").
	ErrInvalidID = errors.New("backupstore: invalid backup ID")

	// ErrCorrupt is returned by [Show], [Verify] and [Restore] when a backup
	// cannot be read (not a zip, backup.json missing or invalid) or an
	// entry's size or sha256 differs from backup.json.
	ErrCorrupt = errors.New("backupstore: backup is corrupt")

	// ErrMissingEntry is returned by [Verify] and [Restore] for a file that
	// backup.json lists but the zip does not hold.
	ErrMissingEntry = errors.New("backupstore: entry missing from backup")

	// ErrExtraEntry is returned by [Verify] and [Restore] for a zip entry
	// that backup.json does not list.
	ErrExtraEntry = errors.New("backupstore: entry not listed in backup.json")

	// ErrUnsupportedDatabase is returned by [Create] and [Restore] for a
	// database address that is not sqlite:PATH, postgres:// (postgresql://)
	// or mysql:// (mariadb://). It is the error of the one address parser,
	// which package packs returns as packs.ErrBadDSN.
	ErrUnsupportedDatabase = dbaddr.ErrUnsupported

	// ErrDatabaseMismatch is returned by [Restore] when the backup holds a
	// snapshot of one kind of database and the options name another (or
	// none, for a server database).
	ErrDatabaseMismatch = errors.New("backupstore: backup's database does not match")

	// ErrToolMissing is returned when a database client program (pg_dump,
	// psql, mariadb-dump or mysqldump, mariadb or mysql) is not installed.
	// The error is a [*ToolMissingError] naming the Debian package.
	ErrToolMissing = dbsnap.ErrToolMissing

	// ErrNotTables is returned by [OpenTables] for a backup that is not of
	// kind tables, and ErrTablesBackup by [Restore] for one that is: a
	// table export is put back with [OpenTables] and package packs'
	// RestoreTables (upkeep backups restore does either, by kind).
	ErrNotTables    = errors.New("backupstore: not an export of tables")
	ErrTablesBackup = errors.New("backupstore: an export of tables, not a full backup")

	// ErrRestoreInProgress is returned by [Restore] when .upkeep/restore/
	// holds the journal of an earlier restore that did not finish (a crash).
	// See the package documentation for its states.
	ErrRestoreInProgress = errors.New("backupstore: an earlier restore did not finish")
)

// NoSpaceError says how much space a backup or restore needs and how much
// the file system holding Dir has. It matches [ErrNoSpace].
type NoSpaceError = diskspace.NoSpaceError

// ToolMissingError names the programs that were looked for and the Debian
// package that has them. It matches [ErrToolMissing].
type ToolMissingError = dbsnap.ToolMissingError

// Problem is one thing [Verify] found wrong with one entry of a backup.
type Problem struct {
	Entry string // zip entry name, e.g. "files/packs/core/manifest.json"
	Err   error  // wraps ErrCorrupt, ErrMissingEntry or ErrExtraEntry
}

func (p Problem) Error() string { return p.Entry + ": " + p.Err.Error() }
func (p Problem) Unwrap() error { return p.Err }

// VerifyError lists every problem [Verify] found in backup ID, one per
// entry. errors.Is matches each problem's sentinel.
type VerifyError struct {
	ID       string
	Problems []Problem
}

func (e *VerifyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "backupstore: backup %s has %d problem(s):", e.ID, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (e *VerifyError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// RestoreError is returned by [Restore] when it failed after it had begun
// to change the root. BeforeRestore is the backup of the state before the
// restore; RolledBack says whether that state was put back. When it was
// not, a person must restore BeforeRestore by hand (upkeep backups restore
// ID) once the cause is fixed.
type RestoreError struct {
	ID            string // the backup being restored
	BeforeRestore string // the backup taken first
	RolledBack    bool
	Err           error
}

func (e *RestoreError) Error() string {
	if e.RolledBack {
		return fmt.Sprintf("backupstore: restore of %s failed and was rolled back: %v", e.ID, e.Err)
	}
	return fmt.Sprintf("backupstore: restore of %s failed and could not be rolled back (restore backup %s by hand: upkeep backups restore %s): %v",
		e.ID, e.BeforeRestore, e.BeforeRestore, e.Err)
}

func (e *RestoreError) Unwrap() error { return e.Err }
