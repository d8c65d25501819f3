package cli

import (
	"bufio"
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
func runStart(c *cli.Context, mode updates.Mode, command []string) error {
	opts, err := scanOptions(c)
	if err != nil {
		return err
	}
	bo := updates.Options{
		ScanOptions:   opts,
		Mode:          mode,
		LockTimeout:   globalDuration(c, "lock-timeout"),
		NoBackup:      c.Bool("no-backup"),
		DB:            globalString(c, "db"),
		MigrateDB:     c.Bool("migrate-db"),
		DryRun:        c.Bool("dry-run"),
		KeepBackups:   c.Int("keep-backups"),
		UpkeepVersion: Version,
	}
	if bo.DryRun && mode != updates.Install {
		return usageError("--dry-run goes with --install-updates")
	}
	if bo.KeepBackups < 0 {
		return usageError("--keep-backups %d: give a number of backups to keep, or 0 to keep all", bo.KeepBackups)
	}
	if !globalBool(c, "quiet") {
		bo.Progress = c.App.ErrWriter
	}
	if (mode == updates.Install || bo.MigrateDB) && bo.NoBackup {
		fmt.Fprintln(c.App.ErrWriter, "upkeep: warning: no backup is taken (--no-backup)")
	}
	r, err := updates.Bootstrap(c.Context, bo)
	if r != nil {
		if perr := printReport(c, r, mode, err == nil); perr != nil {
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
		fmt.Fprintf(c.App.ErrWriter, "upkeep: %v; serving the admin pages until that is dealt with\n", err)
		ctx, stop := signalContext(c)
		defer stop()
		opts, aerr := adminOptions(c, bo)
		if aerr != nil {
			return aerr
		}
		r, err = admin.Limited(ctx, opts, serveOptions(c, addr))
		if r != nil {
			if perr := printReport(c, r, mode, err == nil); perr != nil {
				return perr
			}
		}
	}
	if errors.Is(err, updates.ErrPending) {
		return withHint(err, "%s", pendingHint(r, rootOf(opts).Pending()))
	}
	var manual *updates.ManualError
	if errors.As(err, &manual) {
		return withHint(err, "%s", manual.Hint())
	}
	if err != nil {
		return err
	}
	if len(command) == 0 {
		return nil
	}
	return execCommand(command)
}

// printReport writes r as JSON with --json, else as text; a report that
// lets the start go on is left out with --quiet. With --ignore-updates only
// a recovery is reported.
func printReport(c *cli.Context, r *updates.Report, mode updates.Mode, goOn bool) error {
	if goOn && globalBool(c, "quiet") && !globalBool(c, "json") {
		return nil
	}
	if mode == updates.Ignore && !globalBool(c, "json") {
		if r.Recovery != nil {
			fmt.Fprintf(c.App.Writer, "upkeep %s.\n", r.Recovery)
		}
		return nil
	}
	w := bufio.NewWriter(c.App.Writer)
	var err error
	if globalBool(c, "json") {
		err = writeJSON(w, r)
	} else {
		err = r.WriteText(w)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}

// execCommand replaces upkeep with the application.
func execCommand(command []string) error {
	path, err := exec.LookPath(command[0])
	if err != nil {
		return fmt.Errorf("start %s: %w", command[0], err)
	}
	if err := syscall.Exec(path, command, os.Environ()); err != nil {
		return fmt.Errorf("start %s: %w", path, err)
	}
	return nil
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
