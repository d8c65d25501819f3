package packs

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/upkeep/upkeep/internal/sqlsplit"
)

// mysqlLockExpr is the GET_LOCK name of upkeep's migrations. GET_LOCK
// names are server-wide, so the name holds the database's: applications in
// other databases of the same server do not wait for each other.
const mysqlLockExpr = "LEFT(CONCAT('upkeep:', DATABASE()), 64)"

// mysqlDialect is MySQL and MariaDB through go-sql-driver/mysql. DDL commits
// implicitly, so progress is recorded after each statement; the migration
// lock is GET_LOCK.
type mysqlDialect struct{}

func (mysqlDialect) name() string            { return "mysql" }
func (mysqlDialect) flavor() sqlsplit.Flavor { return sqlsplit.MySQL }
func (mysqlDialect) quote(id string) string  { return "`" + strings.ReplaceAll(id, "`", "``") + "`" }
func (mysqlDialect) rebind(q string) string  { return q }
func (mysqlDialect) transactionalDDL() bool  { return false }
func (d mysqlDialect) insertPrefix(t string, c []string) string {
	return insertColumns(d, t, c)
}
func (mysqlDialect) afterRestore(context.Context, querier, string) error { return nil }

func (mysqlDialect) foreignKeyChecks(ctx context.Context, conn *sql.Conn, on bool) error {
	v := 0
	if on {
		v = 1
	}
	_, err := conn.ExecContext(ctx, fmt.Sprintf("SET FOREIGN_KEY_CHECKS = %d", v))
	return err
}

// setupLock does nothing: MySQL's metadata locks serialize CREATE TABLE.
func (mysqlDialect) setupLock(context.Context, *sql.Tx) error { return nil }

func (mysqlDialect) hostsTable() string {
	return "CREATE TABLE IF NOT EXISTS upkeep_hosts (host_id VARCHAR(64) NOT NULL, hostname VARCHAR(255) NOT NULL, root TEXT NOT NULL, pack VARCHAR(191) NOT NULL, files_version VARCHAR(191) NOT NULL, code_schema_version BIGINT NOT NULL, seen_at VARCHAR(32) NOT NULL, PRIMARY KEY (host_id, pack))"
}

