package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/jsondoc"
	"github.com/upkeep/upkeep/packs"
)

// devDBFlag names the empty server database the desired-schema work uses.
func devDBFlag() cli.Flag {
	return &cli.StringFlag{Name: "dev-db", EnvVars: []string{"UPKEEP_DEV_DB"},
		Usage: "an empty PostgreSQL or MySQL database (`URL`) to replay migrations and schema.sql on; default: SQLite in memory. Never the production database"}
}

func dbGenerateCommand() *cli.Command {
	return &cli.Command{
		Name:      "generate",
		Usage:     "write the next migration pair from the difference between a pack's migrations and its schema.sql",
		ArgsUsage: "DIR",
		Description: "DIR is a pack's source folder: migrations/ and schema.sql. generate replays the\n" +
			"migrations on a scratch database, applies schema.sql to another, compares them\n" +
			"(tables, columns with their type, null and default, primary keys, indexes, foreign\n" +
			"keys, checks) and writes migrations/NNNN_MESSAGE.up.sql with its inverse .down.sql.\n" +
			"With no difference it writes nothing. Dropping a table or column or narrowing a type\n" +
			"needs --allow-destructive. Views, triggers and functions in schema.sql are named and\n" +
			"left out: write their migrations by hand.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "what the migration does, its file name (required)"},
			devDBFlag(),
			&cli.BoolFlag{Name: "allow-destructive", Usage: "write a migration that drops tables or columns or narrows types"},
		},
		Action: anywhere(runDBGenerate),
	}
}

func dbDiffCommand() *cli.Command {
	return &cli.Command{
		Name:  "diff",
		Usage: "the live database against each pack's recorded schema and schema.sql, as the SQL that reconciles them",
		Description: "For each pack: the tables that drifted from the schema recorded after its last\n" +
			"migration (as db status reports them) with the SQL that puts them back, and, when\n" +
			"the installed pack ships schema.sql, the SQL that would make the live tables match\n" +
			"it. Nothing is run. On PostgreSQL and MySQL, comparing with schema.sql needs --dev-db.",
		Flags:  []cli.Flag{&cli.StringFlag{Name: "pack", Usage: "only `PACK`"}, devDBFlag()},
		Action: action(runDBDiff),
	}
}

func runDBGenerate(c *cli.Context, g *GlobalOptions) error {
	dir, err := oneArg(c, "DIR")
	if err != nil {
		return err
	}
	msg := c.String("message")
	if msg == "" {
		return usageError("db generate needs -m MESSAGE")
	}
	gen, err := packs.Generate(c.Context, packs.GenerateOptions{
		DesiredOptions:   packs.DesiredOptions{DevDB: c.String("dev-db"), Production: g.DB, Root: g.Root.Dir},
		Dir:              dir,
		Message:          msg,
		AllowDestructive: c.Bool("allow-destructive"),
	})
	if err != nil && gen == nil {
		return desiredHint(err, dir)
	}
	if g.JSON {
		if err != nil {
			return desiredHint(err, dir)
		}
		return printJSON(g.Stdout, gen)
	}
	w := g.Stdout
	printComparison(w, &gen.Comparison, "")
	if err != nil {
		return desiredHint(err, dir)
	}
	if gen.UpFile == "" {
		if !g.Quiet {
			fmt.Fprintf(w, "no difference between the migrations and %s: nothing written\n", packs.DesiredFile)
		}
		return nil
	}
	fmt.Fprintf(w, "wrote %s\nwrote %s\n", gen.UpFile, gen.DownFile)
	return nil
}

// printComparison prints the changes, hints and unhandled statements of a
// comparison, each line after indent.
func printComparison(w io.Writer, cmp *packs.Comparison, indent string) {
	for _, ch := range cmp.Changes {
		fmt.Fprintf(w, "%s%s\n", indent, ch)
	}
	printNotes(w, cmp, indent)
}

// printNotes prints the hints and unhandled statements of a comparison.
func printNotes(w io.Writer, cmp *packs.Comparison, indent string) {
	for _, h := range cmp.Hints {
		fmt.Fprintf(w, "%shint: %s\n", indent, h)
	}
	for _, u := range cmp.Unhandled {
		fmt.Fprintf(w, "%snot handled: %s\n", indent, u)
	}
}

