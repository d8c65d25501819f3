// Package layout names the folders of an upkeep root and creates the ones
// that are missing. Every path upkeep writes to is built here, so nothing is
// written outside the root.
//
// [Root] is the one type updates, packs and backupstore take for a root; an
// application that embeds upkeep builds one with [Open].
package layout

import (
	"fmt"
	"os"
	"path/filepath"
)

// Folder names inside a root, as ../shared/DESIGN.md fixes them.
const (
	PendingDir   = "Updates_Pending"
	InstalledDir = "Updates_Installed"
	BackupsDir   = "Updates_Backups"
	PacksDir     = "packs"
	StateDir     = ".upkeep"
	TrustedDir   = ".upkeep/trusted"
	IncomingDir  = ".incoming" // inside Updates_Pending: downloads in progress
	FeedFile     = "feed.json" // inside .upkeep: the feeds this root accepted
	LockFile     = "lock"      // inside .upkeep: the root's lock
	DefaultDB    = "data/app.db"
)

// Root is an application's system directory.
type Root struct {
	Dir string // absolute
}

// Open returns the root at dir, made absolute. It does not touch the disk.
func Open(dir string) (Root, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Root{}, fmt.Errorf("root %s: %w", dir, err)
	}
	return Root{Dir: abs}, nil
}

// Pending is the folder people drop update zips into.
func (r Root) Pending() string { return filepath.Join(r.Dir, PendingDir) }

// Installed is the folder installed zips are moved to.
func (r Root) Installed() string { return filepath.Join(r.Dir, InstalledDir) }

// Backups is the folder backups are written to.
func (r Root) Backups() string { return filepath.Join(r.Dir, BackupsDir) }

// Packs is the folder that holds one subfolder per installed pack.
func (r Root) Packs() string { return filepath.Join(r.Dir, PacksDir) }

// Pack is the folder of the installed pack name.
func (r Root) Pack(name string) string { return filepath.Join(r.Dir, PacksDir, name) }

// State is upkeep's own folder: lock, journal, staging, trusted keys.
func (r Root) State() string { return filepath.Join(r.Dir, StateDir) }

// Trusted is the folder of trusted minisign public keys (*.pub).
func (r Root) Trusted() string { return filepath.Join(r.Dir, TrustedDir) }

// Incoming is the folder inside Updates_Pending where a fetch keeps its
// downloads in progress (NAME.zip.part and its sidecar). Scans ignore it.
func (r Root) Incoming() string { return filepath.Join(r.Dir, PendingDir, IncomingDir) }

// The files and folders of upkeep's own folder, .upkeep/. Every path under
// it is built by one of these methods, here only: two processes that build
// the lock's path apart would not exclude each other.

// Lock is the root's lock file: one upkeep process at a time changes the
// root (package internal/lock).
func (r Root) Lock() string { return r.state(LockFile) }

// Journal is the journal of the install batch in progress.
func (r Root) Journal() string { return r.state("journal.json") }

// Batch is the folder of the install batch in progress: staging/, old/.
func (r Root) Batch() string { return r.state("batch") }

// Restore is the folder of the backup restore in progress.
func (r Root) Restore() string { return r.state("restore") }

// RestoreJournal is the journal of the backup restore in progress.
func (r Root) RestoreJournal() string { return filepath.Join(r.Restore(), "journal.json") }

// ProtectedBackups lists the backups that pruning never removes.
func (r Root) ProtectedBackups() string { return r.state("protected-backups") }

// Failures records why the last install of a zip failed.
func (r Root) Failures() string { return r.state("failed.json") }

// HostID holds the root's host id, made once: the host's name on a
// database several hosts share.
func (r Root) HostID() string { return r.state("host-id") }

// BackupNotes keeps a line about a backup, such as the install it was
// taken for and how that install ended (package backupstore).
func (r Root) BackupNotes() string { return r.state("backup-notes.json") }

// Rehearsal is the folder that holds a rehearsal's copy of the root while
// it runs; a start removes one a killed rehearsal left.
func (r Root) Rehearsal() string { return r.state("rehearsal") }

// AdminToken holds the token of the admin pages (mode 0600).
func (r Root) AdminToken() string { return r.state("admin-token") }

// AdminAction keeps the admin pages' last action.
func (r Root) AdminAction() string { return r.state("admin-action.json") }

// FeedState is the file that records, per feed URL, the last index this
// root accepted (its serial and sha256).
func (r Root) FeedState() string { return r.state(FeedFile) }

func (r Root) state(name string) string { return filepath.Join(r.Dir, StateDir, name) }

// Ensure creates the root's folders that are missing. It creates nothing
// else and never removes anything.
func (r Root) Ensure() error {
	for _, d := range []string{r.Pending(), r.Installed(), r.Backups(), r.Packs(), r.State()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	return nil
}
