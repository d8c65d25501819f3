package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

func packsCommand() *cli.Command {
	return &cli.Command{
		Name:  "packs",
		Usage: "the installed packs",
		Subcommands: []*cli.Command{{
			Name:   "list",
			Usage:  "each installed pack: version, title, schema version of its code and of the database",
			Action: runPacksList,
		}},
	}
}

func runPacksList(c *cli.Context) error {
	root, err := layout.Open(globalString(c, "root"))
	if err != nil {
		return err
	}
	installed, err := packs.List(root.Packs())
	if err != nil {
		return err
	}
	// The database's side, when there is a database.
	dbVersion := map[string]int{}
	if code, err := packs.LoadPacks(root.Dir); err == nil {
		if db, err := packs.Open(c.Context, globalString(c, "db"), root.Dir); err == nil {
			defer db.Close()
			if st, err := db.Status(c.Context, code); err == nil {
				for _, p := range st.Packs {
					dbVersion[p.Pack] = p.Database
				}
			}
		}
	}
	type row struct {
		Pack, Version, Title string
		Code, Database       int
	}
	var rows []row
	for _, p := range installed {
		rows = append(rows, row{p.Name, p.Manifest.Version, p.Manifest.Title, p.Manifest.SchemaVersion(), dbVersion[p.Name]})
	}
	if globalBool(c, "json") {
		return writeJSON(c.App.Writer, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(c.App.Writer, "No pack is installed in %s.\n", root.Packs())
		return nil
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PACK\tVERSION\tTITLE\tSCHEMA (CODE)\tSCHEMA (DATABASE)")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", r.Pack, r.Version, dash(r.Title), r.Code, r.Database)
	}
	return tw.Flush()
}
