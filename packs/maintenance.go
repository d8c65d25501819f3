package packs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// The maintenance row. Where DDL is not transactional (MySQL/MariaDB), the
// tables change statement by statement while a run migrates, and a run
// that is killed leaves them half changed until the host that ran it puts
// them back from its export. So a run that migrates there keeps one row in
// upkeep_maintenance from before its first statement (and its export)
// until it commits, or until a failed run is put back: every host's start
// and admin.Guard honour it. The process that wrote it renews it every
// [MaintenanceRenew]; a row nobody renewed for [MaintenanceExpiry] is from
// a host that was killed and has not come back, and is no longer honoured:
// the next run that migrates replaces it. The host that was killed clears
// its own row at its next start, after its recovery.

const (
	// MaintenanceRenew is how often a run renews its maintenance row.
	MaintenanceRenew = 5 * time.Second
	// MaintenanceExpiry is how long a maintenance row that nobody renews
	// is honoured.
	MaintenanceExpiry = 10 * time.Minute
)

// Maintenance is the maintenance row: who is migrating the database.
type Maintenance struct {
	Host     string    `json:"host"`            // the host id of the root whose run wrote it; "" when not known
	Hostname string    `json:"hostname"`        // the machine's name, for people
	Root     string    `json:"root"`            // the root of that host
	Batch    string    `json:"batch,omitempty"` // the install batch, "" for a run outside one (db up, --migrate-db)
	Started  time.Time `json:"started"`
	Renewed  time.Time `json:"renewed"`
}

// Stalled tells whether the process that wrote m stopped renewing it: it
// was killed, or lost the database.
func (m *Maintenance) Stalled(now time.Time) bool { return now.Sub(m.Renewed) > 3*MaintenanceRenew }

// Expired tells whether m is no longer honoured: nobody renewed it for
// MaintenanceExpiry.
func (m *Maintenance) Expired(now time.Time) bool { return now.Sub(m.Renewed) > MaintenanceExpiry }

// same tells whether m and o were written for the same root: the same
// machine and root, and the same host id where both have one (a run
// through package packs alone has none). A copy of a root has its host id
// but another machine or folder: not the same (see [Maintenance.Mine]).
func (m *Maintenance) same(o *Maintenance) bool {
	if m.Host != "" && o.Host != "" && m.Host != o.Host {
		return false
	}
	return m.Hostname == o.Hostname && m.Root == o.Root
}

// Who names the host that wrote m: "host web-1 (root /srv/app)".
func (m *Maintenance) Who() string {
	name := m.Hostname
	if name == "" {
		name = "?"
	}
	s := "host " + name
	if m.Root != "" {
		s += " (root " + m.Root + ")"
	}
	return s
}

// What names the run: "batch 20261206T101500Z" or "a migration run".
func (m *Maintenance) What() string {
	if m.Batch != "" {
		return "batch " + m.Batch
	}
	return "a migration run"
}

// MaintenanceError says that another host's maintenance row stayed: the
// database is being migrated by it, or it was killed while it did and has
// not put it back yet. It matches [ErrLocked] (exit code 5).
type MaintenanceError struct {
	Row    Maintenance
	Waited time.Duration
	Now    time.Time // when the row was last read
	// Stopped: the run that wrote the row is known to be gone (the
	// migration lock was free), or it stopped renewing the row.
	Stopped bool
}

func (e *MaintenanceError) Error() string {
	m := &e.Row
	at := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	if e.Stopped || m.Stalled(e.Now) {
		return fmt.Sprintf("packs: the database is in maintenance after %s stopped while migrating (%s, started %s, last seen %s): its next start puts the database back; the mark expires at %s (waited %s)",
			m.Who(), m.What(), at(m.Started), at(m.Renewed), at(m.Renewed.Add(MaintenanceExpiry)), e.Waited.Round(time.Millisecond))
	}
	return fmt.Sprintf("packs: the database is in maintenance: %s is migrating it (%s, since %s); still so after waiting %s",
		m.Who(), m.What(), at(m.Started), e.Waited.Round(time.Millisecond))
}

// Unwrap returns ErrLocked.
func (e *MaintenanceError) Unwrap() error { return ErrLocked }

const maintenanceColumns = `host_id, hostname, root, batch_id, started_at, renewed_at`

// Maintenance returns the maintenance row, expired or not; nil when there
// is none, and always on backends whose DDL is transactional.
func (db *DB) Maintenance(ctx context.Context) (*Maintenance, error) {
	if db.d.transactionalDDL() {
		return nil, nil
	}
	if err := db.ensure(ctx); err != nil {
		return nil, err
	}
	return db.readMaintenance(ctx, db.db)
}

