package jsondoc

import (
	"context"
	"time"

	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
)

// Host is a host the database's upkeep_hosts records, in the documents of
// db status (GET /api/status) and packs list.
type Host struct {
	HostID   string     `json:"host_id"`
	Hostname string     `json:"hostname"`
	Root     string     `json:"root"`
	ThisHost bool       `json:"this_host"` // the root the document was made on
	Recent   bool       `json:"recent"`    // seen in the last 7 days: the shared-database guard counts it
	SeenAt   time.Time  `json:"seen_at"`
	Packs    []HostPack `json:"packs"`
}

// HostPack is one pack a [Host] runs.
type HostPack struct {
	Pack              string `json:"pack"`
	FilesVersion      string `json:"files_version"`
	CodeSchemaVersion int    `json:"code_schema_version"`
}

// HostsView is who uses the database: this root's host id ("" before its
// first start) and every host upkeep_hosts records, newest first.
type HostsView struct {
	Self  string
	Hosts []packs.Host
	Since time.Time // hosts seen after it count as sharing the database
}

// ReadHosts reads the hosts of db as root sees them; it creates nothing
// (no host id, no table).
func ReadHosts(ctx context.Context, db *packs.DB, root layout.Root) (HostsView, error) {
	v := HostsView{Since: time.Now().Add(-packs.SharedWindow)}
	var err error
	if v.Self, err = updates.HostID(root); err != nil {
		return v, err
	}
	v.Hosts, err = db.Hosts(ctx)
	return v, err
}

// Others are the hosts other than this one.
func (v HostsView) Others() []packs.Host {
	var out []packs.Host
	for _, h := range v.Hosts {
		if h.ID != v.Self {
			out = append(out, h)
		}
	}
	return out
}

// Docs are the hosts as documents.
func (v HostsView) Docs() []Host {
	out := []Host{}
	for _, h := range v.Hosts {
		d := Host{HostID: h.ID, Hostname: h.Hostname, Root: h.Root, ThisHost: h.ID == v.Self, Recent: h.SeenAt.After(v.Since),
			SeenAt: h.SeenAt.UTC(), Packs: []HostPack{}}
		for _, p := range h.Packs {
			d.Packs = append(d.Packs, HostPack{p.Pack, p.FilesVersion, p.CodeSchema})
		}
		out = append(out, d)
	}
	return out
}

// SetHosts puts v into d: this root's host id and the hosts.
func (d *DBStatus) SetHosts(v HostsView) *DBStatus {
	d.HostID, d.Hosts = v.Self, v.Docs()
	return d
}
