package cli

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/layout"
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

func globalBool(c *cli.Context, name string) bool { return setIn(c, name).Bool(name) }

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