// desiredHint adds the next step to the errors of generate and pack.
func desiredHint(err error, dir string) error {
	switch {
	case errors.Is(err, packs.ErrDestructive):
		return withHint(err, "check that no data you need is lost, then run again with --allow-destructive")
	case errors.Is(err, packs.ErrSchemaMismatch):
		return withHint(err, "write the missing migration with: upkeep db generate %s -m \"what it does\" (or fix %s)", dir, packs.DesiredFile)
	case errors.Is(err, packs.ErrBadDevDB):
		return withHint(err, "give --dev-db the address of an empty PostgreSQL or MySQL database that is not the application's")
	}
	return err
}

func runDBDiff(c *cli.Context, g *GlobalOptions) error {
	s, err := openDB(c, g, "")
	if err != nil {
		return err
	}
	defer s.close()
	installed, err := packs.List(s.root.Packs())
	if err != nil {
		return err
	}
	diffs, err := s.db.Diff(c.Context, packs.DiffOptions{Packs: installed, Pack: c.String("pack"), DevDB: c.String("dev-db")})
	if err != nil {
		return desiredHint(err, "")
	}
	if g.JSON {
		type packDoc struct {
			Pack           string             `json:"pack"`
			Drift          []jsondoc.Drift    `json:"drift"` // as db status lists it
			DriftSQL       []string           `json:"drift_sql"`
			Desired        *packs.Comparison  `json:"desired,omitempty"`
			DesiredSkipped string             `json:"desired_skipped,omitempty"`
			Differences    []packs.Difference `json:"differences"` // as the start's drift report lists them
		}
		docs := []packDoc{}
		for _, d := range diffs {
			docs = append(docs, packDoc{d.Pack, jsondoc.NewDrift(d.Drift), d.DriftSQL, d.Desired, d.DesiredSkipped, d.Differences()})
		}
		return printJSON(g.Stdout, struct {
			Backend string    `json:"backend"`
			Packs   []packDoc `json:"packs"`
		}{s.db.Backend(), docs})
	}
	w := g.Stdout
	for _, d := range diffs {
		// The lines come from PackDiff.Differences, as the start's drift
		// report does.
		var recorded, desired []string
		for _, x := range d.Differences() {
			if x.Source == packs.SourceRecorded {
				recorded = append(recorded, x.Text)
			} else {
				desired = append(desired, x.Text)
			}
		}
		fmt.Fprintf(w, "pack %s:\n", d.Pack)
		if len(recorded) == 0 {
			fmt.Fprintf(w, "  recorded schema: no drift\n")
		} else {
			fmt.Fprintf(w, "  recorded schema: %d difference(s)\n", len(recorded))
			for _, line := range recorded {
				fmt.Fprintf(w, "    %s\n", line)
			}
			fmt.Fprintf(w, "  -- SQL that puts the tables back as recorded:\n%s", sqlLines(d.DriftSQL, "  "))
		}
		switch {
		case d.DesiredSkipped != "":
			fmt.Fprintf(w, "  %s: not compared: %s\n", packs.DesiredFile, d.DesiredSkipped)
		case d.Desired == nil:
			fmt.Fprintf(w, "  %s: none shipped\n", packs.DesiredFile)
		case len(desired) == 0:
			fmt.Fprintf(w, "  %s: the live tables match it\n", packs.DesiredFile)
			printNotes(w, d.Desired, "    ")
		default:
			fmt.Fprintf(w, "  %s: %d difference(s)\n", packs.DesiredFile, len(desired))
			for _, line := range desired {
				fmt.Fprintf(w, "    %s\n", line)
			}
			printNotes(w, d.Desired, "    ")
			fmt.Fprintf(w, "  -- SQL that makes the live tables match %s:\n%s", packs.DesiredFile, sqlLines(d.Desired.Up, "  "))
		}
	}
	return nil
}

func sqlLines(stmts []string, indent string) string {
	var b strings.Builder
	for _, s := range stmts {
		b.WriteString(indent + strings.ReplaceAll(s, "\n", "\n"+indent) + ";\n")
	}
	return b.String()
}
