package packs

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/upkeep/upkeep/internal/dbaddr"
)

// Sentinel errors. Match them with errors.Is; the typed errors below carry
// the details and unwrap to them. The CLI maps them to exit codes, in one
// place (internal/cli/exit.go): 4 for ErrDatabaseBehind, ErrDowngrade,
// ErrChecksumChanged and ErrShared, 5 for ErrLocked.
var (
	// ErrDatabaseBehind is returned (as a *BehindError) by [Status.Err] and
	// by [DB.Check] when a pack's code expects a higher schema version than
	// the database holds and the migrations have not been asked for.
	// Exit code 4.
	ErrDatabaseBehind = errors.New("packs: database updates needed")

	// ErrDowngrade is returned (as a *DowngradeError) by [Status.Err],
	// [DB.Check] and [DB.Up] when the database holds a higher schema version
	// of a pack than its code knows: the code is older than the data.
	// Exit code 4.
	ErrDowngrade = errors.New("packs: database is newer than the code")

	// ErrChecksumChanged is returned (as a *ChecksumError) by [Status.Err],
	// [DB.Check], [DB.Verify] and [DB.Up] when the file of an applied
	// migration no longer has the sha256 recorded when it ran. It blocks
	// further migrations of that pack until [DB.AcceptChanged] records the
	// new checksum. Exit code 4.
	ErrChecksumChanged = errors.New("packs: applied migration changed")

	// ErrLocked is returned (as a *LockedError) by [DB.Up], [DB.Down],
	// [DB.Baseline] and [DB.Lock] when another connection holds the
	// database's migration lock for longer than the lock timeout.
	// Exit code 5.
	ErrLocked = errors.New("packs: database is locked by another process")

	// ErrBadMigrations is returned by the loaders ([ReadMigrationsDir],
	// [ReadMigrationsFS], [LoadPack]) when a pack's migrations are not
	// numbered 1..N without gap or duplicate, or a file name does not
	// follow VERSION_name.up.sql / VERSION_name.down.sql. The message names
	// the files.
	ErrBadMigrations = errors.New("packs: bad migrations")

	// ErrDrift is returned by the CLI's db verify and db status
	// --exit-code when a table's live schema differs from its record in
	// upkeep_schema. Exit code 4.
	ErrDrift = errors.New("packs: tables drifted from their recorded schema")

	// ErrDirty is returned by [DB.Adopt] when golang-migrate's table marks
	// its version dirty: a migration failed part way, and a person must
	// check the database before upkeep takes it over.
	ErrDirty = errors.New("packs: dirty migration state")

	// ErrNoDown is returned by [DB.Down] before anything runs when a
	// migration to revert has no .down.sql (or no Go down function); the
	// message names the migration.
	ErrNoDown = errors.New("packs: migration cannot be reverted")

	// ErrMigrationFailed is returned (as a *MigrationError) by [DB.Up] and
	// [DB.Down] when a statement of a migration fails.
	ErrMigrationFailed = errors.New("packs: migration failed")

	// ErrResumeMismatch is returned by [DB.Up] on backends without
	// transactional DDL when an interrupted migration is resumed but the
	// statements that had already run are no longer the same in its file.
	ErrResumeMismatch = errors.New("packs: interrupted migration changed before its resume point")

	// ErrUnknownPack is returned when an option names a pack that is not
	// among the packs given.
	ErrUnknownPack = errors.New("packs: unknown pack")

	// ErrShared is returned (as a *SharedError) by [DB.RefuseShared] when
	// an operation would move a database backwards that other hosts used
	// in the last SharedWindow. Exit code 4: a downgrade refused.
	ErrShared = errors.New("packs: the database is shared with other hosts")

	// ErrBadDSN is returned by [Open] for a database address it cannot
	// read.
	ErrBadDSN = dbaddr.ErrUnsupported

	// ErrRefused is returned (as a *RefusedError) by [DB.Up] and [DB.Down],
	// before any statement runs, when a statement of a migration file does
	// what a migration may not: control the run's transaction, attach or
	// write another database file (SQLite), or name upkeep's own tables.
	// It is also returned when a migration ended the run's transaction in a
	// way the statement check did not see.
	ErrRefused = errors.New("packs: statement refused")

	// ErrBadExport is returned by [DB.RestoreTables] for a file that is not
	// an export of this format, or an export taken on another backend.
	ErrBadExport = errors.New("packs: not a database export")
)

