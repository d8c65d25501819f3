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
func runStart(c *cli.Context, g *GlobalOptions, mode updates.Mode, command []string) error {
	opts := g.scanOptions()
	bo := updates.Options{
		ScanOptions:   opts,
		Mode:          mode,
		LockTimeout:   g.LockTimeout,
		NoBackup:      c.Bool("no-backup"),
		DB:            g.DB,
		MigrateDB:     c.Bool("migrate-db"),
		UpkeepVersion: Version,
		Health:        c.String("health"),
		HealthTimeout: c.Duration("health-timeout"),
	}
	if bo.Health != "" && mode != updates.Install {
		return usageError("--health goes with --install-updates")
	}
	if !g.Quiet {
		bo.Progress = g.Stderr
	}
	if (mode == updates.Install || bo.MigrateDB) && bo.NoBackup {
		fmt.Fprintln(g.Stderr, "upkeep: warning: no backup is taken (--no-backup)")
	}
	if c.Bool("fetch-updates") {
		url := c.String("feed")
		if url == "" {
			return usageError("--fetch-updates needs the feed: --feed URL or UPKEEP_FEED")
		}
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
		if r != nil {
			if perr := printReport(c, g, r, mode, err == nil); perr != nil {
				return perr
			}
		}
	}
	if errors.Is(err, updates.ErrPending) {
		return withHint(err, "install them with --install-updates, or remove them from %s, or start with --ignore-updates", g.Root.Pending())
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