func (mysqlDialect) setup(ctx context.Context, db *sql.DB) error {
	for _, s := range []string{
		"CREATE TABLE IF NOT EXISTS upkeep_packs (pack VARCHAR(191) NOT NULL PRIMARY KEY, version VARCHAR(191) NOT NULL DEFAULT '', schema_version BIGINT NOT NULL DEFAULT 0, installed_at VARCHAR(32) NOT NULL, updated_at VARCHAR(32) NOT NULL)",
		"CREATE TABLE IF NOT EXISTS upkeep_settings (pack VARCHAR(191) NOT NULL, `key` VARCHAR(191) NOT NULL, value TEXT NOT NULL, PRIMARY KEY (pack, `key`))",
		"CREATE TABLE IF NOT EXISTS upkeep_migrations (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, pack VARCHAR(191) NOT NULL, version BIGINT NOT NULL, name VARCHAR(255) NOT NULL, sha256 VARCHAR(64) NOT NULL, direction VARCHAR(16) NOT NULL, applied_at VARCHAR(32) NOT NULL, duration_ms BIGINT NOT NULL, INDEX upkeep_migrations_pack (pack, version))",
		"CREATE TABLE IF NOT EXISTS upkeep_schema (pack VARCHAR(191) NOT NULL, table_name VARCHAR(191) NOT NULL, table_version BIGINT NOT NULL, schema_text MEDIUMTEXT NOT NULL, PRIMARY KEY (pack, table_name))",
		"CREATE TABLE IF NOT EXISTS upkeep_progress (pack VARCHAR(191) NOT NULL PRIMARY KEY, version BIGINT NOT NULL, file VARCHAR(255) NOT NULL, statements_done INT NOT NULL, done_sha256 VARCHAR(64) NOT NULL, updated_at VARCHAR(32) NOT NULL)",
		"CREATE TABLE IF NOT EXISTS upkeep_batches (batch_id VARCHAR(64) NOT NULL, host_id VARCHAR(64) NOT NULL, hostname VARCHAR(255) NOT NULL, packs MEDIUMTEXT NOT NULL, phase VARCHAR(16) NOT NULL, outcome VARCHAR(16) NOT NULL, reason TEXT NOT NULL, backup_id VARCHAR(191) NOT NULL, zips MEDIUMTEXT NOT NULL, migrations MEDIUMTEXT NOT NULL, started_at VARCHAR(32) NOT NULL, committed_at VARCHAR(32) NOT NULL, duration_ms BIGINT NOT NULL, PRIMARY KEY (host_id, batch_id))",
		// DDL is not transactional here: the maintenance row (maintenance.go).
		"CREATE TABLE IF NOT EXISTS upkeep_maintenance (id INT NOT NULL PRIMARY KEY, host_id VARCHAR(64) NOT NULL, hostname VARCHAR(255) NOT NULL, root TEXT NOT NULL, batch_id VARCHAR(64) NOT NULL, started_at VARCHAR(32) NOT NULL, renewed_at VARCHAR(32) NOT NULL)",
	} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	// Databases made before versions could be timestamps have INT version
	// columns: widen them.
	rows, err := db.QueryContext(ctx, `SELECT TABLE_NAME, COLUMN_NAME, IS_NULLABLE, COLUMN_DEFAULT FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = DATABASE() AND DATA_TYPE = 'int' AND (TABLE_NAME, COLUMN_NAME) IN
		(('upkeep_packs', 'schema_version'), ('upkeep_migrations', 'version'), ('upkeep_schema', 'table_version'), ('upkeep_progress', 'version'))`)
	if err != nil {
		return err
	}
	var alter []string
	for rows.Next() {
		var t, c, nullable string
		var def sql.NullString
		if err := rows.Scan(&t, &c, &nullable, &def); err != nil {
			rows.Close()
			return err
		}
		a := fmt.Sprintf("ALTER TABLE %s MODIFY %s BIGINT NOT NULL", t, c)
		if c == "schema_version" {
			a += " DEFAULT 0"
		}
		alter = append(alter, a)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, a := range alter {
		if _, err := db.ExecContext(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

func (mysqlDialect) lock(ctx context.Context, conn *sql.Conn, timeout time.Duration) (*sql.Tx, error) {
	start := time.Now()
	// MariaDB and MySQL 8 take fractions of a second; older MySQL rounds.
	secs := math.Round(timeout.Seconds()*1000) / 1000
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK("+mysqlLockExpr+", ?)", secs).Scan(&got); err != nil {
		return nil, err
	}
	if got.Valid && got.Int64 == 1 {
		return nil, nil
	}
	holder := ""
	var id sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT IS_USED_LOCK("+mysqlLockExpr+")").Scan(&id); err == nil && id.Valid {
		holder = fmt.Sprintf("MySQL connection id %d", id.Int64)
		var user, host sql.NullString
		if err := conn.QueryRowContext(ctx, "SELECT user, host FROM information_schema.processlist WHERE id = ?", id.Int64).Scan(&user, &host); err == nil {
			holder += fmt.Sprintf(" (%s@%s)", user.String, host.String)
		}
	}
	return nil, &LockedError{Backend: "mysql", Waited: time.Since(start).Round(time.Millisecond), Holder: holder}
}

// tableLockWait sets the session's lock_wait_timeout (metadata locks, whole
// seconds, at least 1); 0 puts the server's default back.
func (mysqlDialect) tableLockWait(ctx context.Context, conn *sql.Conn, _ *sql.Tx, d time.Duration) error {
	if d <= 0 {
		_, err := conn.ExecContext(ctx, "SET SESSION lock_wait_timeout = DEFAULT")
		return err
	}
	_, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", max(1, int(math.Ceil(d.Seconds())))))
	return err
}

func (mysqlDialect) unlock(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, "SELECT RELEASE_LOCK("+mysqlLockExpr+")")
	return err
}

func (mysqlDialect) tableNames(ctx context.Context, q querier) ([]string, error) {
	return queryStrings(ctx, q, `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name`)
}

func (mysqlDialect) tableSchema(ctx context.Context, q querier, table string) (*TableSchema, error) {
	rows, err := q.QueryContext(ctx, `SELECT column_name, column_type, is_nullable, column_default, extra
FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position`, table)
	if err != nil {
		return nil, err
	}
	s := &TableSchema{}
	for rows.Next() {
		var (
			c        Column
			nullable string
			dflt     sql.NullString
			extra    string
		)
		if err := rows.Scan(&c.Name, &c.Type, &nullable, &dflt, &extra); err != nil {
			rows.Close()
			return nil, err
		}
		c.Type = strings.ToUpper(c.Type)
		c.Nullable = nullable == "YES"
		if dflt.Valid && dflt.String != "NULL" { // MariaDB says NULL for no default
			c.Default = dflt.String
		}
		if extra = strings.TrimSpace(extra); extra != "" {
			c.Default = strings.TrimSpace(c.Default + " " + strings.ToUpper(extra))
		}
		s.Columns = append(s.Columns, c)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if len(s.Columns) == 0 {
		return nil, nil
	}
	rows, err = q.QueryContext(ctx, `SELECT index_name, non_unique, column_name FROM information_schema.statistics
WHERE table_schema = DATABASE() AND table_name = ? ORDER BY index_name, seq_in_index`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name, col string
			nonUnique int
		)
		if err := rows.Scan(&name, &nonUnique, &col); err != nil {
			return nil, err
		}
		if name == "PRIMARY" {
			name = "PRIMARY KEY"
		}
		if n := len(s.Indexes); n == 0 || s.Indexes[n-1].Name != name {
			s.Indexes = append(s.Indexes, Index{Name: name, Unique: nonUnique == 0})
		}
		s.Indexes[len(s.Indexes)-1].Columns = append(s.Indexes[len(s.Indexes)-1].Columns, col)
	}
	return s, rows.Err()
}

func (d mysqlDialect) tableDDL(ctx context.Context, q querier, table string) ([]string, []string, error) {
	var name, ddl string
	if err := q.QueryRowContext(ctx, "SHOW CREATE TABLE "+d.quote(table)).Scan(&name, &ddl); err != nil {
		return nil, nil, err
	}
	return []string{ddl}, nil, nil // restored with FOREIGN_KEY_CHECKS = 0
}

func (d mysqlDialect) selectColumn(col string) string { return d.quote(col) }