func (db *DB) readMaintenance(ctx context.Context, q querier) (*Maintenance, error) {
	var m Maintenance
	var started, renewed string
	err := q.QueryRowContext(ctx, db.q(`SELECT `+maintenanceColumns+` FROM upkeep_maintenance WHERE id = 1`)).
		Scan(&m.Host, &m.Hostname, &m.Root, &m.Batch, &started, &renewed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("packs: read upkeep_maintenance: %w", err)
	}
	m.Started, _ = time.Parse(timeFormat, started)
	m.Renewed, _ = time.Parse(timeFormat, renewed)
	return &m, nil
}

// serverNow is the time by the database server's clock. The maintenance
// row's times are written and compared on it, so that every host that
// shares the database reads them alike: a host whose own clock runs ahead
// takes no live row for expired, and one whose clock lags honours no dead
// row for ever. It is this host's clock when the server cannot tell (the
// row lives only on MySQL/MariaDB).
func (db *DB) serverNow(ctx context.Context, q querier) time.Time {
	if db.d.name() == "mysql" {
		var s string
		if err := q.QueryRowContext(ctx, `SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ')`).Scan(&s); err == nil {
			if t, err := time.Parse(timeFormat, s); err == nil {
				return t
			}
		}
	}
	return db.now().UTC()
}

// ActiveMaintenance returns the maintenance row while it is honoured (not
// expired, by the database server's clock: see serverNow), else nil.
func (db *DB) ActiveMaintenance(ctx context.Context) (*Maintenance, error) {
	m, err := db.Maintenance(ctx)
	if err != nil || m == nil {
		return nil, err
	}
	if m.Expired(db.serverNow(ctx, db.db)) {
		return nil, nil
	}
	return m, nil
}

// Mine tells whether m is the row of the root that who describes: the
// same host id, machine and root. A root copied to another machine or
// folder keeps the host id in its .upkeep/host-id, but not the machine
// or the folder: the copy's row is another host's to it, and a run of the
// copy is not taken for one of its own that was killed.
func (m *Maintenance) Mine(who *Maintenance) bool {
	return who != nil && who.Host != "" && m.Host == who.Host && m.Hostname == who.Hostname && m.Root == who.Root
}

