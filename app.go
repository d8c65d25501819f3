package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/internal/layout"
	"github.com/upkeep/upkeep/updates"
)

// globalFlags are accepted before or after any command.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "root", Value: ".", EnvVars: []string{"UPKEEP_ROOT"}, Usage: "the application's system `DIR`"},
		&cli.StringFlag{Name: "db", EnvVars: []string{"UPKEEP_DB"}, Usage: "the application's database: sqlite:PATH (relative to the root; default sqlite:data/app.db), postgres://... or mysql://user:pass@host:port/db"},
		&cli.BoolFlag{Name: "json", Usage: "machine-readable output"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only problems"},
		&cli.StringSliceFlag{Name: "trusted-key", Usage: "trust the minisign public key in `FILE` besides .upkeep/trusted/*.pub (repeatable)"},
		&cli.DurationFlag{Name: "lock-timeout", Value: updates.DefaultLockTimeout, Usage: "wait this long for another upkeep process to finish, then exit 5"},
	}
}

const exitCodesHelp = `EXIT CODES:
   0  ok, go on                      4  database updates needed or downgrade refused
   1  error                          5  locked by another process
   2  usage                          6  install failed and was rolled back
   3  updates pending (reported)     7  could not roll back: manual action needed
`

func newApp(stdout, stderr io.Writer, command []string) *cli.App {
	app := &cli.App{
		Name:      "upkeep",
		Usage:     "report, check and install the update zips of a self-hosted application",
		UsageText: "upkeep [--check-updates|--install-updates|--ignore-updates] [--no-backup] [global options] [-- CMD ARGS...]\nupkeep [global options] COMMAND [options] [arguments...]",
		Description: "At the application's start, upkeep scans ROOT/Updates_Pending and, by mode:\n" +
			"  --check-updates (the default) reports every pending update zip and exits 3,\n" +
			"    or goes on when there is none;\n" +
			"  --install-updates backs up, installs the ready updates as one batch, moves\n" +
			"    their zips to Updates_Installed, and goes on; on any failure it puts\n" +
			"    everything back as it was and exits 6;\n" +
			"  --ignore-updates goes on without looking.\n" +
			"Every start first finishes or undoes an install that was interrupted, and\n" +
			"last checks each pack's schema version in the database: behind its code,\n" +
			"it exits 4 unless --migrate-db is given; ahead of its code, it exits 4.\n" +
			"Going on means: exec CMD ARGS when given after --, else exit 0.",
		Version:         Version,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "check-updates", Usage: "report pending updates and exit 3 when there are any (the default)"},
			&cli.BoolFlag{Name: "install-updates", Usage: "back up, then install the ready updates as one batch, then go on"},
			&cli.BoolFlag{Name: "ignore-updates", Usage: "start without looking at Updates_Pending"},
			&cli.BoolFlag{Name: "no-backup", Usage: "install or migrate without taking a backup first (a warning says so)"},
			&cli.BoolFlag{Name: "migrate-db", Usage: "apply the database migrations the packs' code needs, instead of exiting 4"},
		}, globalFlags()...),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError("unknown command %q", c.Args().First())
			}
			mode, n := updates.Check, 0
			for flag, m := range map[string]updates.Mode{"check-updates": updates.Check, "install-updates": updates.Install, "ignore-updates": updates.Ignore} {
				if c.Bool(flag) {
					mode, n = m, n+1
				}
			}
			if n > 1 {
				return usageError("--check-updates, --install-updates and --ignore-updates exclude each other")
			}
			return runStart(c, mode, command)
		},
		Commands: []*cli.Command{
			updatesCommand(),
			packCommand(),
			packsCommand(),
			dbCommand(),
			backupsCommand(),
			keysCommand(),
		},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError("%v", err)
		},
		ExitErrHandler: func(*cli.Context, error) {}, // main reports errors
	}
	cli.AppHelpTemplate = cli.AppHelpTemplate + exitCodesHelp
	app.Before = func(c *cli.Context) error {
		if len(command) > 0 && c.Args().Present() {
			return usageError("-- CMD goes with the start only, not with command %q", c.Args().First())
		}
		return nil
	}
	for _, cmd := range app.Commands {
		addGlobalFlags(cmd)
	}
	return app
}

// addGlobalFlags lets the global flags follow a command too:
// `upkeep updates list --root DIR`.
func addGlobalFlags(cmd *cli.Command) {
	cmd.Flags = append(cmd.Flags, globalFlags()...)
	cmd.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return usageError("%v", err) }
	for _, sub := range cmd.Subcommands {
		addGlobalFlags(sub)
	}
}

// setIn returns the nearest context in which the global flag name was set,
// or c when it was set nowhere.
func setIn(c *cli.Context, name string) *cli.Context {
	for _, lc := range c.Lineage() {
		if lc.Command != nil || lc.App != nil {
			if lc.IsSet(name) {
				return lc
			}
		}
	}
	return c
}

func globalString(c *cli.Context, name string) string { return setIn(c, name).String(name) }
func globalBool(c *cli.Context, name string) bool     { return setIn(c, name).Bool(name) }

func globalDuration(c *cli.Context, name string) time.Duration {
	return setIn(c, name).Duration(name)
}

func globalStrings(c *cli.Context, name string) []string {
	var out []string
	for _, lc := range c.Lineage() {
		if lc.IsSet(name) {
			out = append(out, lc.StringSlice(name)...)
		}
	}
	return out
}

func scanOptions(c *cli.Context) (updates.ScanOptions, error) {
	root, err := layout.Open(globalString(c, "root"))
	if err != nil {
		return updates.ScanOptions{}, err
	}
	return updates.ScanOptions{Root: root.Dir, TrustedKeys: globalStrings(c, "trusted-key")}, nil
}

// rootOf is the root the options name.
func rootOf(opts updates.ScanOptions) layout.Root { return layout.Root{Dir: opts.Root} }

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
		UpkeepVersion: Version,
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
	if errors.Is(err, updates.ErrPending) {
		return withHint(err, "install them with --install-updates, or remove them from %s, or start with --ignore-updates", rootOf(opts).Pending())
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

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
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
