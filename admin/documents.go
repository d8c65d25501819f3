package admin

import (
	"context"
	"slices"
	"sort"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/jsondoc"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
)

// The API serves the CLI's documents, made by the same producers in
// package jsondoc and written by jsondoc.Marshal, so that GET /api/NAME
// and the command's --json print the same bytes:
//
//	GET /api/report   upkeep updates list --json
//	GET /api/status   upkeep db status --json
//	GET /api/backups  upkeep backups list --json
//	GET /api/history  upkeep history --json
//
// A document that cannot be made (the database cannot be read) is an
// error document with status 500, as the command would exit 1.

// view is what the pages show of the root and the database, read at once.
// Its documents are the API's.
type view struct {
	Status     *jsondoc.DBStatus // nil when the database cannot be read
	StatusErr  string
	State      *updates.State    // the root's lock and journal
	Problems   []string          // what could not be read besides
	Versions   map[string]string // the installed packs' versions
	Backups    *jsondoc.Backups
	BackupsErr string
	History    *jsondoc.History
	HistoryErr string
	Migrations []jsondoc.Migration // the newest migrations the database ran
	Hosts      []jsondoc.Host      // the hosts upkeep_hosts records, this one first
}

// migrationsShown is how many migrations the history page shows.
const migrationsShown = 200

// readView reads the root's and the database's state; backups are read
// apart (see Server.readBackups).
func readView(ctx context.Context, opts updates.Options, root layout.Root) view {
	v := view{Problems: []string{}, Versions: map[string]string{}}
	if st, err := updates.ReadState(root.Dir); err == nil {
		v.State = st
	} else {
		v.Problems = append(v.Problems, err.Error())
	}
	code, err := updates.CodePacks(opts)
	if err != nil {
		v.StatusErr, v.HistoryErr = err.Error(), err.Error()
		return v
	}
	for _, p := range code {
		v.Versions[p.Name] = p.Version
	}
	db, err := packs.OpenReadOnly(ctx, opts.DB, root.Dir)
	if err != nil {
		v.StatusErr, v.HistoryErr = err.Error(), err.Error()
		return v
	}
	defer db.Close()
	if v.Status, err = readDBStatus(ctx, db, code); err != nil {
		v.StatusErr = err.Error()
	} else if hosts, err := jsondoc.ReadHosts(ctx, db, root); err == nil {
		v.Status.SetHosts(hosts) // as db status --json has them
		v.Hosts = slices.Clone(v.Status.Hosts)
		sort.SliceStable(v.Hosts, func(i, j int) bool { return v.Hosts[i].ThisHost && !v.Hosts[j].ThisHost })
	} else {
		v.Problems = append(v.Problems, "hosts: "+err.Error())
	}
	if v.History, err = jsondoc.ReadHistory(ctx, db, root, false, jsondoc.HistoryLimit); err != nil {
		v.HistoryErr = err.Error()
	}
	if hist, err := db.History(ctx, migrationsShown); err == nil {
		v.Migrations = jsondoc.NewDBHistory(hist).Migrations
	} else {
		v.Problems = append(v.Problems, "migrations: "+err.Error())
	}
	return v
}

// readDBStatus is `upkeep db status`'s reading of the database.
func readDBStatus(ctx context.Context, db *packs.DB, code []packs.Pack) (*jsondoc.DBStatus, error) {
	st, err := db.Status(ctx, code)
	if err != nil {
		return nil, err
	}
	drift, err := db.Drift(ctx)
	if err != nil {
		return nil, err
	}
	return jsondoc.NewDBStatus(db, st, drift), nil
}

func readBackups(root layout.Root) (*jsondoc.Backups, error) {
	list, err := backupstore.List(root)
	if err != nil {
		return nil, err
	}
	return jsondoc.NewBackups(list), nil
}
