package cli

import (
	"context"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/internal/stopsig"
	"github.com/upkeep/upkeep/updates"
)

// Version is upkeep's version, set at build time with
// -ldflags "-X github.com/upkeep/upkeep/internal/cli.Version=...".
var Version = "0.1.0-dev"

// Main runs upkeep with args (os.Args: the program name first) and returns
// the exit code; it prints to stdout and stderr. The root's main.go is
// os.Exit(cli.Main(os.Args, os.Stdout, os.Stderr)).
func Main(args []string, stdout, stderr io.Writer) int {
	args, command := splitCommand(args)
	if len(command) > 0 {
		// Stdout is the application's: upkeep's own lines, its report and
		// its JSON document too, go to stderr.
		stdout = stderr
	}
	out := &trackedWriter{w: stdout}
	app, release := newApp(out, stderr, command)
	defer release()
	defer stopsig.Release() // after stop: one held since the start acts now
	ctx, caught, stop := interruptible(context.Background())
	defer stop()
	err := app.RunContext(ctx, helpOfHelp(app, flagsFirst(app, args)))
	if sig := caught(); sig != 0 && err != nil {
		err = &interruptedError{sig: sig, err: err}
	}
	return report(out, stderr, err, wantsJSON(args))
}

// wantsJSON tells whether --json is among upkeep's own arguments. It is
// read before the flags are parsed, so that an error in parsing them is a
// JSON document too.
func wantsJSON(args []string) bool {
	asJSON := false
	for _, a := range args[min(1, len(args)):] {
		switch a {
		case "--json", "-json", "--json=true", "-json=true", "--json=1":
			asJSON = true
		case "--json=false", "-json=false", "--json=0":
			asJSON = false
		}
	}
	return asJSON
}

// splitCommand splits off the application command that follows the first
// "--": upkeep runs it once the start succeeds.
func splitCommand(args []string) (upkeepArgs, command []string) {
	for i, a := range args {
		if a == "--" {
			return args[:i], args[i+1:]
		}
	}
	return args, nil
}

const exitCodesHelp = `
EXIT CODES:
   0  ok, go on                      4  database updates needed or downgrade refused
   1  error                          5  locked by another process
   2  usage                          6  install failed and was rolled back
   3  updates pending (reported)     7  could not roll back: manual action needed
   127       the command after -- cannot be started
   130, 143  interrupted by SIGINT, SIGTERM: what was under way was put back or finished
`

func newApp(stdout, stderr io.Writer, command []string) (app *cli.App, release func()) {
	startFlags := append([]cli.Flag{
		&cli.BoolFlag{Name: "check-updates", Usage: "report pending updates and exit 3 when there are any (the default)"},
		&cli.BoolFlag{Name: "install-updates", Usage: "back up, then install the ready updates as one batch, then go on"},
		&cli.BoolFlag{Name: "ignore-updates", Usage: "start without looking at Updates_Pending"},
		&cli.BoolFlag{Name: "migrate-db", Usage: "apply the database migrations the packs' code needs, instead of exiting 4"},
		&cli.BoolFlag{Name: "no-backup", Usage: "install or migrate without taking a backup first (a warning says so)"},
		&cli.BoolFlag{Name: "dry-run", Usage: "with --install-updates: print what would be installed (files added, changed, removed; migrations; backup size, free space) and change nothing; exit 0, or 3 when no update is ready"},
		&cli.IntFlag{Name: "keep-backups", Value: 5, Usage: "after an install commits, keep the `N` newest install backups and remove older ones (the last install's is always kept; 0 keeps all)"},
		&cli.StringFlag{Name: "health", Usage: "with --install-updates: run `CMD` (sh -c, with UPKEEP_ROOT and UPKEEP_DB set) after the batch commits; if it fails, roll the batch back from its backup and exit 6"},
		&cli.DurationFlag{Name: "health-timeout", Value: updates.DefaultHealthTimeout, Usage: "kill the --health command after `DURATION` (like 30s or 5m; then it failed)"},
		&cli.StringFlag{Name: "dev-db", EnvVars: []string{"UPKEEP_DEV_DB"}, Usage: "an empty PostgreSQL or MySQL database (`URL`) the drift report applies each pack's schema.sql to, to compare it with the live tables (SQLite: in memory); never the production database"},
		&cli.BoolFlag{Name: "fetch-updates", Usage: "first fetch what the feed (--feed or UPKEEP_FEED) offers into Updates_Pending; a failed fetch is a warning"},
		&cli.StringFlag{Name: "feed", EnvVars: []string{"UPKEEP_FEED"}, Usage: "the feed's `URL`, for --fetch-updates"},
		&cli.StringFlag{Name: "admin-listen", Usage: "instead of exiting 3 or 4, serve the admin pages on `ADDR` (host:port) until the updates are installed or the database migrated, then go on"},
	}, tlsFlags()...)
	app = &cli.App{
		Name:  "upkeep",
		Usage: "report, check and install the update zips of a self-hosted application",
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
		Version:              Version,
		Writer:               stdout,
		ErrWriter:            stderr,
		HideHelpCommand:      true,
		EnableBashCompletion: true,
		Flags:                append(append(startFlags, globalFlags()...), cli.HelpFlag), // cli.HelpFlag: the help command below keeps urfave from adding it
		Action: anywhere(func(c *cli.Context, g *GlobalOptions) error {
			if c.Args().Present() {
				return unknownCommand(c.Args().First(), c.App.Commands, "upkeep")
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
			return runStart(c, g, mode, command)
		}),
		Commands: []*cli.Command{
			initCommand(),
			updatesCommand(),
			packCommand(),
			packsCommand(),
			dbCommand(),
			rehearseCommand(),
			backupsCommand(),
			keysCommand(),
			feedCommand(),
			historyCommand(),
			serveCommand(),
		},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return flagUsageError(c, err)
		},
		ExitErrHandler: func(*cli.Context, error) {}, // main reports errors
	}
	app.Before = func(c *cli.Context) error {
		if len(command) > 0 && c.Args().Present() {
			return usageError("-- CMD goes with the start only, not with command %q", c.Args().First())
		}
		return nil
	}
	var text func(path string) string
	app.Commands = append(app.Commands, helpCommand(func(path string) string { return text(path) }, func() []*cli.Command { return app.Commands }),
		versionCommand(), completionCommand(), manCommand(startFlags))
	for _, cmd := range app.Commands {
		addGlobalFlags(cmd)
		unknownSubcommands(cmd, "")
	}
	text, release = setHelp(app, startFlags)
	return app, release
}
