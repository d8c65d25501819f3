package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/internal/lock"
	"github.com/upkeep/upkeep/jsondoc"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

func dbCommand() *cli.Command {
	packFlag := &cli.StringFlag{Name: "pack", Usage: "the `PACK`"}
	return &cli.Command{
		Name:  "db",
		Usage: "each pack's database schema: status, history, migrations up and down, drift",
		Subcommands: []*cli.Command{
			{
				Name:   "status",
				Usage:  "per pack: the schema version its code expects, the database's, pending migrations, drift",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "exit-code", Usage: "exit 4 when any pack's database is behind or ahead of its code, has a changed migration, or drifted"}},
				Action: action(runDBStatus),
			},
			{
				Name:   "history",
				Usage:  "applied and reverted migrations, newest first",
				Flags:  []cli.Flag{&cli.IntFlag{Name: "limit", Value: 50, Usage: "show at most `N` (0: all)"}},
				Action: action(runDBHistory),
			},
			{
				Name:  "up",
				Usage: "apply pending migrations (all packs, or one up to a version); the packs' tables are exported first",
				Flags: []cli.Flag{
					packFlag,
					&cli.IntFlag{Name: "to", Usage: "stop at schema `VERSION` (with --pack)"},
					&cli.BoolFlag{Name: "no-backup", Usage: "skip the export of the packs' tables"},
				},
				Before: before(dbUpUsage),
				Action: action(runDBUp),
			},
			{
				Name:      "down",
				Usage:     "revert a pack's migrations down to a version, with its .down.sql files",
				UsageText: "upkeep db down --pack PACK --to VERSION [--no-backup] [--all-hosts]",
				Flags: []cli.Flag{
					packFlag,
					&cli.IntFlag{Name: "to", Value: -1, Usage: "go back to schema `VERSION` (required)"},
					&cli.BoolFlag{Name: "no-backup", Usage: "skip the export of the pack's tables"},
					allHostsFlag(),
				},
				Before: before(dbDownUsage),
				Action: action(runDBDown),
			},
			{
				Name:   "verify",
				Usage:  "applied migrations whose files changed, and tables that drifted from their record; exit 4 on any",
				Action: action(runDBVerify),
			},
			{
				Name:  "accept",
				Usage: "accept the changed file of an applied migration (--version: record its new sha256), or a table's live schema (--table: record it, ending its drift)",
				Flags: []cli.Flag{packFlag, &cli.IntFlag{Name: "version", Usage: "the migration's `VERSION`"},
					&cli.StringFlag{Name: "table", Usage: "the drifted `TABLE`"}},
				Before: before(dbAcceptUsage),
				Action: action(runDBAccept),
			},
			{
				Name:   "baseline",
				Usage:  "adopt an existing database: record a pack (installed, or pending in Updates_Pending) at a schema version without running migrations",
				Flags:  []cli.Flag{packFlag, &cli.IntFlag{Name: "version", Usage: "the schema `VERSION` the database is at (-1: nothing applied, for a pack with a migration 0)"}},
				Before: before(dbBaselineUsage),
				Action: action(runDBBaseline),
			},
			dbGenerateCommand(),
			dbDiffCommand(),
			dbAdoptCommand(packFlag),
		},
	}
}

// dbSession is what the db commands work with: the root, the database and
// the installed packs.
type dbSession struct {
	root  layout.Root
	db    *packs.DB
	packs []packs.Pack
	lock  *lock.Lock
}

// openDB opens the root's database and reads its installed packs. Commands
// that change the database (changes says how) hold the root's lock too, so
// that no install runs meanwhile; the others open it read-only.
func openDB(c *cli.Context, g *GlobalOptions, changes string) (*dbSession, error) {
	root := g.Root
	s := &dbSession{root: root}
	var err error
	if changes != "" {
		if _, s.lock, err = rootLock(c, g, changes); err != nil {
			return nil, err
		}
	}
	if changes == "" {
		// A command that only looks changes nothing: the database is
		// opened read-only, and meanwhile the packs are read (opening
		// reads the database's schema, reading the packs opens their
		// files: the two overlap on two cores). A pack that cannot be read
		// is still the error reported first.
		type opened struct {
			db  *packs.DB
			err error
		}
		ch := make(chan opened, 1)
		go func() {
			db, err := packs.OpenReadOnly(c.Context, g.DB, root.Dir)
			ch <- opened{db, err}
		}()
		s.packs, err = packs.LoadPacks(root.Dir)
		o := <-ch
		s.db = o.db
		if err == nil {
			err = o.err
		}
		if err != nil {
			s.close()
			return nil, err
		}
		return s, nil
	}
	if s.packs, err = packs.LoadPacks(root.Dir); err != nil {
		s.close()
		return nil, err
	}
	if s.db, err = packs.Open(c.Context, g.DB, root.Dir); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *dbSession) close() {
	if s.db != nil {
		s.db.Close()
	}
	s.lock.Release()
}

