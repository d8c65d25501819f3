package packs

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// Status is the state of every pack's database schema against its code.
type Status struct {
	Packs []PackStatus
	// Unknown lists packs that have a schema version in the database but
	// are not among the packs given (uninstalled, or not loaded).
	Unknown []string
	// Shared, set by the caller, says that other hosts use the database
	// (see [DB.OtherHosts]): a downgrade's message then names the version
	// to install and does not suggest restoring a backup.
	Shared bool
}

// PackStatus is one pack's database schema against its code.
type PackStatus struct {
	Pack     string
	Code     int  // schema version the code expects
	Database int  // schema version in the database (0, or -1 for a pack with a migration 0: none applied)
	Known    bool // the database has a row for the pack in upkeep_packs
	// Version is the pack's version recorded in upkeep_packs by the last
	// run that migrated or baselined it; "" when unknown.
	Version string
	// FilesVersion is the version of the pack given (its code, this
	// host's files).
	FilesVersion string
	// Pending names the migrations that Up would run, in order (empty
	// when the database is at or above the code).
	Pending []string
	// Changed lists applied migrations whose files changed since.
	Changed []*ChecksumError
	// Interrupted is set when a migration stopped part way on a backend
	// without transactional DDL; Up resumes it.
	Interrupted *Progress
}

// Progress is how far an interrupted migration got (upkeep_progress).
type Progress struct {
	Version        int
	File           string
	StatementsDone int
	doneSHA256     string
}

// Err returns the pack's problem: a *DowngradeError, the first
// *ChecksumError, or a *BehindError; nil when the pack is up to date.
func (ps PackStatus) Err() error {
	return ps.err(false)
}

func (ps PackStatus) err(shared bool) error {
	switch {
	case ps.Database > ps.Code:
		return &DowngradeError{Pack: ps.Pack, Database: ps.Database, Code: ps.Code, Version: ps.Version, Shared: shared}
	case len(ps.Changed) > 0:
		return ps.Changed[0]
	case ps.Database < ps.Code:
		e := &BehindError{Pack: ps.Pack, From: ps.Database, To: ps.Code, Pending: ps.Pending}
		if ir := ps.Interrupted; ir != nil && ir.Version > ps.Database && ir.Version <= ps.Code {
			e.Interrupted = ir
		}
		return e
	}
	return nil
}

// Err joins the problems of every pack (see [PackStatus.Err]); nil when
// every pack is up to date. The CLI maps it with [ExitCode].
func (s *Status) Err() error {
	var errs []error
	for _, ps := range s.Packs {
		if err := ps.err(s.Shared); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Status compares the schema version each pack's code expects with the
// database's, lists pending migrations and applied migrations whose files
// changed. It reads the database in a few queries, whatever the number of
// migrations.
func (db *DB) Status(ctx context.Context, packs []Pack) (*Status, error) {
	if err := db.ensure(ctx); err != nil {
		return nil, err
	}
	for _, p := range packs {
		if err := p.check(); err != nil {
			return nil, err
		}
	}
	st, _, err := db.status(ctx, db.db, packs)
	return st, err
}

// Check returns [Status.Err]: what the application's start does for every
// installed pack.
func (db *DB) Check(ctx context.Context, packs []Pack) error {
	st, err := db.Status(ctx, packs)
	if err != nil {
		return err
	}
	return st.Err()
}

// dbState is what the database holds about the packs.
type dbState struct {
	version  map[string]int    // upkeep_packs.schema_version
	release  map[string]string // upkeep_packs.version: the pack's version
	known    map[string]bool
	sums     map[string]map[int]string // pack -> version -> last recorded sha256
	progress map[string]*Progress
}

func (db *DB) readState(ctx context.Context, q querier) (*dbState, error) {
	s := &dbState{version: map[string]int{}, release: map[string]string{}, known: map[string]bool{}, sums: map[string]map[int]string{}, progress: map[string]*Progress{}}
	if db.lacks("upkeep_packs") {
		return s, nil // a read-only database without upkeep's tables
	}
	rows, err := q.QueryContext(ctx, `SELECT pack, version, schema_version FROM upkeep_packs`)
	if err != nil {
		return nil, fmt.Errorf("packs: read upkeep_packs: %w", err)
	}
	for rows.Next() {
		var p, release string
		var v int
		if err := rows.Scan(&p, &release, &v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("packs: read upkeep_packs: %w", err)
		}
		s.version[p] = v
		s.release[p] = release
		s.known[p] = true
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("packs: read upkeep_packs: %w", err)
	}
	if db.lacks("upkeep_migrations") {
		return s, nil
	}
	rows, err = q.QueryContext(ctx, `SELECT pack, version, sha256 FROM upkeep_migrations WHERE direction IN ('up', 'accept', 'baseline') ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("packs: read upkeep_migrations: %w", err)
	}
	for rows.Next() {
		var (
			p, sum string
			v      int
		)
		if err := rows.Scan(&p, &v, &sum); err != nil {
			rows.Close()
			return nil, fmt.Errorf("packs: read upkeep_migrations: %w", err)
		}
		m := s.sums[p]
		if m == nil {
			m = map[int]string{}
			s.sums[p] = m
		}
		m[v] = sum
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("packs: read upkeep_migrations: %w", err)
	}
	if db.lacks("upkeep_progress") {
		return s, nil
	}
	rows, err = q.QueryContext(ctx, `SELECT pack, version, file, statements_done, done_sha256 FROM upkeep_progress`)
	if err != nil {
		return nil, fmt.Errorf("packs: read upkeep_progress: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		pr := &Progress{}
		if err := rows.Scan(&p, &pr.Version, &pr.File, &pr.StatementsDone, &pr.doneSHA256); err != nil {
			return nil, fmt.Errorf("packs: read upkeep_progress: %w", err)
		}
		s.progress[p] = pr
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("packs: read upkeep_progress: %w", err)
	}
	return s, nil
}

func (db *DB) status(ctx context.Context, q querier, packs []Pack) (*Status, *dbState, error) {
	state, err := db.readState(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	st := &Status{}
	given := map[string]bool{}
	for _, p := range packs {
		given[p.Name] = true
		st.Packs = append(st.Packs, packStatus(p, state, p.CodeVersion()))
	}
	for name := range state.known {
		if !given[name] {
			st.Unknown = append(st.Unknown, name)
		}
	}
	sort.Strings(st.Unknown)
	return st, state, nil
}

// packStatus compares p with the database up to target.
func packStatus(p Pack, state *dbState, target int) PackStatus {
	ps := PackStatus{Pack: p.Name, Code: p.CodeVersion(), Database: state.version[p.Name], Known: state.known[p.Name],
		Version: state.release[p.Name], FilesVersion: p.Version, Interrupted: state.progress[p.Name]}
	if !ps.Known {
		ps.Database = p.None()
	}
	sums := state.sums[p.Name]
	for _, m := range p.Migrations {
		if m.Version > ps.Database {
			break
		}
		rec := sums[m.Version]
		if rec == "" || m.SHA256 == "" || rec == m.SHA256 {
			continue
		}
		ps.Changed = append(ps.Changed, &ChecksumError{Pack: p.Name, Version: m.Version, File: m.UpFile, Recorded: rec, Current: m.SHA256})
	}
	for _, m := range p.between(ps.Database, target) {
		ps.Pending = append(ps.Pending, m.Source())
	}
	return ps
}
