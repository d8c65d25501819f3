package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
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

// historyBatch is one batch in `upkeep history --json`.
type historyBatch struct {
	ID         string            `json:"id"`
	Host       string            `json:"host"`
	Hostname   string            `json:"hostname"`
	ThisHost   bool              `json:"this_host"`
	Started    time.Time         `json:"started"`
	Committed  *time.Time        `json:"committed"`
	DurationMS int64             `json:"duration_ms"`
	Outcome    string            `json:"outcome"`
	Reason     string            `json:"reason"`
	Phase      string            `json:"phase"`
	Backup     string            `json:"backup"`
	Packs      []packs.BatchPack `json:"packs"`
	Zips       []string          `json:"zips"`
	Migrations []string          `json:"migrations"`
}

func runHistory(c *cli.Context, g *GlobalOptions) error {
	root := g.Root
	host, err := updates.HostID(root)
	if err != nil {
		return err
	}
	db, err := packs.OpenReadOnly(c.Context, g.DB, root.Dir)
	if err != nil {
		return err
	}
	defer db.Close()
	only := ""
	if c.Bool("this-host") {
		if host == "" {
			only = "-" // no batch yet: none matches
		} else {
			only = host
		}
	}
	bs, err := db.Batches(c.Context, only, c.Int("limit"))
	if err != nil {
		return err
	}
	if g.JSON {
		out := struct {
			Host    string         `json:"host"`
			Batches []historyBatch `json:"batches"`
		}{host, []historyBatch{}}
		for _, b := range bs {
			hb := historyBatch{ID: b.ID, Host: b.Host, Hostname: b.Hostname, ThisHost: b.Host == host, Started: b.Started.UTC(),
				DurationMS: b.Duration.Milliseconds(), Outcome: b.Outcome, Reason: b.Reason, Phase: b.Phase, Backup: b.Backup,
				Packs: b.Packs, Zips: b.Zips, Migrations: b.Migrations}
			if !b.Committed.IsZero() {
				t := b.Committed.UTC()
				hb.Committed = &t
			}
			out.Batches = append(out.Batches, hb)
		}
		return printJSON(g.Stdout, out)
	}
	w := g.Stdout
	if len(bs) == 0 {
		fmt.Fprintln(w, "No update has been installed with this database yet.")
		return nil
	}
	for i, b := range bs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		who := b.Hostname
		if b.Host == host {
			who += " (this host)"
		}
		took := "-"
		if b.Duration > 0 {
			took = b.Duration.Round(time.Millisecond).String()
		}
		fmt.Fprintf(w, "%s  batch %s on %s: %s, took %s\n", b.Started.UTC().Format(time.DateTime), b.ID, who, outcomeText(b.Outcome), took)
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

func outcomeText(o string) string {
	switch o {
	case packs.OutcomeCommitted:
		return "committed"
	case packs.OutcomeRolledBack:
		return "ROLLED BACK"
	case packs.OutcomeUndone:
		return "INTERRUPTED, undone"
	case packs.OutcomeManual:
		return "FAILED, could not roll back"
	case packs.OutcomeRunning:
		return "running (or interrupted; the next start finishes or undoes it)"
	}
	return o
}
