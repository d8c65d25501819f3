package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/packs"
)

func packsCommand() *cli.Command {
	return &cli.Command{
		Name:  "packs",
		Usage: "the installed packs",
		Subcommands: []*cli.Command{{
			Name:   "list",
			Usage:  "each installed pack: version, title, schema version of its code and of the database",
			Action: action(runPacksList),
		}},
	}
}

func runPacksList(c *cli.Context, g *GlobalOptions) error {
	root := g.Root
	installed, err := packs.List(root.Packs())
	if err != nil {
		return err
	}
	// The database's side, when there is a database.
	dbVersion := map[string]int{}
	if code, err := packs.LoadPacks(root.Dir); err == nil {
		if db, err := packs.OpenReadOnly(c.Context, g.DB, root.Dir); err == nil {
			defer db.Close()
			if st, err := db.Status(c.Context, code); err == nil {
				for _, p := range st.Packs {
					dbVersion[p.Pack] = p.Database
				}
			}
		}
	}
	type row struct {
		Pack     string `json:"pack"`
		Version  string `json:"version"`
		Title    string `json:"title"`
		Code     int    `json:"code"`     // schema version of the pack's code
		Database int    `json:"database"` // schema version in the database (0: none)
	}
	var rows []row
	for _, p := range installed {
		rows = append(rows, row{p.Name, p.Manifest.Version, p.Manifest.Title, p.Manifest.SchemaVersion(), dbVersion[p.Name]})
	}
	if g.JSON {
		return printJSON(g.Stdout, struct {
			Packs []row `json:"packs"`
		}{rows})
	}
	if len(rows) == 0 {
		fmt.Fprintf(g.Stdout, "No pack is installed in %s.\n", root.Packs())
		return nil
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PACK\tVERSION\tTITLE\tSCHEMA (CODE)\tSCHEMA (DATABASE)")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", r.Pack, r.Version, dash(r.Title), r.Code, r.Database)
	}
	return tw.Flush()
}
