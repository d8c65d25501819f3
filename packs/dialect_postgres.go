package packs

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/upkeep/upkeep/internal/sqlsplit"
)

// lockKey is the advisory lock key of upkeep's migrations (PostgreSQL
// pg_advisory_lock); setupLockKey serializes the creation of upkeep's
// tables.
const (
	lockKey      int64 = 0x75706b656570 // "upkeep"
	setupLockKey int64 = 0x75706b656571
)

// postgresDialect is PostgreSQL through pgx. DDL is transactional; the
// migration lock is a session advisory lock, polled with
// pg_try_advisory_lock until the timeout.
type postgresDialect struct{}

func (postgresDialect) name() string            { return "postgres" }
func (postgresDialect) flavor() sqlsplit.Flavor { return sqlsplit.Postgres }
func (postgresDialect) quote(id string) string  { return `"` + strings.ReplaceAll(id, `"`, `""`) + `"` }
func (postgresDialect) rebind(q string) string  { return questionToDollar(q) }
func (postgresDialect) transactionalDDL() bool  { return true }

func (d postgresDialect) insertPrefix(t string, c []string) string {
	return insertColumns(d, t, c) + "OVERRIDING SYSTEM VALUE "
}

// setupLock: two processes creating the same tables at once collide in
// the catalog; the transaction-scoped lock makes the second wait.
func (postgresDialect) setupLock(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, setupLockKey)
	return err
}

func (postgresDialect) hostsTable() string {
	return `CREATE TABLE IF NOT EXISTS upkeep_hosts (host_id TEXT NOT NULL, hostname TEXT NOT NULL, root TEXT NOT NULL, pack TEXT NOT NULL, files_version TEXT NOT NULL, code_schema_version BIGINT NOT NULL, seen_at TEXT NOT NULL, PRIMARY KEY (host_id, pack))`
}

