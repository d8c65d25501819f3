package updates

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

// DatabaseReport is what the start found in the database for every
// installed pack, and what it migrated.
type DatabaseReport struct {
	Backend string             `json:"backend"`
	Packs   []DatabasePack     `json:"packs"`
	Applied []AppliedMigration `json:"applied,omitempty"` // migrated by this start (--migrate-db)
	Export  string             `json:"export,omitempty"`  // the backup (kind tables) of the packs' tables taken before
	// Differences is the drift report: how the live database differs from
	// what each pack expects (its recorded schema, its schema.sql), the
	// list upkeep db diff prints. Made when the database is otherwise as
	// its code needs it.
	Differences []packs.Difference `json:"differences"`
	// DifferencesNote says what the drift report left out or why it could
	// not be made.
	DifferencesNote string `json:"differences_note,omitempty"`
}

// DatabasePack is one pack's schema: the version its code expects, the
// database's, and the migrations between.
type DatabasePack struct {
	Pack     string   `json:"pack"`
	Code     int      `json:"code"`
	Database int      `json:"database"`
	Pending  []string `json:"pending,omitempty"`
}

// AppliedMigration is a migration the start ran.
type AppliedMigration struct {
	Pack       string `json:"pack"`
	Version    int    `json:"version"`
	Name       string `json:"name"`
	DurationMS int64  `json:"duration_ms"`
}

// checkDatabase is the last step of the start: another host's
// maintenance row honoured (honourMaintenance), then every installed
// pack's schema version in the database against its code. A database behind its
// code is migrated when opts.MigrateDB is set, else the start stops with a
// [*packs.BehindError]; a database ahead of its code stops it with a
// [*packs.DowngradeError]; a changed migration file with a
// [*packs.ChecksumError]. All three match the sentinels of package packs.
func checkDatabase(ctx context.Context, opts Options, root layout.Root) (rep *DatabaseReport, err error) {
	code, err := codePacks(opts, root)
	if err != nil {
		return nil, err
	}
	db, release, err := openDB(ctx, opts, root)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := honourMaintenance(ctx, opts, root, db); err != nil {
		return nil, err
	}
	st, err := db.Status(ctx, code)
	if err != nil {
		return nil, err
	}
	// Step 5 records this host; other hosts seen lately make the database
	// shared, and a downgrade's message then says to install the newer
	// version, never to restore a backup (which would rewind the others).
	self := recordHost(ctx, db, root, code)
	if others, err := db.OtherHosts(ctx, self); err == nil {
		st.Shared = len(others) > 0
	}
	rep = &DatabaseReport{Backend: db.Backend(), Differences: []packs.Difference{}}
	defer func() {
		if err == nil {
			rep.Differences, rep.DifferencesNote = differences(ctx, opts, root, db)
		}
	}()
	fill := func(st *packs.Status) {
		rep.Packs = rep.Packs[:0]
		for _, p := range st.Packs {
			rep.Packs = append(rep.Packs, DatabasePack{Pack: p.Pack, Code: p.Code, Database: p.Database, Pending: p.Pending})
		}
	}
	fill(st)
	err = st.Err()
	if merr := missingPacks(ctx, db, root, st.Unknown); merr != nil {
		return rep, errors.Join(err, merr)
	}
	if err == nil || !opts.MigrateDB || !onlyBehind(err) {
		return rep, err
	}
	uo := packs.UpOptions{Packs: code, LockTimeout: opts.LockTimeout, Maintenance: whoRuns(root, "")}
	if !opts.NoBackup {
		uo.Tables = tablesStore(opts, root)
	}
	res, err := db.Up(ctx, uo)
	if res != nil {
		rep.Export, rep.Applied = res.Export, appliedOf(res)
	}
	if err != nil {
		return rep, err
	}
	shared := st.Shared
	if st, err = db.Status(ctx, code); err != nil {
		return rep, err
	}
	st.Shared = shared
	fill(st)
	return rep, st.Err()
}

// codePacks is the code side: the packs the application compiled in,
// then those installed in the root, each after the packs it requires, so
// that migrations run in that order.
func codePacks(opts Options, root layout.Root) ([]packs.Pack, error) {
	installed, err := packs.List(root.Packs())
	if err != nil {
		return nil, err
	}
	byName := map[string]packs.Installed{}
	var names []string
	for _, in := range installed {
		byName[in.Name] = in
		names = append(names, in.Name)
	}
	ordered, rest := requiresOrder(names, func(p string) []string { return sortedKeys(byName[p].Manifest.Requires) })
	code := append([]packs.Pack(nil), opts.Packs...)
	for _, name := range append(ordered, rest...) {
		for _, p := range opts.Packs {
			if p.Name == name {
				return nil, fmt.Errorf("updates: pack %s is both compiled in and installed in %s", name, root.Pack(name))
			}
		}
		p, err := packs.LoadPack(byName[name])
		if err != nil {
			return nil, err
		}
		code = append(code, p)
	}
	return code, nil
}

// onlyBehind tells whether every problem of err is a database behind its
// code, which migrating mends.
func onlyBehind(err error) bool {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		if !errors.Is(e, packs.ErrDatabaseBehind) || errors.Is(e, packs.ErrDowngrade) || errors.Is(e, packs.ErrChecksumChanged) {
			return false
		}
	}
	return true
}

// CodePacks is what the application's code holds: the packs compiled in
// (opts.Packs), then those installed in the root, each after the packs it
// requires. It is what the start checks the database against.
func CodePacks(opts Options) ([]packs.Pack, error) {
	root, err := layout.Open(opts.Root)
	if err != nil {
		return nil, err
	}
	return codePacks(opts, root)
}

// missingPacks refuses a root that lacks packs the database records at a
// schema version above 0 (unknown: not among the code's packs).
func missingPacks(ctx context.Context, db *packs.DB, root layout.Root, unknown []string) error {
	if len(unknown) == 0 {
		return nil
	}
	var names []packs.Pack
	for _, n := range unknown {
		names = append(names, packs.Pack{Name: n})
	}
	st, err := db.Status(ctx, names)
	if err != nil {
		return err
	}
	var errs []error
	for _, ps := range st.Packs {
		if ps.Database > 0 {
			errs = append(errs, &MissingPackError{Pack: ps.Pack, Version: ps.Version, Database: ps.Database, Dir: root.Pack(ps.Pack)})
		}
	}
	return errors.Join(errs...)
}

// differences is the start's drift report: what [packs.DB.Diff] finds for
// every pack, as upkeep db diff shows it. On PostgreSQL and MySQL, the
// packs' schema.sql files are compared only given Options.DevDB. It never
// stops the start: a failure is the note.
func differences(ctx context.Context, opts Options, root layout.Root, db *packs.DB) ([]packs.Difference, string) {
	out := []packs.Difference{}
	installed, err := packs.List(root.Packs())
	if err != nil {
		return out, "drift not checked: " + err.Error()
	}
	diffs, err := db.Diff(ctx, packs.DiffOptions{Packs: installed, DevDB: opts.DevDB, SkipDesiredWithoutDevDB: true})
	if err != nil {
		return out, "drift not checked: " + err.Error()
	}
	var notes []string
	for _, d := range diffs {
		out = append(out, d.Differences()...)
		if d.DesiredSkipped != "" {
			notes = append(notes, "pack "+d.Pack+": "+d.DesiredSkipped)
		}
	}
	return out, strings.Join(notes, "; ")
}
