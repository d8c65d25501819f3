package updates

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

// The database part of a batch: its migrations, which are its commit, the
// export that puts a non-transactional backend back, and the question
// recovery asks: did the batch commit?

// batchPacks loads the batch's packs from their folders in packs/, in
// install order.
func batchPacks(root layout.Root, j *journal) ([]packs.Pack, error) {
	var out []packs.Pack
	for _, p := range j.Packs {
		in, err := packs.Read(root.Pack(p.Pack))
		if err != nil {
			return nil, err
		}
		pk, err := packs.LoadPack(in)
		if err != nil {
			return nil, err
		}
		out = append(out, pk)
	}
	return out, nil
}

// migrateBatch runs the migrations of the batch's packs and records each
// pack at its new version. The batch's commit is its own row in
// upkeep_batches, committed in the transaction that records the run's end
// (packs.UpOptions.Batch): on SQLite and PostgreSQL the run's one
// transaction, on MySQL/MariaDB the one that records its last migration.
// From the instant it commits, recovery finishes the batch instead of
// undoing it; a version in upkeep_packs proves nothing, as another host's
// batch may have written it. Where DDL is transactional a failed or killed
// run leaves nothing behind. Where it is not (MySQL/MariaDB), the run keeps
// the maintenance row (packs.Maintenance) from before its first statement,
// the packs' tables are exported under the database's migration lock,
// after any other host's run, and the export is named in the journal
// before any migration runs; a failed run is put back from it under the
// same lock (packs.UpOptions RestoreOnFailure), and the recovery after a
// kill puts it back while the row is still the batch's (see
// restoreExport). f's fault points "migration:PACK:VERSION" follow each
// migration.
func migrateBatch(ctx context.Context, opts Options, root layout.Root, b batchPaths, j *journal, rec *packs.BatchRecord, f faults) ([]AppliedMigration, error) {
	code, err := batchPacks(root, j)
	if err != nil {
		return nil, err
	}
	db, release, err := openDB(ctx, opts, root)
	if err != nil {
		return nil, err
	}
	defer release()
	up := packs.UpOptions{Packs: code, LockTimeout: opts.LockTimeout, Batch: rec,
		Maintenance: whoRuns(root, rec.ID),
		OnApplied: func(a packs.Applied) error {
			return f.at(fmt.Sprintf("%s%s:%d", stepMigration, a.Pack, a.Version))
		},
	}
	if !db.TransactionalDDL() {
		up.Tables, up.RestoreOnFailure = tablesStore(opts, root), true
		up.OnExport = func(name string) error {
			j.Export = name
			return b.save(j)
		}
	}
	res, err := db.Up(ctx, up)
	var me *packs.MigrationError
	if errors.As(err, &me) && me.Restored {
		// Put back under the lock already: doing it again after the lock
		// is released could undo another host's run.
		j.Export = ""
		if serr := b.save(j); serr != nil {
			return nil, errors.Join(err, serr)
		}
	}
	if err != nil {
		return nil, err
	}
	return appliedOf(res), nil
}

// restoreExport puts the database back from the export taken before the
// batch's migrations, where the backend needed one (j.Export): the
// exported tables, and tables the run made that no pack lists dropped;
// then it forgets the export (in j, not yet on disk). It does so only
// while the maintenance row is still the batch's: when the row is gone or
// another's, another host migrated the database since, and putting the
// export back would undo its run; restoreExport then leaves the database
// alone and returns false.
func restoreExport(ctx context.Context, opts Options, root layout.Root, j *journal) (bool, error) {
	if j.Export == "" {
		return false, nil
	}
	host, db, release, err := hostDB(ctx, opts, root)
	if err != nil {
		return false, err
	}
	defer release()
	// Journals written before exports were backups name the zip's path.
	id := strings.TrimSuffix(filepath.Base(j.Export), ".zip")
	fsys, c, err := backupstore.OpenTables(root, id)
	var undone bool
	if err == nil {
		defer c.Close()
		undone, err = db.UndoBatchRun(ctx, fsys, id, host, j.Batch)
	}
	if err != nil {
		return false, fmt.Errorf("put back the tables exported to backup %s: %w", id, err)
	}
	j.Export = ""
	return undone, nil
}

// hostDB is this root's host id and the start's database (see openDB).
func hostDB(ctx context.Context, opts Options, root layout.Root) (string, *packs.DB, func(), error) {
	host, err := EnsureHostID(root)
	if err != nil {
		return "", nil, nil, err
	}
	db, release, err := openDB(ctx, opts, root)
	return host, db, release, err
}

func appliedOf(res *packs.Result) []AppliedMigration {
	var out []AppliedMigration
	for _, a := range res.Applied {
		out = append(out, AppliedMigration{Pack: a.Pack, Version: a.Version, Name: a.Name, DurationMS: a.Duration.Milliseconds()})
	}
	return out
}

// dbState reads, for each pack of the batch, the version and schema
// version the database records.
func dbState(ctx context.Context, opts Options, root layout.Root, j *journal) (map[string]packs.PackStatus, error) {
	db, release, err := openDB(ctx, opts, root)
	if err != nil {
		return nil, err
	}
	defer release()
	var names []packs.Pack
	for _, p := range j.Packs {
		names = append(names, packs.Pack{Name: p.Pack, Version: p.Version})
	}
	st, err := db.Status(ctx, names)
	if err != nil {
		return nil, err
	}
	out := map[string]packs.PackStatus{}
	for _, ps := range st.Packs {
		out[ps.Pack] = ps
	}
	return out, nil
}

// batchCommitted tells whether the batch j of this host committed: its own
// row in upkeep_batches says so. That row is committed with the run's
// migrations, and no other host writes it.
func batchCommitted(ctx context.Context, opts Options, root layout.Root, j *journal) (bool, error) {
	host, db, release, err := hostDB(ctx, opts, root)
	if err != nil {
		return false, err
	}
	defer release()
	rec, err := db.LookupBatch(ctx, host, j.Batch)
	if err != nil {
		return false, fmt.Errorf("cannot tell whether batch %s committed: %w", j.Batch, err)
	}
	return rec != nil && !rec.Committed.IsZero(), nil
}

// committedElsewhere tells whether the database records every pack of the
// batch j, which did not commit, at the batch's version: another host's
// batch committed the same versions (or its run took over this one's).
// The files then go forward, not back: back, they would be older than the
// database.
func committedElsewhere(ctx context.Context, opts Options, root layout.Root, j *journal) (bool, error) {
	st, err := dbState(ctx, opts, root, j)
	if err != nil {
		return false, fmt.Errorf("cannot tell what the database holds of batch %s: %w", j.Batch, err)
	}
	for _, p := range j.Packs {
		if st[p.Pack].Version != p.Version {
			return false, nil
		}
	}
	return true, nil
}

// tablesStore keeps the exports of packs' tables in Updates_Backups, as
// backups of kind tables.
func tablesStore(opts Options, root layout.Root) backupstore.Tables {
	return backupstore.Tables{Root: root, DB: opts.DB, UpkeepVersion: opts.UpkeepVersion}
}