// WaitMaintenance waits, up to timeout (0 is DefaultLockTimeout), while
// another host's maintenance row is honoured: one that is not expired and
// not who's own (see [Maintenance.Mine]; who may be nil). It returns a
// *MaintenanceError when the row stays.
func (db *DB) WaitMaintenance(ctx context.Context, who *Maintenance, timeout time.Duration) error {
	if db.d.transactionalDDL() {
		return nil
	}
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	start := time.Now()
	for {
		m, err := db.Maintenance(ctx)
		if err != nil {
			return err
		}
		now := db.serverNow(ctx, db.db)
		if m == nil || m.Expired(now) || m.Mine(who) {
			return nil
		}
		waited := time.Since(start)
		if waited >= timeout {
			return &MaintenanceError{Row: *m, Waited: waited, Now: now, Stopped: db.lockFree(ctx)}
		}
		t := time.NewTimer(min(250*time.Millisecond, timeout-waited))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// lockFree tells whether the migration lock is free: then the run that
// wrote a maintenance row is gone (it holds the lock while it runs).
func (db *DB) lockFree(ctx context.Context) bool {
	l, err := db.Lock(ctx, time.Millisecond)
	if err != nil {
		return false
	}
	l.Release()
	return true
}

// ClearMaintenance removes the maintenance row when it is who's own (see
// [Maintenance.Mine]), and tells whether it did. A host calls it at its
// start, after its recovery, holding its root's lock: its own row is from
// a run of its that was killed.
func (db *DB) ClearMaintenance(ctx context.Context, who *Maintenance) (bool, error) {
	if db.d.transactionalDDL() || who == nil || who.Host == "" {
		return false, nil
	}
	if err := db.ensure(ctx); err != nil {
		return false, err
	}
	res, err := db.db.ExecContext(ctx, db.q(`DELETE FROM upkeep_maintenance WHERE id = 1 AND host_id = ? AND hostname = ? AND root = ?`), who.Host, who.Hostname, who.Root)
	if err != nil {
		return false, fmt.Errorf("packs: clear upkeep_maintenance: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// mark is the maintenance row of a run, while it holds the migration lock.
type mark struct {
	db   *DB
	row  Maintenance
	stop chan struct{}
	done chan struct{}
}

// markMaintenance writes who's maintenance row through conn (the run's,
// holding the migration lock), replacing an expired one or this host's
// own, and renews it until the mark is cleared. A row of another host that
// is not expired is from a run that was killed (a live one would hold the
// lock): the run is refused with a *MaintenanceError.
func (db *DB) markMaintenance(ctx context.Context, conn *sql.Conn, who *Maintenance) (*mark, error) {
	m := &mark{db: db}
	if who != nil {
		m.row = *who
	}
	if m.row.Hostname == "" {
		m.row.Hostname, _ = os.Hostname()
	}
	if m.row.Root == "" {
		m.row.Root = db.root
	}
	old, err := db.readMaintenance(ctx, conn)
	if err != nil {
		return nil, err
	}
	now := db.serverNow(ctx, conn)
	if old != nil && !old.Expired(now) && !old.same(&m.row) {
		return nil, &MaintenanceError{Row: *old, Now: now, Stopped: true}
	}
	m.row.Started, m.row.Renewed = now, now
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("packs: write upkeep_maintenance: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM upkeep_maintenance WHERE id = 1`)); err != nil {
		return nil, fmt.Errorf("packs: write upkeep_maintenance: %w", err)
	}
	if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO upkeep_maintenance (id, `+maintenanceColumns+`) VALUES (1, ?, ?, ?, ?, ?, ?)`),
		m.row.Host, m.row.Hostname, m.row.Root, m.row.Batch, now.Format(timeFormat), now.Format(timeFormat)); err != nil {
		return nil, fmt.Errorf("packs: write upkeep_maintenance: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("packs: write upkeep_maintenance: %w", err)
	}
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	go m.renew()
	return m, nil
}

// renew renews the row every MaintenanceRenew, through the pool (the run's
// own connection is busy with its statements), until stopped.
func (m *mark) renew() {
	defer close(m.done)
	t := time.NewTicker(MaintenanceRenew)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), MaintenanceRenew)
			m.db.db.ExecContext(ctx, m.db.q(`UPDATE upkeep_maintenance SET renewed_at = ? WHERE id = 1 AND host_id = ? AND started_at = ?`),
				m.db.serverNow(ctx, m.db.db).Format(timeFormat), m.row.Host, m.row.Started.Format(timeFormat))
			cancel()
		}
	}
}

// stopRenewing stops the renewals; the row stays until cleared.
func (m *mark) stopRenewing() {
	if m == nil {
		return
	}
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
}

// clear removes the row on q: in the transaction that records the run's
// end, so that the row goes exactly when the end is recorded, and again
// (a no-op then) when the run returns. Only the run's own row goes: no
// other can be written while the run holds the lock.
func (m *mark) clear(ctx context.Context, q querier) error {
	if m == nil {
		return nil
	}
	m.stopRenewing()
	if _, err := q.ExecContext(ctx, m.db.q(`DELETE FROM upkeep_maintenance WHERE id = 1 AND host_id = ? AND started_at = ?`),
		m.row.Host, m.row.Started.Format(timeFormat)); err != nil {
		return fmt.Errorf("packs: clear upkeep_maintenance: %w", err)
	}
	return nil
}

// UndoBatchRun puts back the run of batch batch of host, killed or failed
// on a backend without transactional DDL, from its export in fsys (named
// name; see [DB.UndoRun]), and clears its maintenance row, holding the
// migration lock: only while that row is still the batch's. A row that is
// gone or another's means that another run migrated the database since
// (the row had expired); putting this export back would undo that run, so
// UndoBatchRun changes nothing and returns false.
func (db *DB) UndoBatchRun(ctx context.Context, fsys fs.FS, name, host, batch string) (bool, error) {
	undone := false
	_, err := db.withLock(ctx, 0, func(ctx context.Context, conn *sql.Conn, tx *sql.Tx) (*Result, error) {
		if !db.d.transactionalDDL() {
			m, err := db.readMaintenance(ctx, conn)
			if err != nil {
				return nil, err
			}
			if m == nil || m.Host != host || m.Batch != batch {
				return nil, nil
			}
			// Renewed: the others keep honouring it while this runs.
			if _, err := conn.ExecContext(ctx, db.q(`UPDATE upkeep_maintenance SET renewed_at = ? WHERE id = 1`), db.serverNow(ctx, conn).Format(timeFormat)); err != nil {
				return nil, fmt.Errorf("packs: renew upkeep_maintenance: %w", err)
			}
		}
		if err := db.undoRunLocked(ctx, conn, tx, fsys, name); err != nil {
			return nil, err
		}
		undone = true
		if !db.d.transactionalDDL() {
			if _, err := conn.ExecContext(ctx, db.q(`DELETE FROM upkeep_maintenance WHERE id = 1 AND host_id = ?`), host); err != nil {
				return nil, fmt.Errorf("packs: clear upkeep_maintenance: %w", err)
			}
		}
		return nil, nil
	})
	return undone, err
}
