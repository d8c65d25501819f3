package packs

import (
	"context"
	"fmt"
)

// Settings returns the pack's rows of upkeep_settings, where packs keep
// their settings (they are exported with the pack's tables).
func (db *DB) Settings(ctx context.Context, pack string) (map[string]string, error) {
	if err := db.ensure(ctx); err != nil {
		return nil, err
	}
	rows, err := db.db.QueryContext(ctx, db.q(`SELECT `+db.d.quote("key")+`, value FROM upkeep_settings WHERE pack = ?`), pack)
	if err != nil {
		return nil, fmt.Errorf("packs: read settings of pack %s: %w", pack, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("packs: read settings of pack %s: %w", pack, err)
		}
		out[k] = v
	}
	return out, rows.Err()
}

// SetSetting sets key of pack to value in upkeep_settings.
func (db *DB) SetSetting(ctx context.Context, pack, key, value string) error {
	if err := db.ensure(ctx); err != nil {
		return err
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("packs: set %s of pack %s: %w", key, pack, err)
	}
	defer tx.Rollback()
	k := db.d.quote("key")
	if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM upkeep_settings WHERE pack = ? AND `+k+` = ?`), pack, key); err != nil {
		return fmt.Errorf("packs: set %s of pack %s: %w", key, pack, err)
	}
	if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO upkeep_settings (pack, `+k+`, value) VALUES (?, ?, ?)`), pack, key, value); err != nil {
		return fmt.Errorf("packs: set %s of pack %s: %w", key, pack, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("packs: set %s of pack %s: %w", key, pack, err)
	}
	return nil
}