func (postgresDialect) setup(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := (postgresDialect{}).setupLock(ctx, tx); err != nil {
		return err
	}
	for _, s := range []string{
		`CREATE TABLE IF NOT EXISTS upkeep_packs (pack TEXT PRIMARY KEY, version TEXT NOT NULL DEFAULT '', schema_version BIGINT NOT NULL DEFAULT 0, installed_at TEXT NOT NULL, updated_at TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS upkeep_settings (pack TEXT NOT NULL, "key" TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (pack, "key"))`,
		`CREATE TABLE IF NOT EXISTS upkeep_migrations (id BIGSERIAL PRIMARY KEY, pack TEXT NOT NULL, version BIGINT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL, direction TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS upkeep_migrations_pack ON upkeep_migrations (pack, version)`,
		`CREATE TABLE IF NOT EXISTS upkeep_schema (pack TEXT NOT NULL, table_name TEXT NOT NULL, table_version BIGINT NOT NULL, schema_text TEXT NOT NULL, PRIMARY KEY (pack, table_name))`,
		`CREATE TABLE IF NOT EXISTS upkeep_progress (pack TEXT PRIMARY KEY, version BIGINT NOT NULL, file TEXT NOT NULL, statements_done INTEGER NOT NULL, done_sha256 TEXT NOT NULL, updated_at TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS upkeep_batches (batch_id TEXT NOT NULL, host_id TEXT NOT NULL, hostname TEXT NOT NULL, packs TEXT NOT NULL, phase TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT NOT NULL, backup_id TEXT NOT NULL, zips TEXT NOT NULL, migrations TEXT NOT NULL, started_at TEXT NOT NULL, committed_at TEXT NOT NULL, duration_ms BIGINT NOT NULL, PRIMARY KEY (host_id, batch_id))`,
	} {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	// Databases made before versions could be timestamps have INTEGER
	// version columns: widen them.
	rows, err := tx.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND data_type = 'integer' AND (table_name, column_name) IN
		(('upkeep_packs', 'schema_version'), ('upkeep_migrations', 'version'), ('upkeep_schema', 'table_version'), ('upkeep_progress', 'version'))`)
	if err != nil {
		return err
	}
	var alter []string
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			rows.Close()
			return err
		}
		alter = append(alter, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE BIGINT", t, c))
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, a := range alter {
		if _, err := tx.ExecContext(ctx, a); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (postgresDialect) lock(ctx context.Context, conn *sql.Conn, timeout time.Duration) (*sql.Tx, error) {
	start := time.Now()
	deadline := start.Add(timeout)
	wait := 5 * time.Millisecond
	for {
		var ok bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, lockKey).Scan(&ok); err != nil {
			return nil, err
		}
		if ok {
			return nil, nil
		}
		if time.Now().After(deadline) {
			return nil, &LockedError{Backend: "postgres", Waited: time.Since(start).Round(time.Millisecond), Holder: postgresHolder(ctx, conn)}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(wait, time.Until(deadline)+time.Millisecond)):
		}
		wait = min(wait*2, 200*time.Millisecond)
	}
}

// postgresHolder names the session that holds upkeep's advisory lock.
func postgresHolder(ctx context.Context, conn *sql.Conn) string {
	var (
		pid     int
		app     string
		addr    sql.NullString
		started sql.NullTime
	)
	err := conn.QueryRowContext(ctx, `
SELECT a.pid, COALESCE(a.application_name, ''), host(a.client_addr), a.backend_start
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid AND l.objsubid = 1
LIMIT 1`, lockKey).Scan(&pid, &app, &addr, &started)
	if err != nil {
		return ""
	}
	client := addr.String
	if client == "" {
		client = "local socket"
	}
	return fmt.Sprintf("PostgreSQL backend pid %d (application_name %q, client %s, connected since %s)", pid, app, client, started.Time.UTC().Format(time.RFC3339))
}

// tableLockWait sets lock_timeout for the run's transaction only (SET
// LOCAL), so nothing needs restoring.
func (postgresDialect) tableLockWait(ctx context.Context, _ *sql.Conn, tx *sql.Tx, d time.Duration) error {
	if d <= 0 || tx == nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", d.Milliseconds()))
	return err
}

func (postgresDialect) unlock(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, lockKey)
	return err
}

func (postgresDialect) tableNames(ctx context.Context, q querier) ([]string, error) {
	return queryStrings(ctx, q, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
}

func (postgresDialect) tableSchema(ctx context.Context, q querier, table string) (*TableSchema, error) {
	var exists bool
	name := postgresDialect{}.quote(table)
	if err := q.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		return nil, nil
	}
	rows, err := q.QueryContext(ctx, `
SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, COALESCE(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity::text
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`, name)
	if err != nil {
		return nil, err
	}
	s := &TableSchema{}
	for rows.Next() {
		var c Column
		var ident string
		if err := rows.Scan(&c.Name, &c.Type, &c.Nullable, &c.Default, &ident); err != nil {
			rows.Close()
			return nil, err
		}
		switch ident {
		case "a":
			c.Default = "GENERATED ALWAYS AS IDENTITY"
		case "d":
			c.Default = "GENERATED BY DEFAULT AS IDENTITY"
		}
		s.Columns = append(s.Columns, c)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, `
SELECT i.relname, ix.indisunique, ix.indisprimary, pg_get_indexdef(ix.indexrelid)
FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
WHERE ix.indrelid = to_regclass($1)
ORDER BY i.relname`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var ix Index
		var primary bool
		if err := rows.Scan(&ix.Name, &ix.Unique, &primary, &ix.Def); err != nil {
			return nil, err
		}
		if primary {
			ix.Name = "PRIMARY KEY"
		}
		s.Indexes = append(s.Indexes, ix)
	}
	return s, rows.Err()
}

// tableDDL builds CREATE TABLE from the catalog: columns (serial sequences
// and identity included), constraints, then the indexes that no constraint
// creates.
// foreignKeyChecks does nothing: foreign keys are added after every table
// is back (tableDDL's after).
func (postgresDialect) foreignKeyChecks(context.Context, *sql.Conn, bool) error { return nil }

func (d postgresDialect) selectColumn(col string) string { return d.quote(col) }

func (d postgresDialect) tableDDL(ctx context.Context, q querier, table string) ([]string, []string, error) {
	name := d.quote(table)
	rows, err := q.QueryContext(ctx, `
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, COALESCE(pg_get_expr(ad.adbin, ad.adrelid), ''), a.attidentity::text,
       COALESCE(pg_get_serial_sequence($1, a.attname), '')
FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`, name)
	if err != nil {
		return nil, nil, err
	}
	var (
		cols, pre, post, fks []string
	)
	for rows.Next() {
		var (
			col, typ, def, ident, seq string
			notnull                   bool
		)
		if err := rows.Scan(&col, &typ, &notnull, &def, &ident, &seq); err != nil {
			rows.Close()
			return nil, nil, err
		}
		c := d.quote(col) + " " + typ
		switch {
		case ident == "a":
			c += " GENERATED ALWAYS AS IDENTITY"
		case ident == "d":
			c += " GENERATED BY DEFAULT AS IDENTITY"
		case def != "":
			c += " DEFAULT " + def
			if seq != "" {
				pre = append(pre, "CREATE SEQUENCE IF NOT EXISTS "+seq)
				post = append(post, "ALTER SEQUENCE "+seq+" OWNED BY "+name+"."+d.quote(col))
			}
		}
		if notnull {
			c += " NOT NULL"
		}
		cols = append(cols, c)
	}
	if err := rows.Close(); err != nil {
		return nil, nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT conname, contype = 'f', pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype IN ('p','u','c','f','x') ORDER BY conname`, name)
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var (
			cn, def string
			fk      bool
		)
		if err := rows.Scan(&cn, &fk, &def); err != nil {
			rows.Close()
			return nil, nil, err
		}
		if fk {
			fks = append(fks, "ALTER TABLE "+name+" ADD CONSTRAINT "+d.quote(cn)+" "+def)
			continue
		}
		cols = append(cols, "CONSTRAINT "+d.quote(cn)+" "+def)
	}
	if err := rows.Close(); err != nil {
		return nil, nil, err
	}
	rows, err = q.QueryContext(ctx, `
SELECT pg_get_indexdef(ix.indexrelid) FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
WHERE ix.indrelid = to_regclass($1) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)
ORDER BY i.relname`, name)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var idx []string
	for rows.Next() {
		var def string
		if err := rows.Scan(&def); err != nil {
			return nil, nil, err
		}
		idx = append(idx, def)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	out := append(pre, "CREATE TABLE "+name+" (\n  "+strings.Join(cols, ",\n  ")+"\n)")
	out = append(out, post...)
	return append(out, idx...), fks, nil
}

// afterRestore sets each serial or identity sequence of table past its
// highest value.
func (d postgresDialect) afterRestore(ctx context.Context, q querier, table string) error {
	name := d.quote(table)
	rows, err := q.QueryContext(ctx, `
SELECT a.attname, pg_get_serial_sequence($1, a.attname) FROM pg_attribute a
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND pg_get_serial_sequence($1, a.attname) IS NOT NULL`, name)
	if err != nil {
		return err
	}
	type seq struct{ col, seq string }
	var seqs []seq
	for rows.Next() {
		var s seq
		if err := rows.Scan(&s.col, &s.seq); err != nil {
			rows.Close()
			return err
		}
		seqs = append(seqs, s)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, s := range seqs {
		c := d.quote(s.col)
		if _, err := q.ExecContext(ctx, fmt.Sprintf(`SELECT setval($1, COALESCE((SELECT MAX(%s) FROM %s), 0) + 1, false)`, c, name), s.seq); err != nil {
			return err
		}
	}
	return nil
}
