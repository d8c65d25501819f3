package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/internal/textsafe"
	"github.com/upkeep/upkeep/updates"
)

func updatesCommand() *cli.Command {
	return &cli.Command{
		Name:  "updates",
		Usage: "look at the update zips in Updates_Pending",
		Subcommands: []*cli.Command{
			{
				Name:   "list",
				Usage:  "one line per update zip: file, status, pack, installed -> new version",
				Before: before(argsNone("updates list")),
				Action: action(runUpdatesList),
			},
			{
				Name:      "show",
				Usage:     "everything known about one update zip, and what stands in its way",
				ArgsUsage: "ZIP",
				Before:    before(argOne("ZIP")),
				Action:    action(runUpdatesShow),
			},
			{
				Name:      "verify",
				Usage:     "check one update zip in full, the sha256 of every file included; exit 1 on any problem",
				ArgsUsage: "ZIP",
				Before:    before(argOne("ZIP")),
				Action:    action(runUpdatesVerify),
			},
			updatesWatchCommand(),
			{
				Name:   "prune",
				Usage:  "delete old zips from Updates_Installed: keep the newest versions of each pack",
				Flags:  []cli.Flag{&cli.IntFlag{Name: "keep", Value: 5, Usage: "keep the `N` newest versions of each pack"}},
				Before: before(updatesPruneUsage),
				Action: action(runUpdatesPrune),
			},
		},
	}
}

func runUpdatesList(c *cli.Context, g *GlobalOptions) error {
	opts := g.scanOptions()
	r, err := updates.Scan(c.Context, opts)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.Stdout, r)
	}
	if len(r.Updates) == 0 {
		if !g.Quiet {
			fmt.Fprintf(g.Stdout, "No updates pending in %s.\n", g.Root.Pending())
		}
		return nil
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tSTATUS\tPACK\tINSTALLED\tNEW")
	for _, u := range r.Updates {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", textsafe.Name(u.File), u.Status, dash(u.Pack), dash(u.InstalledVersion), dash(u.Version))
	}
	return tw.Flush()
}

func runUpdatesShow(c *cli.Context, g *GlobalOptions) error {
	zip, err := oneArg(c, "ZIP")
	if err != nil {
		return err
	}
	opts := g.scanOptions()
	u, err := updates.ScanOne(c.Context, opts, zip)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.Stdout, u)
	}
	return u.WriteText(g.Stdout)
}

func runUpdatesVerify(c *cli.Context, g *GlobalOptions) error {
	zip, err := oneArg(c, "ZIP")
	if err != nil {
		return err
	}
	opts := g.scanOptions()
	u, err := updates.Verify(c.Context, opts, zip)
	if u == nil {
		return err
	}
	if g.JSON {
		if jerr := printJSON(g.Stdout, u); jerr != nil {
			return jerr
		}
	} else if err == nil && !g.Quiet {
		m := u.Manifest()
		fmt.Fprintf(g.Stdout, "%s: ok: %s %s, %d files match their size and sha256; signature %s\n",
			zip, m.Pack, m.Version, len(m.Files), u.Signature.State)
	}
	return err
}

func updatesPruneUsage(c *cli.Context) error {
	if c.Int("keep") < 1 {
		return usageError("updates prune --keep %d: keep at least 1 zip of each pack", c.Int("keep"))
	}
	return nil
}

func runUpdatesPrune(c *cli.Context, g *GlobalOptions) error {
	root, l, err := rootLock(c, g, "updates prune")
	if err != nil {
		return err
	}
	defer l.Release()
	removed, skipped, err := updates.PruneInstalled(root, c.Int("keep"))
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.Stdout, struct {
			Removed []updates.PrunedZip `json:"removed"`
			Skipped []updates.PrunedZip `json:"skipped"`
		}{removed, skipped})
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "removed %d zip(s) from %s\n", len(removed), root.Installed())
		for _, z := range removed {
			fmt.Fprintf(g.Stdout, "  %s (%s %s)\n", z.File, z.Pack, z.Version)
		}
	}
	for _, z := range skipped {
		fmt.Fprintf(g.Stderr, "upkeep: warning: left %s alone: %s\n", z.File, z.Problem)
	}
	return nil
}
