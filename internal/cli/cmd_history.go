package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/jsondoc"
	"github.com/upkeep/upkeep/packs"
)

func historyCommand() *cli.Command {
	return &cli.Command{
		Name:  "history",
		Usage: "every install batch, newest first: when, which host, packs from -> to, zips, backup, migrations, how long, how it ended",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "limit", Value: 50, Usage: "show at most `N` batches (0: all)"},
			&cli.BoolFlag{Name: "this-host", Usage: "only the batches of this root's host"},
		},
		Action: action(runHistory),
	}
}

func runHistory(c *cli.Context, g *GlobalOptions) error {
	root := g.Root
	db, err := packs.OpenReadOnly(c.Context, g.DB, root.Dir)
	if err != nil {
		return err
	}
	defer db.Close()
	h, err := jsondoc.ReadHistory(c.Context, db, root, c.Bool("this-host"), c.Int("limit"))
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.Stdout, h)
	}
	w := g.Stdout
	if len(h.Batches) == 0 {
		fmt.Fprintln(w, "No update has been installed with this database yet.")
		return nil
	}
	for i, b := range h.Batches {
		if i > 0 {
			fmt.Fprintln(w)
		}
		who := b.Hostname
		if b.ThisHost {
			who += " (this host)"
		}
		fmt.Fprintf(w, "%s  batch %s on %s: %s, took %s\n", b.Started.Format(time.DateTime), b.ID, who, b.OutcomeText(), b.Took())
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, p := range b.Packs {
			from := p.From
			if from == "" {
				from = "new pack"
			}
			fmt.Fprintf(tw, "   %s:\t%s -> %s\n", p.Pack, from, p.To)
		}
		tw.Flush()
		fmt.Fprintf(w, "   Zips: %s\n", strings.Join(b.Zips, ", "))
		if b.Backup != "" {
			fmt.Fprintf(w, "   Backup: %s\n", b.Backup)
		} else {
			fmt.Fprintln(w, "   Backup: none (--no-backup)")
		}
		if len(b.Migrations) > 0 {
			fmt.Fprintf(w, "   Migrations: %s\n", strings.Join(b.Migrations, ", "))
		}
		if b.Reason != "" {
			fmt.Fprintf(w, "   Why: %s\n", b.Reason)
		}
	}
	return nil
}
