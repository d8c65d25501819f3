package updates

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

// DefaultHealthTimeout bounds a health command when no timeout is given.
const DefaultHealthTimeout = time.Minute

// stepHealth names the health check in an [InstallError].
const stepHealth = "health"

// HealthResult is what a health command did.
type HealthResult struct {
	Command    string `json:"command"`
	Passed     bool   `json:"passed"`
	ExitCode   int    `json:"exit_code"` // -1 when it could not start or was killed
	TimedOut   bool   `json:"timed_out,omitempty"`
	Output     string `json:"output,omitempty"` // the end of its stdout and stderr
	DurationMS int64  `json:"duration_ms"`
}

// String says how the check ended: `health check "CMD" passed`, or
// `health check failed: "CMD" (exit 3): its last line of output`, the
// reason the history records for a batch the check rolled back.
func (h *HealthResult) String() string {
	switch {
	case h.Passed:
		return fmt.Sprintf("health check %q passed", h.Command)
	case h.TimedOut:
		return fmt.Sprintf("health check failed: %q timed out after %s", h.Command, time.Duration(h.DurationMS)*time.Millisecond)
	}
	s := fmt.Sprintf("health check failed: %q (exit %d)", h.Command, h.ExitCode)
	if out := strings.TrimSpace(h.Output); out != "" {
		s += ": " + lastLine(out)
	}
	return s
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// maxHealthOutput is how much of a health command's output is kept.
const maxHealthOutput = 4096

// runHealth runs command with sh -c in dir, with env added to upkeep's
// environment, and kills it after timeout (0: DefaultHealthTimeout).
func runHealth(ctx context.Context, command string, timeout time.Duration, dir string, env []string) *HealthResult {
	if timeout <= 0 {
		timeout = DefaultHealthTimeout
	}
	h := &HealthResult{Command: command, ExitCode: -1}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, "/bin/sh", "-c", command)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 2 * time.Second
	setProcessGroup(cmd)
	start := time.Now()
	err := cmd.Run()
	h.DurationMS = time.Since(start).Milliseconds()
	o := out.String()
	if len(o) > maxHealthOutput {
		o = o[len(o)-maxHealthOutput:]
	}
	h.Output = o
	var ee *exec.ExitError
	switch {
	case err == nil:
		h.Passed, h.ExitCode = true, 0
	case errors.Is(cctx.Err(), context.DeadlineExceeded):
		h.TimedOut = true
	case errors.As(err, &ee):
		h.ExitCode = ee.ExitCode()
	default:
		h.Output = strings.TrimSpace(h.Output + "\n" + err.Error())
	}
	return h
}

// healthEnv is the environment of a health command: where the root and
// its database are.
func healthEnv(root, db string, rehearsal bool) []string {
	env := []string{"UPKEEP_ROOT=" + root, "UPKEEP_DB=" + db}
	if rehearsal {
		env = append(env, "UPKEEP_REHEARSAL=1")
	} else {
		env = append(env, "UPKEEP_REHEARSAL=")
	}
	return env
}

// checkHealth runs the health command after batch committed; when it
// fails, the batch is rolled back from the backup taken before it (see
// healthRollbackSteps). It returns an *InstallError, or a *ManualError when
// the rollback failed.
func checkHealth(ctx context.Context, opts Options, root layout.Root, batch *Batch) error {
	dbAddr := opts.DB
	if dbAddr == "" {
		dbAddr = "sqlite:" + layout.DefaultDB
	}
	batch.Health = runHealth(ctx, opts.Health, opts.HealthTimeout, root.Dir, healthEnv(root.Dir, dbAddr, false))
	if batch.Health.Passed {
		return nil
	}
	j := &journal{Batch: batch.ID, Phase: phaseHealthRestoring, Started: time.Now().UTC(), Backup: batch.Backup,
		Reason: batch.Health.String(), Packs: []journalPack{}}
	for _, u := range batch.Updates {
		j.Packs = append(j.Packs, journalPack{Pack: u.Pack, Version: u.To, From: u.From, Zip: u.Zip, Installed: u.Installed})
	}
	ierr := healthError(j)
	if batch.Backup == "" {
		return &ManualError{Batch: batch.ID, Cause: ierr, Err: errors.New("the batch ran without a backup (--no-backup): nothing to roll back from")}
	}
	if s, err := runSteps(context.WithoutCancel(ctx), healthRollbackSteps(opts, root, j), loadFaults()); err != nil {
		return &ManualError{Batch: batch.ID, Backup: batch.Backup, Cause: ierr,
			Err: fmt.Errorf("%s: %w (the next start tries again)", s.name, err)}
	}
	return ierr
}

