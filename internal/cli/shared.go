package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/internal/dbaddr"
	"github.com/upkeep/upkeep/jsondoc"
	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
)

// The shared-database guard: what moves a database backwards (backups
// restore with the database, db down, restoring a table export) refuses
// while other hosts used it in the last 7 days, unless --all-hosts.

func allHostsFlag() cli.Flag {
	return &cli.BoolFlag{Name: "all-hosts", Usage: "take the database back although other hosts use it (each then needs code of the schema it is taken back to)"}
}

// refuseShared returns a *packs.SharedError, with hint, when db is shared
// with hosts other than this root's and --all-hosts was not given.
func refuseShared(c *cli.Context, g *GlobalOptions, db *packs.DB, what, hint string) error {
	if c.Bool("all-hosts") {
		return nil
	}
	self, err := updates.HostID(g.Root)
	if err != nil {
		return err
	}
	err = db.RefuseShared(c.Context, self, what)
	if errors.Is(err, packs.ErrShared) {
		return withHint(err, "%s", hint)
	}
	return err
}

// openExistingDB opens the root's database for the guard; nil when it is a
// SQLite file that does not exist (no host can share it then), so that
// nothing is created before a restore.
func openExistingDB(c *cli.Context, g *GlobalOptions) (*packs.DB, error) {
	a, err := dbaddr.Parse(g.DB, g.Root.Dir)
	if err != nil {
		return nil, err
	}
	if a.Kind == dbaddr.SQLite {
		if _, err := os.Stat(a.Path); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
	}
	return packs.Open(c.Context, g.DB, g.Root.Dir)
}

// packVersion is a pack at a version and schema version, for the text
// of db status and packs list.
type packVersion struct {
	pack, version string
	schema        int
}

func (p packVersion) String() string {
	v := p.version
	if v == "" {
		v = "(version unknown)"
	}
	return fmt.Sprintf("%s %s (schema %d)", p.pack, v, p.schema)
}

func joinVersions(ps []packVersion) string {
	if len(ps) == 0 {
		return "none"
	}
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, ", ")
}

// writeHostsText writes this host's files against the database's record,
// then the other hosts that used the database.
func writeHostsText(w io.Writer, v jsondoc.HostsView, root string, files, recorded []packVersion) {
	self := "no host id yet (the first start makes one)"
	if v.Self != "" {
		self = "host id " + v.Self
		if name, err := os.Hostname(); err == nil {
			self = name + " (" + self + ")"
		}
	}
	fmt.Fprintf(w, "This host: %s, root %s\n", self, root)
	fmt.Fprintf(w, "  files:            %s\n", joinVersions(files))
	fmt.Fprintf(w, "  database records: %s\n", joinVersions(recorded))
	others := v.Others()
	if len(others) == 0 {
		fmt.Fprintln(w, "No other host has used this database.")
		return
	}
	fmt.Fprintln(w, "Other hosts that used this database:")
	for _, h := range others {
		var ps []packVersion
		for _, p := range h.Packs {
			ps = append(ps, packVersion{p.Pack, p.FilesVersion, p.CodeSchema})
		}
		old := ""
		if !h.SeenAt.After(v.Since) {
			old = " (not in the last 7 days)"
		}
		fmt.Fprintf(w, "  %s%s: %s\n", h, old, joinVersions(ps))
	}
}
