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

func (h *HealthResult) String() string {
	switch {
	case h.Passed:
		return fmt.Sprintf("health check %q passed", h.Command)
	case h.TimedOut:
		return fmt.Sprintf("health check %q timed out after %s", h.Command, time.Duration(h.DurationMS)*time.Millisecond)
	}
	s := fmt.Sprintf("health check %q failed (exit %d)", h.Command, h.ExitCode)
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
// fails, the batch is rolled back from the backup taken before it: the
// root's files and the database restored, the zips moved back to
// Updates_Pending. It returns an *InstallError (or a *ManualError when the
// rollback failed).
func checkHealth(ctx context.Context, opts Options, root layout.Root, batch *Batch) error {
	dbAddr := opts.DB
	if dbAddr == "" {
		dbAddr = "sqlite:" + layout.DefaultDB
	}
	batch.Health = runHealth(ctx, opts.Health, opts.HealthTimeout, root.Dir, healthEnv(root.Dir, dbAddr, false))
	if batch.Health.Passed {
		return nil
	}
	cause := fmt.Errorf("%s", batch.Health)
	ierr := &InstallError{Batch: batch.ID, Step: stepHealth, Err: cause}
	if err := rollbackBatch(context.WithoutCancel(ctx), opts, root, batch); err != nil {
		return &ManualError{Batch: batch.ID, Backup: batch.Backup, Cause: ierr, Err: err}
	}
	for _, u := range batch.Updates {
		recordFailure(root, u.Zip, ierr)
	}
	// The restored database holds the batch's row as it was when the
	// backup was taken: running. Say how it ended.
	if host, err := HostID(root); err == nil && host != "" {
		rec := packs.BatchRecord{ID: batch.ID, Host: host, Backup: batch.Backup}
		endBatch(context.WithoutCancel(ctx), opts, root, rec, "committed", packs.OutcomeRolledBack, ierr.Error(), time.Time{})
		noteBackup(root, batch.Backup, packs.OutcomeRolledBack, batch.ID)
	}
	return ierr
}

// rollbackBatch puts a committed batch back: its backup restored (files
// and database), then each zip moved from Updates_Installed back to
// Updates_Pending under its name.
func rollbackBatch(ctx context.Context, opts Options, root layout.Root, batch *Batch) error {
	if batch.Backup == "" {
		return errors.New("the batch ran without a backup (--no-backup): nothing to roll back from")
	}
	versions := map[string]string{}
	for _, u := range batch.Updates {
		versions[u.Pack] = u.To
	}
	if _, err := backupstore.Restore(ctx, backupstore.RestoreOptions{Root: root, ID: batch.Backup, DB: opts.DB,
		UpkeepVersion: opts.UpkeepVersion, Packs: versions, Progress: opts.Progress}); err != nil {
		return fmt.Errorf("restore backup %s: %w", batch.Backup, err)
	}
	// A copy back (see move) a killed rollback left half done is waste.
	if err := atomicfile.CleanTemps(root.Pending()); err != nil {
		return err
	}
	for _, u := range batch.Updates {
		src, dst := filepath.Join(root.Installed(), u.Installed), filepath.Join(root.Pending(), u.Zip)
		if err := move(src, dst, nil); err != nil {
			return err
		}
		if err := move(src+signing.SigExt, dst+signing.SigExt, nil); err != nil {
			return err
		}
	}
	return nil
}
