package packs

import (
	"context"
	"fmt"
	"time"
)

// HistoryEntry is one row of upkeep_migrations.
type HistoryEntry struct {
	ID        int64
	Pack      string
	Version   int
	Name      string
	SHA256    string
	Direction string // "up", "down", "baseline" or "accept"
	AppliedAt time.Time
	Duration  time.Duration
}

// History returns the last limit rows of upkeep_migrations, newest first
// (limit <= 0: all).
func (db *DB) History(ctx context.Context, limit int) ([]HistoryEntry, error) {
	if err := db.ensure(ctx); err != nil {
		return nil, err
	}
	if db.lacks("upkeep_migrations") {
		return nil, nil
	}
	q := `SELECT id, pack, version, name, sha256, direction, applied_at, duration_ms FROM upkeep_migrations ORDER BY id DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := db.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("packs: read history: %w", err)
	}
	defer rows.Close()
	var out []HistoryEntry
	for rows.Next() {
		var (
			h  HistoryEntry
			at string
			ms int64
		)
		if err := rows.Scan(&h.ID, &h.Pack, &h.Version, &h.Name, &h.SHA256, &h.Direction, &at, &ms); err != nil {
			return nil, fmt.Errorf("packs: read history: %w", err)
		}
		h.AppliedAt, _ = time.Parse("2006-01-02T15:04:05.000000Z", at)
		h.Duration = time.Duration(ms) * time.Millisecond
		out = append(out, h)
	}
	return out, rows.Err()
}
