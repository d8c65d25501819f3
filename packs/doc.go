// Package packs knows the packs installed in a root and keeps each pack's
// database schema at the version its code expects.
//
// It reads installed packs (packs/<name>/manifest.json) and will hold the
// migration engine, the database dialects and locks, and the drift checks.
// It imports [github.com/upkeep/upkeep/manifest] and nothing higher.
//
// # Databases
//
// [Open] takes sqlite:PATH (the default, root/data/app.db), postgres://...
// or mysql://user:pass@host:port/db and creates upkeep's tables when they
// are missing: upkeep_packs, upkeep_settings, upkeep_migrations,
// upkeep_schema, upkeep_progress (where a migration stopped part way on
// a backend whose DDL is not transactional) and upkeep_batches (every
// install batch: [DB.RecordBatch], [DB.Batches], [UpOptions.Batch]). What differs between backends
// is one unexported interface, dialect (see dialect.go for the checklist to
// add one); the conformance suite in conformance_test.go runs on all.
//
// # Migrations
//
// A pack's migrations ([Pack], [Migration]) come from its migrations/
// folder ([LoadPack], [LoadPacks], [ReadMigrationsDir]), from an fs.FS such
// as an embed.FS ([ReadMigrationsFS]), or from Go ([RegisterGo]). Files
// follow golang-migrate naming, VERSION_name.up.sql and .down.sql, numbered
// 1..N. Multi-statement files are split by upkeep (internal/sqlsplit).
//
//   - [DB.Status] and [DB.Check] compare code and database: pending
//     migrations (*[BehindError]), a database newer than the code
//     (*[DowngradeError]) and applied migrations whose files changed
//     (*[ChecksumError], cleared by [DB.AcceptChanged]).
//   - [DB.Up] migrates, holding the database's lock, after exporting the
//     packs' tables, in a format of its own ([DB.ExportTables], [DB.RestoreTables]),
//     kept where a [TableStore] says (backupstore keeps them in Updates_Backups).
//     On SQLite and PostgreSQL a run is one transaction; on MySQL/MariaDB
//     progress is kept per statement and a failed run resumes, or, with
//     [UpOptions].RestoreOnFailure, is undone from the export.
//     [UpOptions].TableLockTimeout keeps a migration from queueing the
//     application's queries behind a table lock.
//   - [DB.Down], [DB.Baseline], [DB.History], [DB.Lock].
//   - [DB.Drift] and [DB.Verify] compare each table's live schema with the
//     one recorded after its pack's last migration.
//
// Errors are in errors.go; the CLI maps them to upkeep's exit codes.
package packs