// healthError is the error of a batch whose health check failed.
func healthError(j *journal) *InstallError {
	return &InstallError{Batch: j.Batch, Step: stepHealth, Err: errors.New(j.Reason)}
}

// healthRollbackSteps put back a committed batch whose health check
// failed, in order: the journal records the rollback (from then on a start
// finishes it, see recoverHealthRollback); the backup taken before the
// batch is restored, files and database; each zip (and its signature)
// moves from Updates_Installed back to Updates_Pending; the history and
// the zips' failure records say what happened; the journal goes. Each step
// can run again after a crash in it: the restore until the journal says
// it is done, a move until its zip is back.
func healthRollbackSteps(opts Options, root layout.Root, j *journal) []step {
	b := batchPaths{root}
	steps := []step{
		{name: stepHealthJournal, run: func(context.Context) error {
			if err := os.MkdirAll(root.State(), 0o755); err != nil {
				return err
			}
			return b.save(j)
		}},
		{name: stepHealthRestore, run: func(ctx context.Context) error {
			if j.Phase != phaseHealthRestoring {
				return nil // restored before a crash
			}
			versions := map[string]string{}
			for _, p := range j.Packs {
				versions[p.Pack] = p.Version
			}
			// The restore may replace the SQLite file under the start's
			// handle: close it, and the next use opens the restored file.
			if opts.conn != nil {
				opts.conn.close()
			}
			if _, err := backupstore.Restore(ctx, backupstore.RestoreOptions{Root: root, ID: j.Backup, DB: opts.DB,
				UpkeepVersion: opts.UpkeepVersion, Packs: versions, Progress: opts.Progress}); err != nil {
				return fmt.Errorf("restore backup %s: %w", j.Backup, err)
			}
			j.Phase = phaseHealthReturning
			return b.save(j)
		}},
	}
	for i, p := range j.Packs {
		steps = append(steps, step{name: stepHealthReturn + p.Zip, zip: p.Zip, run: func(context.Context) error {
			if i == 0 {
				// A copy back (see move) a killed rollback left half done
				// is waste.
				if err := atomicfile.CleanTemps(root.Pending()); err != nil {
					return err
				}
			}
			src, dst := filepath.Join(root.Installed(), p.Installed), filepath.Join(root.Pending(), p.Zip)
			if err := move(src, dst, nil); err != nil {
				return err
			}
			return move(src+signing.SigExt, dst+signing.SigExt, nil)
		}})
	}
	return append(steps,
		step{name: stepHealthReturned, run: func(context.Context) error {
			for _, d := range []string{root.Pending(), root.Installed()} {
				if err := atomicfile.SyncDir(d); err != nil {
					return err
				}
			}
			return nil
		}},
		step{name: stepHealthRecord, run: func(ctx context.Context) error {
			ierr := healthError(j)
			for _, p := range j.Packs {
				recordFailure(root, p.Zip, ierr)
			}
			// The restored database holds the batch's row as it was when
			// the backup was taken: running. Say how it ended (best
			// effort, as for every batch).
			if host, err := EnsureHostID(root); err == nil {
				from := map[string]string{}
				for _, p := range j.Packs {
					from[p.Pack] = p.From
				}
				endBatch(ctx, opts, root, batchRecord(j, host, from), string(phaseCommitted), packs.OutcomeRolledBack, j.Reason, time.Now())
			}
			noteBackup(root, j.Backup, packs.OutcomeRolledBack, j.Batch)
			return nil
		}},
		step{name: stepHealthClean, run: func(context.Context) error { return b.clear() }},
	)
}

// recoverHealthRollback finishes the rollback of a batch whose health
// check failed, which a crash interrupted: the journal says how far it
// went. An interrupted restore was undone or finished by
// backupstore.Recover already; restoring again from the same backup is the
// same state.
func recoverHealthRollback(ctx context.Context, opts Options, root layout.Root, j *journal) (*Recovery, error) {
	rec := &Recovery{Batch: j.Batch, Action: HealthRolledBack, Packs: []string{}}
	for _, p := range j.Packs {
		rec.Packs = append(rec.Packs, p.Pack+" "+p.Version)
	}
	if s, err := runSteps(ctx, healthRollbackSteps(opts, root, j)[1:], nil); err != nil {
		return nil, &ManualError{Batch: j.Batch, Backup: j.Backup, Cause: healthError(j),
			Err: fmt.Errorf("finish the interrupted rollback at %s: %w", s.name, err)}
	}
	return rec, nil
}
