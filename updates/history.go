package updates

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

// hostIDFile, in .upkeep/, holds the root's host id: made once, never
// changed, so that every batch and every start of this root is told apart
// from other hosts' in a shared database.
const hostIDFile = "host-id"

// HostID returns the root's host id, read from .upkeep/host-id; "" when
// the root has none yet (read-only commands do not make one).
func HostID(root layout.Root) (string, error) {
	data, err := os.ReadFile(filepath.Join(root.State(), hostIDFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read host id: %w", err)
	}
	id := strings.TrimSpace(string(data))
	if !validHostID(id) {
		return "", fmt.Errorf("%s: not a host id (want 32 hex digits): %q", filepath.Join(root.State(), hostIDFile), id)
	}
	return id, nil
}

// EnsureHostID returns the root's host id, making it (32 random hex
// digits) when the root has none.
func EnsureHostID(root layout.Root) (string, error) {
	if id, err := HostID(root); err != nil || id != "" {
		return id, err
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := hex.EncodeToString(b[:])
	err := atomicfile.Write(filepath.Join(root.State(), hostIDFile), 0o644, func(w io.Writer) error {
		_, err := io.WriteString(w, id+"\n")
		return err
	})
	if err != nil {
		return "", fmt.Errorf("make host id: %w", err)
	}
	return id, nil
}

func validHostID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// batchRecord is the upkeep_batches row of the batch j, as it starts.
func batchRecord(j *journal, host string, from map[string]string) packs.BatchRecord {
	hostname, _ := os.Hostname()
	rec := packs.BatchRecord{ID: j.Batch, Host: host, Hostname: hostname, Phase: string(j.Phase),
		Outcome: packs.OutcomeRunning, Backup: j.Backup, Started: j.Started, Zips: []string{}, Migrations: []string{}}
	for _, p := range j.Packs {
		rec.Packs = append(rec.Packs, packs.BatchPack{Pack: p.Pack, From: from[p.Pack], To: p.Version, Installed: p.Installed})
		rec.Zips = append(rec.Zips, p.Zip)
	}
	return rec
}

// startBatch writes the batch's first row into upkeep_batches, running.
// Batch ids are UTC seconds: a second batch of this host in the same
// second gets "-2", "-3", ... added, here and in the journal, so that
// rows never replace each other.
func startBatch(ctx context.Context, opts Options, root layout.Root, j *journal, host string, from map[string]string) (packs.BatchRecord, error) {
	db, release, err := openDB(ctx, opts, root)
	if err != nil {
		return packs.BatchRecord{}, err
	}
	defer release()
	base := j.Batch
	for n := 2; ; n++ {
		old, err := db.LookupBatch(ctx, host, j.Batch)
		if err != nil {
			return packs.BatchRecord{}, err
		}
		if old == nil {
			break
		}
		j.Batch = fmt.Sprintf("%s-%d", base, n)
	}
	rec := batchRecord(j, host, from)
	if err := db.RecordBatch(ctx, rec); err != nil {
		return rec, fmt.Errorf("record batch %s in the history: %w", rec.ID, err)
	}
	return rec, nil
}

// endBatch records how the batch ended: phase, outcome, why, and how long
// it took (now zero: the time is not known, as for a batch a crash
// interrupted). It starts from the batch's row when there is one, so that what
// the migrations' transaction recorded (the migrations run, the commit
// time) is kept, and from rec when there is none. It is best effort: the
// batch's fate is settled already, and a history row that cannot be
// written must not change it, so the caller only mentions the error.
func endBatch(ctx context.Context, opts Options, root layout.Root, rec packs.BatchRecord, phase, outcome, reason string, now time.Time) error {
	db, release, err := openDB(ctx, opts, root)
	if err != nil {
		return err
	}
	defer release()
	if old, err := db.LookupBatch(ctx, rec.Host, rec.ID); err == nil && old != nil {
		backup := rec.Backup
		rec = *old
		if backup != "" {
			rec.Backup = backup
		}
	}
	rec.Phase, rec.Outcome, rec.Reason = phase, outcome, reason
	if !rec.Started.IsZero() && !now.IsZero() {
		rec.Duration = now.Sub(rec.Started)
	}
	return db.RecordBatch(ctx, rec)
}

// noteBackup marks the backup taken before a batch that did not commit, so
// that `backups list` tells it from the backups of installs that did.
func noteBackup(root layout.Root, backup, outcome, batch string) {
	if backup == "" {
		return
	}
	note := ""
	switch outcome {
	case packs.OutcomeRolledBack:
		note = "install failed and was rolled back (batch " + batch + ")"
	case packs.OutcomeUndone:
		note = "install interrupted and undone (batch " + batch + ")"
	case packs.OutcomeManual:
		note = "install failed and could not be rolled back (batch " + batch + "): restore this backup"
	default:
		return
	}
	backupstore.SetNote(root, backup, note) // best effort, like the history row
}