func runDBStatus(c *cli.Context, g *GlobalOptions) error {
	s, err := openDB(c, g, "")
	if err != nil {
		return err
	}
	defer s.close()
	st, err := s.db.Status(c.Context, s.packs)
	if err != nil {
		return err
	}
	drift, err := s.db.Drift(c.Context)
	if err != nil {
		return err
	}
	hosts, err := jsondoc.ReadHosts(c.Context, s.db, g.Root)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.Stdout, jsondoc.NewDBStatus(s.db, st, drift).SetHosts(hosts))
	}
	driftOf := map[string]int{}
	for _, d := range drift {
		driftOf[d.Pack]++
	}
	fmt.Fprintf(g.Stdout, "Database: %s (%s)\n", s.db, s.db.Backend())
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PACK\tCODE\tDATABASE\tSTATE\tPENDING")
	for _, p := range st.Packs {
		state := "up to date"
		switch {
		case p.Database > p.Code:
			state = "DOWNGRADE"
		case len(p.Changed) > 0:
			state = "CHANGED MIGRATION"
		case p.Database < p.Code:
			state = "behind"
		}
		if n := driftOf[p.Pack]; n > 0 {
			state += fmt.Sprintf(", %d drift", n)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", p.Pack, p.Code, p.Database, state, dash(strings.Join(p.Pending, ", ")))
	}
	tw.Flush()
	var files, recorded []packVersion
	for _, p := range st.Packs {
		files = append(files, packVersion{p.Pack, p.FilesVersion, p.Code})
		if p.Known {
			recorded = append(recorded, packVersion{p.Pack, p.Version, p.Database})
		}
	}
	writeHostsText(g.Stdout, hosts, s.root.Dir, files, recorded)
	for _, u := range st.Unknown {
		fmt.Fprintf(g.Stdout, "The database has schema records of pack %s, which is not installed.\n", u)
	}
	for _, err := range problems(st.Err()) {
		fmt.Fprintf(g.Stdout, "- %v\n", err)
	}
	for _, d := range drift {
		fmt.Fprintf(g.Stdout, "- drift: %s\n", d.Line())
	}
	if c.Bool("exit-code") {
		if err := st.Err(); err != nil {
			return err
		}
		if len(drift) > 0 {
			return driftError(drift)
		}
	}
	return nil
}

// driftError names the drifted tables, with the commands that end it.
func driftError(drift []packs.DriftItem) error {
	var tables []string
	first := drift[0]
	for _, d := range drift {
		t := d.Pack + ": " + d.Table
		if !slices.Contains(tables, t) {
			tables = append(tables, t)
		}
	}
	err := fmt.Errorf("%d table(s) drifted from their recorded schema (%s): %w", len(tables), strings.Join(tables, ", "), packs.ErrDrift)
	return withHint(err, "if the change was made on purpose, record it: upkeep db accept --pack %s --table %s; else undo it, or restore the last export of the pack's tables", first.Pack, first.Table)
}

func runDBHistory(c *cli.Context, g *GlobalOptions) error {
	s, err := openDB(c, g, "")
	if err != nil {
		return err
	}
	defer s.close()
	hist, err := s.db.History(c.Context, c.Int("limit"))
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.Stdout, jsondoc.NewDBHistory(hist))
	}
	if len(hist) == 0 {
		fmt.Fprintln(g.Stdout, "No migration has run on this database.")
		return nil
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN (UTC)\tPACK\tVERSION\tDIRECTION\tNAME\tDURATION")
	for _, h := range hist {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", h.AppliedAt.UTC().Format(time.DateTime), h.Pack, h.Version, h.Direction, h.Name, h.Duration.Round(time.Microsecond))
	}
	return tw.Flush()
}

func dbUpUsage(c *cli.Context) error {
	if c.IsSet("to") && c.String("pack") == "" {
		return usageError("db up --to needs --pack")
	}
	return nil
}

func runDBUp(c *cli.Context, g *GlobalOptions) error {
	s, err := openDB(c, g, "db up")
	if err != nil {
		return err
	}
	defer s.close()
	res, err := s.db.Up(c.Context, packs.UpOptions{
		Packs: s.packs, Pack: c.String("pack"), To: c.Int("to"),
		Tables: tablesStore(c, g, s), LockTimeout: g.LockTimeout,
	})
	return reportRun(c, g, "applied", res, err)
}

func dbDownUsage(c *cli.Context) error {
	if c.String("pack") == "" || !c.IsSet("to") || c.Int("to") < -1 {
		return usageError("db down needs --pack PACK and --to VERSION")
	}
	return nil
}

func runDBDown(c *cli.Context, g *GlobalOptions) error {
	s, err := openDB(c, g, "db down")
	if err != nil {
		return err
	}
	defer s.close()
	err = refuseShared(c, g, s.db, fmt.Sprintf("db down --pack %s --to %d", c.String("pack"), c.Int("to")),
		"take the database back for every host with --all-hosts (each other host then needs code of that schema version)")
	if err != nil {
		return err
	}
	res, err := s.db.Down(c.Context, packs.DownOptions{
		Packs: s.packs, Pack: c.String("pack"), To: c.Int("to"),
		Tables: tablesStore(c, g, s), LockTimeout: g.LockTimeout,
	})
	return reportRun(c, g, "reverted", res, err)
}

