package packs

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// SharedWindow is how recently another host must have been seen for the
// database to count as shared: operations that move it backwards refuse
// while such a host exists (see [DB.OtherHosts]).
const SharedWindow = 7 * 24 * time.Hour

// Host is what one host (one root) runs, as its last start recorded it in
// upkeep_hosts: one row per pack it has, or one row with pack "" when it
// has none.
type Host struct {
	ID       string     // the root's host id (.upkeep/host-id)
	Hostname string     // the machine's name, for people
	Root     string     // the root's folder on that machine
	Packs    []HostPack // sorted by pack
	SeenAt   time.Time  // when its last start recorded it
}

// HostPack is one pack a host has: the version of its files and the
// schema version its code expects.
type HostPack struct {
	Pack         string
	FilesVersion string
	CodeSchema   int
}

// String names the host for people: "web-1 (3f2a...) at /srv/app, last
// seen 2026-12-06 21:00:00 UTC".
func (h Host) String() string {
	return fmt.Sprintf("%s (host id %s, root %s), last seen %s", h.Hostname, h.ID, h.Root, h.SeenAt.UTC().Format("2006-01-02 15:04:05 UTC"))
}

// RecordHost replaces h's rows in upkeep_hosts (made when missing) with
// what h runs now, seen now. A start calls it once it has checked the
// database; it is best effort there: a read-only database cannot take it.
func (db *DB) RecordHost(ctx context.Context, h Host) error {
	if h.ID == "" {
		return fmt.Errorf("packs: record host: a host needs an id")
	}
	seen := h.SeenAt
	if seen.IsZero() {
		seen = db.now()
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("packs: record host %s: %w", h.ID, err)
	}
	defer tx.Rollback()
	if err := db.d.setupLock(ctx, tx); err != nil {
		return fmt.Errorf("packs: record host %s: %w", h.ID, err)
	}
	if _, err := tx.ExecContext(ctx, db.d.hostsTable()); err != nil {
		return fmt.Errorf("packs: create upkeep_hosts in %s: %w", db.addr, err)
	}
	if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM upkeep_hosts WHERE host_id = ?`), h.ID); err != nil {
		return fmt.Errorf("packs: record host %s: %w", h.ID, err)
	}
	rows := h.Packs
	if len(rows) == 0 {
		rows = []HostPack{{}}
	}
	for _, p := range rows {
		_, err := tx.ExecContext(ctx, db.q(`INSERT INTO upkeep_hosts (host_id, hostname, root, pack, files_version, code_schema_version, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			h.ID, h.Hostname, h.Root, p.Pack, p.FilesVersion, p.CodeSchema, seen.UTC().Format(timeFormat))
		if err != nil {
			return fmt.Errorf("packs: record host %s: %w", h.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("packs: record host %s: %w", h.ID, err)
	}
	return nil
}

// Hosts returns every host upkeep_hosts records, the most recently seen
// first; none when the table does not exist. It creates nothing, so
// read-only commands may call it.
func (db *DB) Hosts(ctx context.Context) ([]Host, error) {
	names, err := db.d.tableNames(ctx, db.db)
	if err != nil {
		return nil, fmt.Errorf("packs: list tables: %w", err)
	}
	if !slices.Contains(names, "upkeep_hosts") {
		return []Host{}, nil
	}
	rows, err := db.db.QueryContext(ctx, `SELECT host_id, hostname, root, pack, files_version, code_schema_version, seen_at FROM upkeep_hosts ORDER BY host_id, pack`)
	if err != nil {
		return nil, fmt.Errorf("packs: read upkeep_hosts: %w", err)
	}
	defer rows.Close()
	byID := map[string]*Host{}
	var order []string
	for rows.Next() {
		var (
			h    Host
			p    HostPack
			seen string
		)
		if err := rows.Scan(&h.ID, &h.Hostname, &h.Root, &p.Pack, &p.FilesVersion, &p.CodeSchema, &seen); err != nil {
			return nil, fmt.Errorf("packs: read upkeep_hosts: %w", err)
		}
		h.SeenAt, _ = time.Parse(timeFormat, seen)
		got := byID[h.ID]
		if got == nil {
			got = &h
			byID[h.ID] = got
			order = append(order, h.ID)
		}
		if h.SeenAt.After(got.SeenAt) {
			got.Hostname, got.Root, got.SeenAt = h.Hostname, h.Root, h.SeenAt
		}
		if p.Pack != "" {
			got.Packs = append(got.Packs, p)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("packs: read upkeep_hosts: %w", err)
	}
	out := make([]Host, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].SeenAt.After(out[j].SeenAt) })
	return out, nil
}

// OtherHosts returns the hosts other than self seen in the last
// [SharedWindow]: while there are any, the database is shared.
func (db *DB) OtherHosts(ctx context.Context, self string) ([]Host, error) {
	all, err := db.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	since := db.now().Add(-SharedWindow)
	out := []Host{}
	for _, h := range all {
		if h.ID != self && h.SeenAt.After(since) {
			out = append(out, h)
		}
	}
	return out, nil
}

// SharedError refuses an operation that would move a shared database
// backwards (a restore with the database, db down, restoring a table
// export) while other hosts use it: they would find it older than their
// code. It matches [ErrShared].
type SharedError struct {
	What  string // the operation, "restore backup X with its database"
	Hosts []Host // the other hosts seen in the last SharedWindow
}

func (e *SharedError) Error() string {
	var names []string
	for _, h := range e.Hosts {
		names = append(names, h.String())
	}
	return fmt.Sprintf("packs: %s refused: the database is shared with %d other host(s) seen in the last %d days, whose code would find it older than theirs: %s",
		e.What, len(e.Hosts), int(SharedWindow.Hours()/24), strings.Join(names, "; "))
}

// Unwrap returns ErrShared.
func (e *SharedError) Unwrap() error { return ErrShared }

// RefuseShared returns a [*SharedError] for what when hosts other than
// self were seen in the last [SharedWindow], and nil otherwise.
func (db *DB) RefuseShared(ctx context.Context, self, what string) error {
	others, err := db.OtherHosts(ctx, self)
	if err != nil {
		return err
	}
	if len(others) == 0 {
		return nil
	}
	return &SharedError{What: what, Hosts: others}
}
