package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/jsondoc"
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
	dbState := map[string]packs.PackStatus{}
	var hosts jsondoc.HostsView
	if code, err := packs.LoadPacks(root.Dir); err == nil {
		if db, err := packs.OpenReadOnly(c.Context, g.DB, root.Dir); err == nil {
			defer db.Close()
			if st, err := db.Status(c.Context, code); err == nil {
				for _, p := range st.Packs {
					dbState[p.Pack] = p
				}
			}
			if hosts, err = jsondoc.ReadHosts(c.Context, db, root); err != nil {
				return err
			}
		}
	}
	type row struct {
		Pack     string `json:"pack"`
		Version  string `json:"version"` // of this host's files
		Title    string `json:"title"`
		Code     int    `json:"code"`     // schema version of the pack's code
		Database int    `json:"database"` // schema version in the database (0: none)
		// DatabaseVersion is the version the database records ("" when
		// it records none).
		DatabaseVersion string `json:"database_version"`
	}
	rows := []row{}
	var files, recorded []packVersion
	for _, p := range installed {
		ps := dbState[p.Name]
		rows = append(rows, row{p.Name, p.Manifest.Version, p.Manifest.Title, p.Manifest.SchemaVersion(), ps.Database, ps.Version})
		files = append(files, packVersion{p.Name, p.Manifest.Version, p.Manifest.SchemaVersion()})
		if ps.Known {
			recorded = append(recorded, packVersion{p.Name, ps.Version, ps.Database})
		}
	}
	if g.JSON {
		return printJSON(g.Stdout, struct {
			Packs  []row          `json:"packs"`
			HostID string         `json:"host_id"`
			Hosts  []jsondoc.Host `json:"hosts"`
		}{rows, hosts.Self, hosts.Docs()})
	}
	if len(rows) == 0 {
		fmt.Fprintf(g.Stdout, "No pack is installed in %s.\n", root.Packs())
	} else {
		tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PACK\tVERSION\tTITLE\tSCHEMA (CODE)\tSCHEMA (DATABASE)\tDATABASE RECORDS")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", r.Pack, r.Version, dash(r.Title), r.Code, r.Database, dash(r.DatabaseVersion))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	writeHostsText(g.Stdout, hosts, root.Dir, files, recorded)
	return nil
}
