package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/admin"
	"github.com/upkeep/upkeep/updates"
)

// runStart is the application's start: bootstrap, then go on.
func runStart(c *cli.Context, g *GlobalOptions, mode updates.Mode, command []string) error {
	opts := g.scanOptions()
	bo := updates.Options{
		ScanOptions:   opts,
		Mode:          mode,
		LockTimeout:   g.LockTimeout,
		NoBackup:      c.Bool("no-backup"),
		DB:            g.DB,
		DevDB:         c.String("dev-db"),
		MigrateDB:     c.Bool("migrate-db"),
		DryRun:        c.Bool("dry-run"),
		KeepBackups:   c.Int("keep-backups"),
		UpkeepVersion: Version,
		Health:        c.String("health"),
		HealthTimeout: c.Duration("health-timeout"),
	}
	if bo.Health != "" && mode != updates.Install {
		return usageError("--health goes with --install-updates")
	}
	if bo.DryRun && mode != updates.Install {
		return usageError("--dry-run goes with --install-updates")
	}
	if bo.KeepBackups < 0 {
		return usageError("--keep-backups %d: give a number of backups to keep, or 0 to keep all", bo.KeepBackups)
	}
	if c.Bool("fetch-updates") && c.String("feed") == "" {
		return usageError("--fetch-updates needs the feed: --feed URL or UPKEEP_FEED")
	}
	// Usage first, then the root: an error in how upkeep was called is
	// exit 2 wherever it runs.
	if err := checkRoot(g, true); err != nil {
		return err
	}
	if !g.Quiet {
		bo.Progress = g.Stderr
	}
	if (mode == updates.Install || bo.MigrateDB) && bo.NoBackup {
		fmt.Fprintln(g.Stderr, "upkeep: warning: no backup is taken (--no-backup)")
	}
	if c.Bool("fetch-updates") {
		url := c.String("feed")
		bo.Fetch = &updates.FeedOptions{Feed: url}
		if !g.Quiet && !g.JSON {
			bo.Fetch.Progress = g.Stderr
		}
	}
	r, err := updates.Bootstrap(c.Context, bo)
	if r != nil && r.Fetch != nil && !g.JSON {
		if r.Fetch.Error != "" {
			fmt.Fprintf(g.Stderr, "upkeep: warning: %s; going on with what Updates_Pending holds\n", r.Fetch.Error)
		}
		if r.Fetch.Result != nil && !g.Quiet {
			writeFetchText(g.Stderr, r.Fetch.Result)
		}
	}
	if r != nil {
		if perr := printReport(c, g, r, mode, err == nil); perr != nil {
			return perr
		}
	}
	if bo.DryRun {
		if errors.Is(err, updates.ErrPending) {
			return withHint(err, "no update is ready: see the report above for what is wrong with each zip")
		}
		return err // a dry run never goes on to the application
	}
	if addr := c.String("admin-listen"); addr != "" && admin.Limits(err) {
		// The limited mode: serve the admin pages until the start can go on.
		fmt.Fprintf(g.Stderr, "upkeep: %v; serving the admin pages until that is dealt with\n", err)
		ctx, stop := signalContext(c)
		defer stop()
		opts, aerr := adminOptions(g, bo)
		if aerr != nil {
			return aerr
		}
		r, err = admin.Limited(ctx, opts, serveOptions(c, addr))
		if sig := stoppedBy(ctx); sig != 0 && err != nil {
			// An action under way was finished first: nothing is left half done.
			return fmt.Errorf("%w; stopped serving the admin pages; the start did not go on", &interruptedError{sig: sig})
		}
		if r != nil {
			if perr := printReport(c, g, r, mode, err == nil); perr != nil {
				return perr
			}
		}
	}
	if errors.Is(err, updates.ErrPending) {
		return withHint(err, "%s", pendingHint(r, g.Root.Pending()))
	}
	var manual *updates.ManualError
	if errors.As(err, &manual) {
		return withHint(err, "%s", manual.Hint())
	}
	if err != nil {
		return err
	}
	if ctx := c.Context; ctx.Err() != nil {
		// A signal after the batch's commit: it was finished, but the
		// application is not started.
		done := "nothing was changed"
		if r != nil && r.Batch != nil {
			done = "the batch " + r.Batch.ID + " was installed and finished first"
		}
		return fmt.Errorf("%w; %s; the application was not started", context.Cause(ctx), done)
	}
	if len(command) == 0 {
		return nil
	}
	return execCommand(command)
}

// printReport writes r as JSON with --json, else as text; a report that
// lets the start go on is left out with --quiet. With --ignore-updates only
// a recovery is reported.
func printReport(c *cli.Context, g *GlobalOptions, r *updates.Report, mode updates.Mode, goOn bool) error {
	if goOn && g.Quiet && !g.JSON {
		return nil
	}
	if mode == updates.Ignore && !g.JSON {
		if r.Recovery != nil {
			fmt.Fprintf(g.Stdout, "upkeep %s.\n", r.Recovery)
		}
		return nil
	}
	w := bufio.NewWriter(g.Stdout)
	var err error
	if g.JSON {
		err = printJSON(w, r)
	} else {
		err = r.WriteText(w)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}

// execCommand replaces upkeep with the application. A command that cannot
// be started is an error matching errCannotStart (exit 127).
func execCommand(command []string) error {
	path, err := exec.LookPath(command[0])
	if err == nil {
		err = syscall.Exec(path, command, os.Environ())
	}
	return withHint(fmt.Errorf("%w: %s: %w", errCannotStart, command[0], err),
		"check the command after --: it must be a file that can be run, or a name found in PATH")
}

// pendingHint suggests what fits what is pending: install what is ready,
// and fix or remove what is not.
func pendingHint(r *updates.Report, dir string) string {
	total, ready := 0, 0
	if r != nil {
		total, ready = len(r.Updates), len(r.Ready())
	}
	it := func(n int) string {
		if n == 1 {
			return "it"
		}
		return "them"
	}
	switch {
	case ready == 0:
		return fmt.Sprintf("none can be installed: fix or remove %s in %s (the report says what is wrong), or start with --ignore-updates", it(total), dir)
	case ready < total:
		others := "the other stays"
		if total-ready > 1 {
			others = fmt.Sprintf("the %d others stay", total-ready)
		}
		return fmt.Sprintf("install the %d ready with --install-updates (%s in %s), or start with --ignore-updates", ready, others, dir)
	}
	return fmt.Sprintf("install %s with --install-updates, or remove %s from %s, or start with --ignore-updates", it(total), it(total), dir)
}
