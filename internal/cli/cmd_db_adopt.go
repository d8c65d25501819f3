package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
)

func dbAdoptCommand(packFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name: "adopt",
		Usage: "take over a database that golang-migrate or goose migrated: record the pack (installed, or pending in Updates_Pending) " +
			"at the version that tool recorded, without running anything",
		Flags: []cli.Flag{packFlag,
			&cli.StringFlag{Name: "from", Usage: "the tool: golang-migrate or goose"},
			&cli.StringFlag{Name: "table", Usage: "the tool's `TABLE` (default schema_migrations for golang-migrate, goose_db_version for goose)"},
		},
		Before: before(dbAdoptUsage),
		Action: action(runDBAdopt),
	}
}

func dbAdoptUsage(c *cli.Context) error {
	if from := c.String("from"); c.String("pack") == "" || (from != packs.FromGolangMigrate && from != packs.FromGoose) {
		return usageError("db adopt needs --pack PACK and --from golang-migrate or --from goose")
	}
	return nil
}

func runDBAdopt(c *cli.Context, g *GlobalOptions) error {
	from := c.String("from")
	s, err := openDB(c, g, "db adopt")
	if err != nil {
		return err
	}
	defer s.close()
	code, err := s.withPending(c, g, c.String("pack"))
	if err != nil {
		return err
	}
	a, err := s.db.Adopt(c.Context, packs.AdoptOptions{Packs: code, Pack: c.String("pack"), From: from, Table: c.String("table"),
		LockTimeout: g.LockTimeout})
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.Stdout, struct {
			Pack    string `json:"pack"`
			From    string `json:"from"`
			Table   string `json:"table"`
			Version int    `json:"version"`
		}{a.Pack, a.From, a.Table, a.Version})
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "adopted pack %s at schema version %d, as %s recorded it in table %s; no migration ran\n", a.Pack, a.Version, a.From, a.Table)
		fmt.Fprintf(g.Stdout, "%s's table %s is left as it is; upkeep keeps its own record from now on\n", a.From, a.Table)
	}
	return nil
}

// withPending returns the installed packs, plus pack from its zip in
// Updates_Pending when it is not installed: a database can be adopted
// before the pack's first install.
func (s *dbSession) withPending(c *cli.Context, g *GlobalOptions, pack string) ([]packs.Pack, error) {
	for _, p := range s.packs {
		if p.Name == pack {
			return s.packs, nil
		}
	}
	p, err := updates.PendingPack(c.Context, g.scanOptions(), pack)
	if err != nil {
		return nil, err
	}
	return append(append([]packs.Pack(nil), s.packs...), p), nil
}
