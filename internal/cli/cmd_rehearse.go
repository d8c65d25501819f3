package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
)

func rehearseCommand() *cli.Command {
	return &cli.Command{
		Name:  "rehearse",
		Usage: "install the pending batch on a copy of the root and database, run a health check there, report, discard the copy",
		Description: "The root's files are copied to .upkeep/rehearsal/root (a reflink where the file\n" +
			"system can, a copy otherwise; Updates_Backups and Updates_Installed are left out)\n" +
			"and the database snapshotted into the copy (SQLite: VACUUM INTO) or dumped and\n" +
			"loaded into --scratch-db (PostgreSQL, MySQL: an empty database, never production).\n" +
			"The pending batch is installed there by the real install, then --health CMD runs\n" +
			"with UPKEEP_ROOT, UPKEEP_DB and UPKEEP_REHEARSAL=1 pointing at the copy. The report\n" +
			"gives each step's and each migration's time, the schema before and after, and the\n" +
			"outcome. The copy is discarded, even on failure or interrupt, unless --keep; one\n" +
			"left by a killed rehearsal is removed by the next start. Production is never\n" +
			"changed. Exit 0 when the rehearsal passed, 6 when it failed.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "health", Usage: "run `CMD` (sh -c) against the copy after the batch"},
			&cli.DurationFlag{Name: "health-timeout", Value: updates.DefaultHealthTimeout, Usage: "kill the --health command after this long (then it failed)"},
			&cli.StringFlag{Name: "scratch-db", EnvVars: []string{"UPKEEP_SCRATCH_DB"}, Usage: "an empty PostgreSQL or MySQL database (`URL`) to load the copy into; never production"},
			&cli.BoolFlag{Name: "keep", Usage: "keep the copy (and the scratch database's contents) for inspection"},
		},
		Action: action(runRehearse),
	}
}

func runRehearse(c *cli.Context, g *GlobalOptions) error {
	opts := g.scanOptions()
	ctx := c.Context // ends on SIGINT or SIGTERM (interruptible)
	ro := updates.RehearseOptions{
		ScanOptions: opts, DB: g.DB, ScratchDB: c.String("scratch-db"),
		Health: c.String("health"), HealthTimeout: c.Duration("health-timeout"), Keep: c.Bool("keep"),
		LockTimeout: g.LockTimeout,
	}
	if !g.Quiet && !g.JSON {
		ro.Progress = g.Stderr
	}
	rh, err := updates.Rehearse(ctx, ro)
	if ctx.Err() != nil {
		return fmt.Errorf("%w; the rehearsal's copy was discarded, production was not changed", context.Cause(ctx))
	}
	if rh != nil && (err == nil || errors.Is(err, updates.ErrRehearsalFailed)) {
		if g.JSON {
			if werr := printJSON(g.Stdout, rh); werr != nil {
				return werr
			}
		} else {
			printRehearsal(g.Stdout, rh)
		}
	}
	if errors.Is(err, packs.ErrBadDevDB) {
		return withHint(err, "give --scratch-db the address of an empty database of the same kind that is not the application's")
	}
	return err
}

func printRehearsal(w io.Writer, rh *updates.Rehearsal) {
	verdict := "PASSED"
	if !rh.Passed {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "Rehearsal %s in %d ms (copy: %s, database: %s).\n", verdict, rh.TotalMS, rh.Root, rh.DB)
	if len(rh.Updates) == 0 {
		fmt.Fprintf(w, "No update was installed on the copy.\n")
	}
	for _, u := range rh.Updates {
		from := u.From
		if from == "" {
			from = "new pack"
		}
		fmt.Fprintf(w, "   %s: %s -> %s (%s)\n", u.Pack, from, u.To, u.Zip)
	}
	fmt.Fprintf(w, "Steps:\n")
	for _, s := range rh.Steps {
		fmt.Fprintf(w, "   %-28s %6d ms\n", s.Step, s.DurationMS)
	}
	if len(rh.Migrations) > 0 {
		fmt.Fprintf(w, "Migrations:\n")
		for _, m := range rh.Migrations {
			fmt.Fprintf(w, "   %s %d_%s %6d ms\n", m.Pack, m.Version, m.Name, m.DurationMS)
		}
	}
	fmt.Fprintf(w, "Schema before: %s\n", listOrNone(rh.SchemaBefore))
	fmt.Fprintf(w, "Schema after:  %s\n", listOrNone(rh.SchemaAfter))
	if len(rh.SchemaChanges) > 0 {
		fmt.Fprintf(w, "Schema changes:\n   %s\n", strings.Join(rh.SchemaChanges, "\n   "))
	}
	if rh.Health != nil {
		fmt.Fprintf(w, "%s (%d ms).\n", rh.Health, rh.Health.DurationMS)
	}
	if rh.Kept {
		fmt.Fprintf(w, "The copy is kept in %s (--keep); the next start or rehearsal removes it.\n", rh.Root)
	} else {
		fmt.Fprintf(w, "The copy was discarded; production was not changed.\n")
	}
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "no tables"
	}
	return "\n   " + strings.Join(s, "\n   ")
}