// BehindError says that a pack's database schema is older than its code.
type BehindError struct {
	Pack    string
	From    int      // schema version in the database
	To      int      // schema version of the code
	Pending []string // names of the migrations that would run, in order
	// Interrupted is set when the first pending migration stopped part
	// way (MySQL/MariaDB); the run resumes it.
	Interrupted *Progress
}

func (e *BehindError) Error() string {
	s := fmt.Sprintf("packs: pack %s needs database updates: schema version %d -> %d: %s",
		e.Pack, e.From, e.To, strings.Join(e.Pending, ", "))
	if ir := e.Interrupted; ir != nil {
		s += fmt.Sprintf(" (%s stopped after statement %d and resumes at statement %d)", ir.File, ir.StatementsDone, ir.StatementsDone+1)
	}
	return s + "; run with --migrate-db to apply them"
}

// Unwrap returns ErrDatabaseBehind.
func (e *BehindError) Unwrap() error { return ErrDatabaseBehind }

// DowngradeError says that a pack's database schema is newer than its code.
type DowngradeError struct {
	Pack     string
	Database int    // schema version in the database
	Code     int    // schema version of the installed code
	Version  string // the pack's version the database records, "" when unknown
	// Shared: other hosts use the database. Restoring a backup would
	// rewind it under them, so the message names only the version to
	// install.
	Shared bool
}

func (e *DowngradeError) Error() string {
	if e.Shared {
		what := "the newer version of " + e.Pack
		if e.Version != "" {
			what = fmt.Sprintf("%s %s, the version the database records", e.Pack, e.Version)
		}
		return fmt.Sprintf("packs: pack %s: the database is at schema version %d but the installed code knows only up to %d; install %s (the database is shared with other hosts)",
			e.Pack, e.Database, e.Code, what)
	}
	msg := fmt.Sprintf("packs: pack %s: the database is at schema version %d but the installed code knows only up to %d; install the newer version of %s, or restore a backup taken before the database was updated",
		e.Pack, e.Database, e.Code, e.Pack)
	if e.Version != "" {
		msg += fmt.Sprintf(" (the database records %s %s)", e.Pack, e.Version)
	}
	return msg
}

// Unwrap returns ErrDowngrade.
func (e *DowngradeError) Unwrap() error { return ErrDowngrade }

// ChecksumError says that the file of an applied migration has changed.
type ChecksumError struct {
	Pack     string
	Version  int
	File     string
	Recorded string // sha256 recorded when it was applied (or last accepted)
	Current  string // sha256 of the file now
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("packs: pack %s: migration %d (%s) was applied with sha256 %s but the file now has sha256 %s; put the file back as it was, or accept the change to record its new checksum",
		e.Pack, e.Version, e.File, short(e.Recorded), short(e.Current))
}

// Unwrap returns ErrChecksumChanged.
func (e *ChecksumError) Unwrap() error { return ErrChecksumChanged }

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

// LockedError says that the database's migration lock stayed taken.
type LockedError struct {
	Backend string
	Waited  time.Duration
	Holder  string // who holds it, as far as the backend can tell; "" when it cannot
}

