package updates

import (
	"errors"
	"fmt"

	"github.com/upkeep/upkeep/internal/diskspace"
	"github.com/upkeep/upkeep/packs"
)

// ErrPending is matched by the error [Bootstrap] returns in check mode when
// Updates_Pending holds update zips: they were reported and nothing was
// changed. The CLI exits 3. The error is a [*PendingError].
var ErrPending = errors.New("updates: updates pending")

// PendingError says how many update zips wait in which folder.
type PendingError struct {
	Count int
	Dir   string
}

func (e *PendingError) Error() string {
	return fmt.Sprintf("%s pending in %s; nothing was changed", plural(e.Count, "update zip"), e.Dir)
}

// Is makes errors.Is(err, ErrPending) true.
func (e *PendingError) Is(target error) bool { return target == ErrPending }

// ErrNotFound is returned by [ScanOne] when the zip it is given does not
// exist, neither as a path nor as a name in Updates_Pending.
var ErrNotFound = errors.New("updates: no such update zip")

// ErrVerify is returned by [Verify] when the zip has problems; the error
// joins it with one error per problem.
var ErrVerify = errors.New("updates: verification failed")

// ErrInstallFailed is matched by an [*InstallError]: the install failed and
// everything was put back as it was. The CLI exits 6.
var ErrInstallFailed = errors.New("updates: install failed and was rolled back")

// ErrManual is matched by a [*ManualError]: the install failed and putting
// things back failed too. The CLI exits 7.
var ErrManual = errors.New("updates: could not roll back")

// ErrRefused is wrapped by the error of an install whose zip, checked
// again as it was staged, no longer carries a valid signature by a trusted
// key (it was replaced after the scan).
var ErrRefused = errors.New("updates: signature refused")

// ErrChanged is wrapped by the error of an install whose zip, opened to be
// staged, no longer holds the manifest the batch was planned from (it was
// replaced after the scan). Its text reads within the message: "NAME.zip
// replaced since it was checked (...)".
var ErrChanged = errors.New("replaced since it was checked")

// ErrNoSpace is matched by the preflight error when the disk cannot hold
// the staged batch; the error is a *diskspace.NoSpaceError, as
// backupstore's (this is backupstore.ErrNoSpace too).
var ErrNoSpace = diskspace.ErrNoSpace

// MissingPackError stops a start whose root lacks a pack that the
// database records at a schema version above 0: the code of this host does
// not know the tables another host (or an earlier install) made. It matches
// packs.ErrDowngrade: the CLI exits 4.
type MissingPackError struct {
	Pack     string
	Version  string // the version the database records, "" when unknown
	Database int    // its schema version in the database
	Dir      string // where the pack's folder would be
}

func (e *MissingPackError) Error() string {
	v := e.Version
	if v == "" {
		v = "(the version that has schema version " + fmt.Sprint(e.Database) + ")"
	}
	return fmt.Sprintf("updates: the database records pack %s %s at schema version %d, but this host does not have it (%s is missing); install %s %s: put its zip into Updates_Pending and run --install-updates",
		e.Pack, v, e.Database, e.Dir, e.Pack, v)
}

// Is makes errors.Is(err, packs.ErrDowngrade) true.
func (e *MissingPackError) Is(target error) bool { return target == packs.ErrDowngrade }

// InstallError says which step of which batch failed, for which zip.
type InstallError struct {
	Batch string
	Step  string // journal, stage:PACK, swap-in:PACK, ...
	Zip   string // the zip the step worked on, "" for a step of the whole batch
	Err   error
}

func (e *InstallError) Error() string {
	return fmt.Sprintf("install failed (%s): %v; everything was put back as it was", e.where(), e.Err)
}

// where names the batch, the zip and the step.
func (e *InstallError) where() string {
	what := "batch " + e.Batch
	if e.Zip != "" {
		what += ", " + e.Zip
	}
	return what + ", at " + e.Step
}

func (e *InstallError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrInstallFailed) true.
func (e *InstallError) Is(target error) bool { return target == ErrInstallFailed }

// ManualError says that an install failed (Cause) and that undoing it failed
// too (Err): the root needs a person, and Backup is what to restore.
type ManualError struct {
	Batch  string
	Backup string // "" when the batch ran without a backup
	Cause  error
	Err    error
}

func (e *ManualError) Error() string {
	cause := e.Cause.Error()
	if ie, ok := e.Cause.(*InstallError); ok {
		// Not the InstallError's own text: nothing was put back.
		cause = fmt.Sprintf("install failed (%s): %v", ie.where(), ie.Err)
	}
	return fmt.Sprintf("batch %s: %s; then undoing it failed: %v", e.Batch, cause, e.Err)
}

// Unwrap gives what failed: the cause (the error an [*InstallError] cause
// carries, not the InstallError itself, which says everything was put
// back) and why undoing failed.
func (e *ManualError) Unwrap() []error {
	cause := e.Cause
	if ie, ok := cause.(*InstallError); ok {
		cause = ie.Err
	}
	return []error{cause, e.Err}
}

// Is makes errors.Is(err, ErrManual) true; errors.Is(err, ErrInstallFailed)
// is false.
func (e *ManualError) Is(target error) bool { return target == ErrManual }

// Hint is the command that puts the root back.
func (e *ManualError) Hint() string {
	if e.Backup == "" {
		return "no backup was taken (--no-backup): the batch's folders are in .upkeep/batch/; put packs/ back by hand from old/"
	}
	return "restore the backup taken before the batch: upkeep backups restore " + e.Backup
}

// ErrHealthNoBackup is returned by [Bootstrap] when a health check is asked
// for without a backup: a failed check is rolled back from the backup.
var ErrHealthNoBackup = errors.New("updates: --health needs the backup taken before the batch (drop --no-backup)")

// ErrReadOnlyRoot is returned by [Bootstrap] in install mode when the root
// is on a read-only file system: installing writes packs/,
// Updates_Installed/ and .upkeep/ there. Checking and ignoring updates
// work on such a root: they write nothing.
var ErrReadOnlyRoot = errors.New("updates: the root is read-only")
