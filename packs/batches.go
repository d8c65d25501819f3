package packs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Outcomes of a batch, in upkeep_batches.outcome.
const (
	// OutcomeRunning: the batch is under way, or its process died and the
	// next start has not looked at it yet.
	OutcomeRunning = "running"
	// OutcomeCommitted: the batch is installed.
	OutcomeCommitted = "committed"
	// OutcomeRolledBack: a step failed and everything was put back; Reason
	// says why.
	OutcomeRolledBack = "rolled_back"
	// OutcomeUndone: the process was interrupted (killed, power loss)
	// before the batch committed, and the next start undid it.
	OutcomeUndone = "undone"
	// OutcomeManual: a step failed and putting things back failed too; the
	// backup must be restored by hand.
	OutcomeManual = "manual"
)

// BatchRecord is one row of upkeep_batches: a batch of updates one host
// installed (or tried to). The install code writes it when the batch
// starts, inside the migrations' transaction when it commits (where DDL is
// transactional), and when it fails or a later start recovers it.
type BatchRecord struct {
	ID       string      `json:"id"`       // the batch id: its UTC start, 20060102T150405Z
	Host     string      `json:"host"`     // the host id of the root that ran it (.upkeep/host-id)
	Hostname string      `json:"hostname"` // the machine's name, for people
	Packs    []BatchPack `json:"packs"`    // in install order
	// Phase is how far the batch went: "staging", "swapping", "committed"
	// or "finished" (zips moved, clean).
	Phase   string `json:"phase"`
	Outcome string `json:"outcome"`          // one of the Outcome constants
	Reason  string `json:"reason,omitempty"` // why it was rolled back or undone
	Backup  string `json:"backup,omitempty"` // the backup taken before it, "" without one
	// Zips are the update zips of the batch, as named in Updates_Pending.
	Zips []string `json:"zips"`
	// Migrations are the migrations it ran, "pack VERSION_name", in order.
	Migrations []string      `json:"migrations"`
	Started    time.Time     `json:"started"`
	Committed  time.Time     `json:"committed,omitzero"` // zero until it commits
	Duration   time.Duration `json:"-"`                  // from its start to its end; 0 while running
}

// BatchPack is one pack of a batch: its version before and after.
type BatchPack struct {
	Pack      string `json:"pack"`
	From      string `json:"from"` // "" for a new pack
	To        string `json:"to"`
	Installed string `json:"installed,omitempty"` // the zip's name in Updates_Installed
}

// timeFormat is how upkeep's tables store times: UTC, microseconds.
const timeFormat = "2006-01-02T15:04:05.000000Z"

const batchColumns = `batch_id, host_id, hostname, packs, phase, outcome, reason, backup_id, zips, migrations, started_at, committed_at, duration_ms`

// RecordBatch writes b into upkeep_batches, replacing the row of the same
// host and batch id.
func (db *DB) RecordBatch(ctx context.Context, b BatchRecord) error {
	if err := db.ensure(ctx); err != nil {
		return err
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("packs: record batch %s: %w", b.ID, err)
	}
	defer tx.Rollback()
	if err := db.recordBatch(ctx, tx, b); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("packs: record batch %s: %w", b.ID, err)
	}
	return nil
}

// recordBatch replaces b's row on q: a delete and an insert, which every
// backend does the same way (MySQL's affected-rows count of an UPDATE
// that changes nothing is 0, so update-else-insert would not be).
func (db *DB) recordBatch(ctx context.Context, q querier, b BatchRecord) error {
	if b.ID == "" || b.Host == "" {
		return fmt.Errorf("packs: record batch: a batch needs an id and a host id")
	}
	packs, _ := json.Marshal(nonNil(b.Packs))
	zips, _ := json.Marshal(nonNil(b.Zips))
	migs, _ := json.Marshal(nonNil(b.Migrations))
	committed := ""
	if !b.Committed.IsZero() {
		committed = b.Committed.UTC().Format(timeFormat)
	}
	if _, err := q.ExecContext(ctx, db.q(`DELETE FROM upkeep_batches WHERE host_id = ? AND batch_id = ?`), b.Host, b.ID); err != nil {
		return fmt.Errorf("packs: record batch %s: %w", b.ID, err)
	}
	_, err := q.ExecContext(ctx, db.q(`INSERT INTO upkeep_batches (`+batchColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		b.ID, b.Host, b.Hostname, string(packs), b.Phase, b.Outcome, b.Reason, b.Backup, string(zips), string(migs),
		b.Started.UTC().Format(timeFormat), committed, b.Duration.Milliseconds())
	if err != nil {
		return fmt.Errorf("packs: record batch %s: %w", b.ID, err)
	}
	return nil
}

// LookupBatch returns the row of batch id run by host; nil, nil when
// there is none.
func (db *DB) LookupBatch(ctx context.Context, host, id string) (*BatchRecord, error) {
	if err := db.ensure(ctx); err != nil {
		return nil, err
	}
	bs, err := db.readBatches(ctx, `WHERE host_id = ? AND batch_id = ?`, host, id)
	if err != nil || len(bs) == 0 {
		return nil, err
	}
	return &bs[0], nil
}

// Batches returns the rows of upkeep_batches, newest first: every host's,
// or only host's when host is not "". limit <= 0 means all.
func (db *DB) Batches(ctx context.Context, host string, limit int) ([]BatchRecord, error) {
	if err := db.ensure(ctx); err != nil {
		return nil, err
	}
	where, args := "", []any(nil)
	if host != "" {
		where, args = "WHERE host_id = ?", []any{host}
	}
	where += " ORDER BY started_at DESC, batch_id DESC, host_id"
	if limit > 0 {
		where += fmt.Sprintf(" LIMIT %d", limit)
	}
	return db.readBatches(ctx, where, args...)
}

func (db *DB) readBatches(ctx context.Context, where string, args ...any) ([]BatchRecord, error) {
	if db.lacks("upkeep_batches") {
		return []BatchRecord{}, nil
	}
	rows, err := db.db.QueryContext(ctx, db.q(`SELECT `+batchColumns+` FROM upkeep_batches `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("packs: read upkeep_batches: %w", err)
	}
	defer rows.Close()
	out := []BatchRecord{}
	for rows.Next() {
		var (
			b                  BatchRecord
			packs, zips, migs  string
			started, committed string
			ms                 int64
		)
		if err := rows.Scan(&b.ID, &b.Host, &b.Hostname, &packs, &b.Phase, &b.Outcome, &b.Reason, &b.Backup, &zips, &migs, &started, &committed, &ms); err != nil {
			return nil, fmt.Errorf("packs: read upkeep_batches: %w", err)
		}
		err := errors.Join(json.Unmarshal([]byte(packs), &b.Packs), json.Unmarshal([]byte(zips), &b.Zips), json.Unmarshal([]byte(migs), &b.Migrations))
		if err != nil {
			return nil, fmt.Errorf("packs: read upkeep_batches: batch %s of host %s: %w", b.ID, b.Host, err)
		}
		b.Started, _ = time.Parse(timeFormat, started)
		if committed != "" {
			b.Committed, _ = time.Parse(timeFormat, committed)
		}
		b.Duration = time.Duration(ms) * time.Millisecond
		b.Packs, b.Zips, b.Migrations = nonNil(b.Packs), nonNil(b.Zips), nonNil(b.Migrations)
		out = append(out, b)
	}
	return out, rows.Err()
}