func (e *LockedError) Error() string {
	h := e.Holder
	if h == "" {
		h = "another connection"
	}
	return fmt.Sprintf("packs: %s migration lock still held after %s by %s", e.Backend, e.Waited, h)
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Applied is one migration that ran (or was reverted) in a run.
type Applied struct {
	Pack      string
	Version   int
	Name      string
	Direction string // "up" or "down"
	Duration  time.Duration
}

// String names the migration as reports do: "pack VERSION_name", with
// " (down)" for a revert.
func (a Applied) String() string {
	s := fmt.Sprintf("%s %d_%s", a.Pack, a.Version, a.Name)
	if a.Direction == "down" {
		s += " (down)"
	}
	return s
}

// MigrationError says which statement of which migration failed, what ran
// before it and what state the database is left in. Like goose's
// PartialError, it carries what a caller needs to report and recover.
type MigrationError struct {
	Pack      string
	Version   int
	File      string // the .sql file, or "go:VERSION_name" for a Go migration
	Direction string // "up" or "down"
	Statement int    // 1-based index of the failed statement in File; 0 for Go migrations
	Line      int    // line of File where the statement starts
	FirstLine string // first line of the failed statement
	// Before holds the migrations of this run that completed before the
	// failure. When RolledBack is true none of them is left in the
	// database.
	Before []Applied
	// RolledBack is true on backends with transactional DDL: the run's
	// transaction was rolled back. The database is as it was before the
	// run, except for Kept.
	RolledBack bool
	// Kept are the migrations of the run committed before its
	// transaction because one of them ran outside a transaction
	// ([Migration.NoTransaction]): they stay applied.
	Kept []Applied
	// StatementsDone is, without transactional DDL, how many statements
	// of File ran and stay in the database; the next Up resumes after them
	// once the file is fixed.
	StatementsDone int
	// Export is the export taken before the run ("" without
	// UpOptions.Tables); its tables can be put back with [DB.RestoreTables].
	Export string
	// Restored is true when UpOptions.RestoreOnFailure put Export back
	// after the failure; RestoreErr says why that failed.
	Restored   bool
	RestoreErr error
	Err        error
}

func (e *MigrationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "packs: pack %s: migration %d %s failed", e.Pack, e.Version, e.File)
	if e.Statement > 0 {
		fmt.Fprintf(&b, " at statement %d (line %d: %s)", e.Statement, e.Line, e.FirstLine)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	if len(e.Before) > 0 {
		var names []string
		for _, a := range e.Before {
			names = append(names, fmt.Sprintf("%s %d_%s", a.Pack, a.Version, a.Name))
		}
		fmt.Fprintf(&b, "; completed before it in this run: %s", strings.Join(names, ", "))
	}
	switch {
	case e.RolledBack && len(e.Kept) > 0:
		var names []string
		for _, a := range e.Kept {
			names = append(names, a.String())
		}
		fmt.Fprintf(&b, "; its transaction was rolled back, but %s ran outside a transaction and stay applied; fix the file and run Up again to go on from there", strings.Join(names, ", "))
		if e.Export != "" {
			fmt.Fprintf(&b, ", or restore the pack's tables from %s", e.Export)
		}
	case e.RolledBack:
		b.WriteString("; the whole run was rolled back, the database is as it was before it")
	case e.Restored:
		fmt.Fprintf(&b, "; the packs' tables, settings and schema versions were restored from %s and tables the run made were dropped: the database is as it was before the run", e.Export)
	default:
		if e.RestoreErr != nil {
			fmt.Fprintf(&b, "; restoring %s failed too: %v", e.Export, e.RestoreErr)
		}
		if len(e.Before) > 0 {
			b.WriteString(" (still applied)")
		}
		again := "Up"
		if e.Direction == "down" {
			again = "Down"
		}
		if e.Statement == 0 {
			fmt.Fprintf(&b, "; its transaction was rolled back (DDL it ran before failing has committed and stays); fix it and run %s again", again)
		} else {
			fmt.Fprintf(&b, "; %d statement(s) of %s ran before the failure and stay in the database; fix the file and run %s again to resume at statement %d", e.StatementsDone, e.File, again, e.StatementsDone+1)
		}
		if e.Export != "" {
			fmt.Fprintf(&b, ", or restore the pack's tables from %s", e.Export)
		}
	}
	return b.String()
}

// Unwrap returns ErrMigrationFailed and the statement's error.
func (e *MigrationError) Unwrap() []error { return []error{ErrMigrationFailed, e.Err} }

// Partial tells whether the failed run left changes in the database: on a
// backend without transactional DDL, migrations or statements that ran and
// were not put back (see UpOptions.RestoreOnFailure).
func (e *MigrationError) Partial() bool {
	return !e.RolledBack && !e.Restored && (len(e.Before) > 0 || e.StatementsDone > 0)
}

// Errors of the desired-schema work (schema.sql, db generate, db diff).
var (
	// ErrNoDesired is returned when a pack has no schema.sql.
	ErrNoDesired = errors.New("packs: no desired schema (schema.sql)")

	// ErrBadDevDB is returned when a --dev-db address is not a usable
	// scratch database: not empty, the production database, or SQLite.
	ErrBadDevDB = errors.New("packs: unusable development database")

	// ErrDestructive is matched by a [*DestructiveError]: the generated
	// migration would drop a table or column or narrow a type.
	ErrDestructive = errors.New("packs: destructive schema change")

	// ErrSchemaMismatch is matched by a [*MismatchError]: a pack's
	// migrations do not produce its schema.sql.
	ErrSchemaMismatch = errors.New("packs: migrations do not produce schema.sql")
)

// RefusedError names a statement of a migration file that upkeep refuses
// to run, and why.
type RefusedError struct {
	Pack      string
	File      string // the migration file
	Line      int    // 1-based line where the statement starts
	Statement string // its first line
	Reason    string
}

func (e *RefusedError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("packs: pack %s: migration %s refused: %s", e.Pack, e.File, e.Reason)
	}
	return fmt.Sprintf("packs: pack %s: migration %s line %d: statement refused: %q: %s", e.Pack, e.File, e.Line, e.Statement, e.Reason)
}

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }
