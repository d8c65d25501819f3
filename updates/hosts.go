package updates

import (
	"context"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/upkeep/upkeep/internal/dbaddr"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

// recordHost records in upkeep_hosts what this host runs (code: the
// packs its files and the application hold) and returns its host id,
// making the id when the root has none. It is best effort: a read-only
// root that has no id yet, or a read-only database, records nothing, and
// the start goes on; it then returns the id it has, "" without one.
func recordHost(ctx context.Context, db *packs.DB, root layout.Root, code []packs.Pack) string {
	id, err := EnsureHostID(root)
	if err != nil || id == "" {
		id, _ = HostID(root)
	}
	if id == "" {
		return ""
	}
	_ = db.RecordHost(ctx, hostOf(id, root, code))
	return id
}

// hostOf is the upkeep_hosts record of this host.
func hostOf(id string, root layout.Root, code []packs.Pack) packs.Host {
	hostname, _ := os.Hostname()
	h := packs.Host{ID: id, Hostname: hostname, Root: root.Dir}
	for _, p := range code {
		h.Packs = append(h.Packs, packs.HostPack{Pack: p.Name, FilesVersion: p.Version, CodeSchema: p.CodeVersion()})
	}
	sort.Slice(h.Packs, func(i, j int) bool { return h.Packs[i].Pack < h.Packs[j].Pack })
	return h
}

// MigratedBy is the batch that brought the database to the version it
// records: which host ran it, and when it committed.
type MigratedBy struct {
	HostID   string    `json:"host_id"`
	Hostname string    `json:"hostname"`
	Batch    string    `json:"batch"`
	At       time.Time `json:"at"`
}

func (m *MigratedBy) text() string {
	if m == nil {
		return ""
	}
	return fmt.Sprintf(", migrated by host %s (host id %s) at %s", m.Hostname, m.HostID, m.At.UTC().Format("2006-01-02 15:04:05 UTC"))
}

// noteDatabase tells, for each ready update with migrations, what the
// database already holds: where another host sharing it installed that
// version (or a later one) first, the update's migrations ran already and
// it installs the files only; the report says so, and who migrated when
// (from upkeep_batches). It is best effort, and it creates nothing: a
// SQLite file that does not exist yet is not opened.
func noteDatabase(ctx context.Context, opts Options, root layout.Root, r *Report) {
	var names []packs.Pack
	for _, u := range r.Updates {
		if u.Status == Ready && u.Database != nil && u.Database.To > u.Database.From {
			names = append(names, packs.Pack{Name: u.Pack})
		}
	}
	if len(names) == 0 || !dbExists(opts, root) {
		return
	}
	db, release, err := openDB(ctx, opts, root)
	if err != nil {
		return
	}
	defer release()
	st, err := db.Status(ctx, names)
	if err != nil {
		return
	}
	recorded := map[string]packs.PackStatus{}
	for _, ps := range st.Packs {
		recorded[ps.Pack] = ps
	}
	var batches []packs.BatchRecord
	for _, u := range r.Updates {
		ps, ok := recorded[u.Pack]
		if d := u.Database; u.Status != Ready || d == nil || !ok || !ps.Known || ps.Database <= d.From {
			continue
		}
		d := u.Database
		d.DatabaseSchema = ps.Database
		d.Migrations = migrationsBetween(u.manifest, ps.Database, d.To)
		d.FilesOnly = ps.Database >= d.To
		if batches == nil {
			if batches, err = db.Batches(ctx, "", 0); err != nil {
				batches = []packs.BatchRecord{}
			}
		}
		d.MigratedBy = migratedBy(batches, u.Pack, ps.Version)
	}
}

// migratedBy finds the newest committed batch that brought pack to
// version; nil when none did (a `db up`, or rows from before batches were
// recorded).
func migratedBy(batches []packs.BatchRecord, pack, version string) *MigratedBy {
	for _, b := range batches {
		if b.Committed.IsZero() || (b.Outcome != packs.OutcomeCommitted && b.Outcome != packs.OutcomeRunning) {
			continue
		}
		for _, p := range b.Packs {
			if p.Pack == pack && p.To == version {
				return &MigratedBy{HostID: b.Host, Hostname: b.Hostname, Batch: b.ID, At: b.Committed}
			}
		}
	}
	return nil
}

// dbExists tells whether the start's database exists already: a server's
// always does, a SQLite file may not (then opening it would create it).
func dbExists(opts Options, root layout.Root) bool {
	if opts.SQL != nil {
		return true
	}
	a, err := dbaddr.Parse(opts.DB, root.Dir)
	if err != nil {
		return false
	}
	if a.Kind != dbaddr.SQLite {
		return true
	}
	_, err = os.Stat(a.Path)
	return err == nil
}

// noteFilesOnly marks the updates of a committed batch whose migrations
// did not run because the database was at their schema already, and names
// the batch of the host that ran them. Best effort, like noteDatabase.
func noteFilesOnly(ctx context.Context, opts Options, root layout.Root, r *Report, batch *Batch) {
	ran := map[string]bool{}
	for _, m := range batch.Migrations {
		ran[m.Pack] = true
	}
	withMigrations := map[string]bool{}
	for _, u := range r.Updates {
		if u.Database != nil && u.Database.To > u.Database.From {
			withMigrations[u.Pack] = true
		}
	}
	var batches []packs.BatchRecord
	for i := range batch.Updates {
		u := &batch.Updates[i]
		if !withMigrations[u.Pack] || ran[u.Pack] {
			continue
		}
		u.FilesOnly = true
		if batches == nil {
			db, release, err := openDB(ctx, opts, root)
			if err != nil {
				return
			}
			defer release()
			if batches, err = db.Batches(ctx, "", 0); err != nil {
				return
			}
		}
		self, _ := HostID(root)
		var others []packs.BatchRecord
		for _, b := range batches {
			if b.ID != batch.ID || b.Host != self {
				others = append(others, b)
			}
		}
		u.MigratedBy = migratedBy(others, u.Pack, u.To)
	}
}