// reportRun prints what a migration run did, also when it failed part way.
func reportRun(c *cli.Context, g *GlobalOptions, did string, res *packs.Result, err error) error {
	if res != nil && !g.Quiet {
		if g.JSON {
			if jerr := printJSON(g.Stdout, jsondoc.NewRun(res)); jerr != nil {
				return jerr
			}
		} else {
			if res.Export != "" {
				fmt.Fprintf(g.Stdout, "Exported the packs' tables to backup %s.\n", res.Export)
			}
			for _, a := range res.Applied {
				fmt.Fprintf(g.Stdout, "%s %s %d_%s (%s)\n", did, a.Pack, a.Version, a.Name, a.Duration.Round(time.Microsecond))
			}
			if len(res.Applied) == 0 && err == nil {
				fmt.Fprintln(g.Stdout, "Nothing to do: every pack's database is at the version asked.")
			}
		}
	}
	var me *packs.MigrationError
	if err != nil && errors.As(err, &me) && res != nil && res.Export != "" {
		return withHint(err, "fix the file and run the same command again to resume, or put the tables back as they were: upkeep backups restore %s", res.Export)
	}
	return err
}

func runDBVerify(c *cli.Context, g *GlobalOptions) error {
	s, err := openDB(c, g, "")
	if err != nil {
		return err
	}
	defer s.close()
	v, err := s.db.Verify(c.Context, s.packs)
	if err != nil {
		return err
	}
	if g.JSON {
		if err := printJSON(g.Stdout, jsondoc.Verify{OK: v.OK(), Changed: jsondoc.NewChanged(v.Changed), Drift: jsondoc.NewDrift(v.Drift)}); err != nil {
			return err
		}
	} else {
		for _, ch := range v.Changed {
			fmt.Fprintf(g.Stdout, "- %v\n", ch)
		}
		for _, d := range v.Drift {
			fmt.Fprintf(g.Stdout, "- drift: %s\n", d.Line())
		}
	}
	switch {
	case len(v.Changed) > 0:
		return withHint(v.Changed[0], "put the file back as it was, or accept the change: upkeep db accept --pack %s --version %d", v.Changed[0].Pack, v.Changed[0].Version)
	case len(v.Drift) > 0:
		return driftError(v.Drift)
	}
	if !g.Quiet && !g.JSON {
		fmt.Fprintln(g.Stdout, "ok: every applied migration is as it ran, and every table is as recorded")
	}
	return nil
}

func dbAcceptUsage(c *cli.Context) error {
	if c.String("pack") == "" || c.IsSet("version") == c.IsSet("table") {
		return usageError("db accept needs --pack PACK and either --version VERSION or --table TABLE")
	}
	return nil
}

func runDBAccept(c *cli.Context, g *GlobalOptions) error {
	s, err := openDB(c, g, "db accept")
	if err != nil {
		return err
	}
	defer s.close()
	if t := c.String("table"); t != "" {
		if err := s.db.AcceptTable(c.Context, c.String("pack"), t); err != nil {
			return err
		}
		if g.JSON {
			return printJSON(g.Stdout, jsondoc.Accepted{Pack: c.String("pack"), Table: t})
		}
		if !g.Quiet {
			fmt.Fprintf(g.Stdout, "recorded the live schema of table %s as pack %s's\n", t, c.String("pack"))
		}
		return nil
	}
	if err := s.db.AcceptChanged(c.Context, s.packs, c.String("pack"), c.Int("version")); err != nil {
		return err
	}
	if g.JSON {
		v := c.Int("version")
		return printJSON(g.Stdout, jsondoc.Accepted{Pack: c.String("pack"), Version: &v})
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "accepted the new file of %s migration %d\n", c.String("pack"), c.Int("version"))
	}
	return nil
}

func dbBaselineUsage(c *cli.Context) error {
	if c.String("pack") == "" || !c.IsSet("version") || c.Int("version") < -1 {
		return usageError("db baseline needs --pack PACK and --version VERSION")
	}
	return nil
}

func runDBBaseline(c *cli.Context, g *GlobalOptions) error {
	s, err := openDB(c, g, "db baseline")
	if err != nil {
		return err
	}
	defer s.close()
	code, err := s.withPending(c, g, c.String("pack"))
	if err != nil {
		return err
	}
	err = s.db.Baseline(c.Context, packs.BaselineOptions{Packs: code, Pack: c.String("pack"), Version: c.Int("version"), LockTimeout: g.LockTimeout})
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.Stdout, jsondoc.Baselined{Pack: c.String("pack"), SchemaVersion: c.Int("version")})
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "recorded pack %s at schema version %d; no migration ran\n", c.String("pack"), c.Int("version"))
	}
	return nil
}

// problems splits a joined error into its parts.
func problems(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// tablesStore is where db up and db down keep the export of the packs'
// tables taken before a run: a backup of kind tables in Updates_Backups;
// nil with --no-backup.
func tablesStore(c *cli.Context, g *GlobalOptions, s *dbSession) packs.TableStore {
	if c.Bool("no-backup") {
		return nil
	}
	return backupstore.Tables{Root: s.root, DB: g.DB, UpkeepVersion: Version}
}
