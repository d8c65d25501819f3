package cli

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/updates"
)

func updatesWatchCommand() *cli.Command {
	return &cli.Command{
		Name:  "watch",
		Usage: "print one line per change in Updates_Pending until stopped (with --json, one JSON document per line)",
		Description: "Each zip is printed once as it is, then again each time its status changes:\n" +
			"incomplete while it is being copied, then ready (or what is wrong with it), or\n" +
			"gone. Names ending in .part or .tmp and dot-files are ignored.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "poll", Usage: "poll the folder instead of watching it (network file systems)"},
		},
		Before: before(argsNone("updates watch")),
		Action: stoppable(runUpdatesWatch),
	}
}

// watchLine is one line of `updates watch --json`.
type watchLine struct {
	JSONFormat int       `json:"json_format"`
	Time       time.Time `json:"time"`
	updates.FileChange
	Ready   int    `json:"ready"`   // ready updates in the folder after the change
	Pending int    `json:"pending"` // update zips in the folder after the change
	Error   string `json:"error,omitempty"`
}

func runUpdatesWatch(c *cli.Context, g *GlobalOptions) error {
	opts := g.scanOptions()
	ctx, stop := signalContext(c)
	defer stop()
	asJSON := g.JSON
	w := c.App.Writer
	first, polling := true, false
	return updates.Watch(ctx, updates.WatchOptions{ScanOptions: opts, Poll: c.Bool("poll")}, func(ch updates.Change) {
		now := time.Now().UTC().Truncate(time.Second)
		files := ch.Files
		if first && ch.Report != nil {
			for _, u := range ch.Report.Updates {
				fc := updates.FileChange{File: u.File, Status: string(u.Status), Pack: u.Pack, Version: u.Version}
				if len(u.Problems) > 0 {
					fc.Problem = u.Problems[0]
				}
				files = append(files, fc)
			}
			first = false
		}
		if ch.Polling && !polling && !asJSON {
			fmt.Fprintf(c.App.ErrWriter, "upkeep: %s\n", ch.Why)
		}
		polling = ch.Polling
		ready, pending := 0, 0
		if ch.Report != nil {
			ready, pending = len(ch.Report.Ready()), len(ch.Report.Updates)
		}
		if ch.Err != nil {
			if asJSON {
				writeJSONLine(w, watchLine{JSONFormat: 1, Time: now, Error: ch.Err.Error(), Ready: ready, Pending: pending})
			} else {
				fmt.Fprintf(c.App.ErrWriter, "upkeep: error: %v\n", ch.Err)
			}
			return
		}
		for _, f := range files {
			if asJSON {
				writeJSONLine(w, watchLine{JSONFormat: 1, Time: now, FileChange: f, Ready: ready, Pending: pending})
			} else {
				fmt.Fprintf(w, "%s %s\n", now.Format(time.RFC3339), f)
			}
		}
	})
}
