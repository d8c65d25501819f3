package cli

import (
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/internal/stopsig"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/updates"
)

// GlobalOptions are the global flags, parsed once per run (by [action])
// from wherever they were given: before the command, after it, or in the
// environment. Every command receives them; none looks a global flag up by
// its name.
type GlobalOptions struct {
	Root        layout.Root   // --root DIR, env UPKEEP_ROOT, default "."; absolute
	DB          string        // --db URL, env UPKEEP_DB; "" is sqlite:data/app.db in the root
	JSON        bool          // --json: one JSON document on stdout, written by printJSON
	Quiet       bool          // --quiet: print only problems
	TrustedKeys []string      // --trusted-key FILE (repeatable), besides .upkeep/trusted/*.pub
	LockTimeout time.Duration // --lock-timeout DURATION

	Stdout io.Writer // the command's output: text, or the JSON document
	Stderr io.Writer // progress, warnings and errors
}

// globalFlags are accepted before or after any command.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "root", Value: ".", EnvVars: []string{"UPKEEP_ROOT"}, Usage: "the application's system `DIR`"},
		&cli.StringFlag{Name: "db", EnvVars: []string{"UPKEEP_DB"}, Usage: "the application's database `URL`: sqlite:PATH (relative to the root; default sqlite:data/app.db), postgres://... or mysql://user:pass@host:port/db"},
		&cli.BoolFlag{Name: "json", Usage: "machine-readable output"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only problems"},
		&cli.StringSliceFlag{Name: "trusted-key", Usage: "trust the minisign public key in `FILE` besides .upkeep/trusted/*.pub (repeatable)"},
		&cli.DurationFlag{Name: "lock-timeout", Value: updates.DefaultLockTimeout, Usage: "wait up to `DURATION` (like 30s or 5m) for another upkeep process, or another host's migration of a shared database, to finish, then exit 5"},
	}
}

// addGlobalFlags lets the global flags follow a command too:
// `upkeep updates list --root DIR`.
func addGlobalFlags(cmd *cli.Command) {
	for _, f := range globalFlags() {
		hide(f) // the help's GLOBAL OPTIONS block names them once
		if sf, ok := f.(*cli.StringFlag); ok {
			// The environment is read once, by the app's flag: here it
			// would count as set and beat a flag given before the
			// command (UPKEEP_ROOT=a upkeep --root b db status).
			sf.EnvVars = nil
		}
		cmd.Flags = append(cmd.Flags, f)
	}
	cmd.OnUsageError = func(c *cli.Context, err error, _ bool) error { return flagUsageError(c, err) }
	for _, sub := range cmd.Subcommands {
		addGlobalFlags(sub)
	}
}

// hide hides a flag from generated documentation (the man page, fish's
// completion), where the app lists it already.
func hide(f cli.Flag) {
	switch f := f.(type) {
	case *cli.StringFlag:
		f.Hidden = true
	case *cli.BoolFlag:
		f.Hidden = true
	case *cli.StringSliceFlag:
		f.Hidden = true
	case *cli.DurationFlag:
		f.Hidden = true
	}
}

// action adapts a command's run function to urfave/cli: it parses the
// global flags once, checks that --root is a root and that the database is
// not a missing SQLite file while packs are installed (see checkRoot), and
// hands them over.
//
//	Action: action(runUpdatesList)
//	func runUpdatesList(c *cli.Context, g *GlobalOptions) error
func action(run func(c *cli.Context, g *GlobalOptions) error) cli.ActionFunc {
	return withGlobals(needRoot|needDB, run)
}

// needs says what a command requires before it runs.
type needs int

const (
	needRoot needs = 1 << iota // --root is a root (layout.Root.Check)
	needDB                     // the database is there when packs are installed
)

// withGlobals is action with its checks chosen: rootAction for commands
// that read only the root's files (the backups, which must work when the
// database is lost), anywhere for commands that work on other folders
// (init, pack, feed build, keys generate, db generate).
func withGlobals(n needs, run func(c *cli.Context, g *GlobalOptions) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		stopsig.Release() // Main's interruptible context takes the signals over
		return checked(n, run)(c)
	}
}

// stoppable is [action] for a command that stops cleanly on SIGINT and
// SIGTERM by itself, with [signalContext]: it keeps holding them meanwhile.
func stoppable(run func(c *cli.Context, g *GlobalOptions) error) cli.ActionFunc {
	return checked(needRoot|needDB, run)
}

// checked parses the global flags, makes the checks n asks for, and runs.
func checked(n needs, run func(c *cli.Context, g *GlobalOptions) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		g, err := parseGlobals(c)
		if err != nil {
			return err
		}
		if n&needRoot != 0 {
			if err := checkRoot(g, n&needDB != 0); err != nil {
				return err
			}
		}
		return run(c, g)
	}
}

// rootAction is action for commands that need the root but not the
// database.
func rootAction(run func(c *cli.Context, g *GlobalOptions) error) cli.ActionFunc {
	return withGlobals(needRoot, run)
}

// anywhere is action for commands that need no root.
func anywhere(run func(c *cli.Context, g *GlobalOptions) error) cli.ActionFunc {
	return withGlobals(0, run)
}

// parseGlobals reads the global flags from the nearest context (command,
// then its parents, then the app) that sets each; the innermost wins, and
// --trusted-key collects every one given.
func parseGlobals(c *cli.Context) (*GlobalOptions, error) {
	root, err := layout.Open(setIn(c, "root").String("root"))
	if err != nil {
		return nil, err
	}
	g := &GlobalOptions{
		Root:        root,
		DB:          setIn(c, "db").String("db"),
		JSON:        setIn(c, "json").Bool("json"),
		Quiet:       setIn(c, "quiet").Bool("quiet"),
		LockTimeout: setIn(c, "lock-timeout").Duration("lock-timeout"),
		Stdout:      c.App.Writer,
		Stderr:      c.App.ErrWriter,
	}
	for _, lc := range c.Lineage() {
		if lc.IsSet("trusted-key") {
			g.TrustedKeys = append(g.TrustedKeys, lc.StringSlice("trusted-key")...)
		}
	}
	return g, nil
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

// scanOptions are the options of updates.Scan and its kin.
func (g *GlobalOptions) scanOptions() updates.ScanOptions {
	return updates.ScanOptions{Root: g.Root.Dir, TrustedKeys: g.TrustedKeys}
}
