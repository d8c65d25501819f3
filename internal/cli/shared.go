package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/internal/dbaddr"
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

// hostDoc is a host upkeep_hosts records, in the JSON documents of db
// status and packs list (docs/json.md).
type hostDoc struct {
	HostID   string        `json:"host_id"`
	Hostname string        `json:"hostname"`
	Root     string        `json:"root"`
	ThisHost bool          `json:"this_host"` // the root the command ran on
	Recent   bool          `json:"recent"`    // seen in the last 7 days: the guard counts it
	SeenAt   time.Time     `json:"seen_at"`
	Packs    []hostPackDoc `json:"packs"`
}

type hostPackDoc struct {
	Pack              string `json:"pack"`
	FilesVersion      string `json:"files_version"`
	CodeSchemaVersion int    `json:"code_schema_version"`
}

// hostsView is who uses the database: this root's host id ("" before its
// first start) and every host upkeep_hosts records, newest first.
type hostsView struct {
	self  string
	hosts []packs.Host
	since time.Time // hosts seen after it count as sharing the database
}

// readHosts reads the hosts; it creates nothing (no host id, no table).
func readHosts(c *cli.Context, g *GlobalOptions, db *packs.DB) (hostsView, error) {
	v := hostsView{since: time.Now().Add(-packs.SharedWindow)}
	var err error
	if v.self, err = updates.HostID(g.Root); err != nil {
		return v, err
	}
	v.hosts, err = db.Hosts(c.Context)
	return v, err
}

func (v hostsView) docs() []hostDoc {
	out := []hostDoc{}
	for _, h := range v.hosts {
		d := hostDoc{HostID: h.ID, Hostname: h.Hostname, Root: h.Root, ThisHost: h.ID == v.self, Recent: h.SeenAt.After(v.since),
			SeenAt: h.SeenAt.UTC(), Packs: []hostPackDoc{}}
		for _, p := range h.Packs {
			d.Packs = append(d.Packs, hostPackDoc{p.Pack, p.FilesVersion, p.CodeSchema})
		}
		out = append(out, d)
	}
	return out
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

// writeText writes this host's files against the database's record, then
// the other hosts that use the database.
func (v hostsView) writeText(w io.Writer, root string, files, recorded []packVersion) {
	self := "no host id yet (the first start makes one)"
	if v.self != "" {
		self = "host id " + v.self
		if name, err := os.Hostname(); err == nil {
			self = name + " (" + self + ")"
		}
	}
	fmt.Fprintf(w, "This host: %s, root %s\n", self, root)
	fmt.Fprintf(w, "  files:            %s\n", joinVersions(files))
	fmt.Fprintf(w, "  database records: %s\n", joinVersions(recorded))
	var others []packs.Host
	for _, h := range v.hosts {
		if h.ID != v.self {
			others = append(others, h)
		}
	}
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
		if !h.SeenAt.After(v.since) {
			old = " (not in the last 7 days)"
		}
		fmt.Fprintf(w, "  %s%s: %s\n", h, old, joinVersions(ps))
	}
}
