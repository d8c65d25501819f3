// Package backupstore creates, lists, verifies, restores, prunes and
// exports the backups in a root's Updates_Backups folder: one plain zip
// per backup holding the root's files that changed since the backup before
// it, references to the unchanged ones, and a database snapshot.
//
// It imports [github.com/upkeep/upkeep/layout] and
// [github.com/upkeep/upkeep/internal/progress]; it never imports
// [github.com/upkeep/upkeep/updates], which calls it.
//
// # A backup
//
// A backup is Updates_Backups/ID.zip, where ID is the UTC time it was taken
// and its reason, 20261121T080000Z_before-install ([TimeFormat], reason
// through [SanitizeReason]). An existing backup is never overwritten: a
// second backup with the same name gets -2, -3, ... after the reason. Any
// unzip opens it:
//
//	backup.json           the [Manifest] (format 2): time, reason, upkeep
//	                      version, pack versions, base and depth, the database,
//	                      the backups whose zips it references (before the
//	                      entries) and every entry with its path, type, size, mode,
//	                      sha256, modification time (and symlink target;
//	                      inode and change time; the backup holding it)
//	files/PATH            every folder and symlink of the root and every file
//	                      this backup stores, with its Unix mode and
//	                      modification time; symlinks are zip symlink entries
//	                      and are never followed
//	database/app.db       the SQLite snapshot (named after the database file), or
//	database/dump.sql     the PostgreSQL or MySQL/MariaDB dump
//
// files/ holds everything in the root except Updates_Pending,
// Updates_Installed, Updates_Backups and .upkeep (at the top), the SQLite
// database files (PATH, PATH-wal, PATH-shm, PATH-journal), anything that is
// not a regular file, folder or symlink, and the caller's
// [CreateOptions.Exclude] globs. The zip's own file mode is 0600: it may
// hold secrets.
//
// # Incremental backups
//
// [Create] builds on the newest backup of kind full (the base)
// unless [CreateOptions.Full]: a regular file whose size, modification
// time, change time, inode and mode equal the base's record of the same
// path is not read; its record is the base's, with [File.Backup] naming the
// backup whose zip holds the entry files/PATH (the base, or the backup the
// base referenced: references are never chained). The others are read and
// stored as below. A stored file's record gets its inode and change time
// ([File.Inode], [File.CTime]) only when the change time is over a second
// before the backup began, so a file that might still change within the
// same time stamp is stored again next time. A backup that references
// nothing has depth 0 (full); one that does has the base's depth + 1, and
// when that would reach [FullEvery] the backup is full. A base whose
// referenced zips are not all there is not used.
//
// Reading a backup (restore, [Verify], [Export]) opens its zip and, once
// each, the zips of the backups its records name: ID.zip, or
// ID.pieces.zip when that backup was pruned ([PiecesSuffix]). Every entry
// is checked against the sha256 of the record that uses it.
//
// Format 1 (written before incremental backups) has no base, depth,
// backup, inode or ctime_ns: every entry is in its own zip, and a backup
// built on it stores every file.
//
// # Table exports
//
// Before db up, db down, --migrate-db and an install on MySQL/MariaDB,
// the tables of the packs concerned are exported (package packs writes the
// format) into a backup of kind tables ([Tables], [KindTables]):
// ID_db-PACKS.zip holding backup.json (Kind "tables", Tables the packs,
// Files every entry with its sha256) and the export under tables/. [List],
// [Show] and [Verify] treat it like a full backup; [OpenTables] verifies it
// and hands the export back to package packs, and [Restore] refuses it
// ([ErrTablesBackup]). A table export written before backup.json existed
// (export.json at the top of the zip) is read as one of kind tables whose
// entries are checked by CRC-32.
//
// # The database snapshot
//
// [CreateOptions.DB] names the database: "" is sqlite:data/app.db, "none"
// is no database; any other value is an address as package packs reads it
// (both read it with internal/dbaddr, so they agree on which database it
// names). The snapshot is taken by the backend's tooling (internal/dbsnap,
// chosen once from the address). SQLite (sqlite:PATH, relative to the
// root) is copied with VACUUM INTO a temp file (through
// [CreateOptions.SQL] when the caller has the database open): a
// consistent snapshot even while the database is in use. A SQLite file
// that does not exist means no snapshot, and backup.json says so in
// Database.Note. PostgreSQL (postgres://...) is dumped with pg_dump as
// plain SQL (--no-owner --no-privileges); MySQL/MariaDB
// (mysql://user:pass@host:port/db, or mariadb://) with mariadb-dump or
// mysqldump (--single-transaction --routines --triggers --events
// --hex-blob). Passwords go to the tools in PGPASSWORD and MYSQL_PWD,
// never on the command line, and backup.json records the address without
// them. A missing tool is a [*ToolMissingError] naming the Debian package.
//
// # How Create writes
//
// [Create] first adds up the sizes of the files and the database and
// refuses with a [*NoSpaceError] when the backups folder's file system has
// less free space. Then it writes the zip to a temp file in Updates_Backups
// (.tmp-backup-*.partial), fsyncs it and gives it its name with a hard
// link (which fails rather than replace a backup), then removes the temp
// name. On any failure the temp file is removed: a crash or an error never
// leaves a partial zip under a backup's name (a crash may leave a
// .tmp-backup-* file, which [List] ignores).
//
// Files are compressed on all cores: each worker reads a whole file once,
// computing sha256 and CRC-32 on the way, and deflates it
// (klauspost/compress, level 1 unless [CreateOptions.Level] says otherwise)
// into its own buffer; the writer takes the buffers in order and writes
// them as raw entries. A file whose first 64 KiB do not shrink by 10% at
// the fastest level is stored. At most workers+8 files are in flight and a
// buffer spills to an unlinked temp file past 4 MiB, so the buffers take at
// most 4 MiB times workers+8 (48 MiB on 4 cores), whatever the files.
//
// # Restore
//
// [Restore] refuses a backup whose entries (its own and those it
// references) do not match backup.json, and a
// database that is not of the backup's kind. Then it takes a backup of the
// present state (reason [ReasonBeforeRestore]) and goes through these
// states, each written to .upkeep/restore/journal.json ([Journal]) before
// the step begins:
//
//   - staging: the backup is extracted into .upkeep/restore/staging (every
//     file, on all cores, checked against its sha256 and fsynced) and the snapshot into
//     .upkeep/restore/database. The root is untouched. Recovery: remove
//     .upkeep/restore.
//   - swapping: the journal holds the plan. Aside lists the root paths
//     moved, in order, to .upkeep/restore/aside/PATH (the largest subtrees
//     that hold nothing excluded); In lists the staged paths then moved into
//     the root, in order. Each move is one rename. Recovery, rolling back:
//     for each In path, backwards, that is in the root and no longer in
//     staging, rename it back to staging; then for each Aside path,
//     backwards, that is still in aside, rename it back. (Rolling forward
//     is possible too: finish the moves in order, skipping those done.)
//   - database: the files are in place; the database is being restored.
//     SQLite: the snapshot is copied to PATH.upkeep-new, the present
//     PATH{,-wal,-shm,-journal} are renamed to PATH*.upkeep-old, and
//     PATH.upkeep-new is renamed to PATH. PostgreSQL: psql
//     --single-transaction -v ON_ERROR_STOP=1 drops schema public's objects
//     (not those of extensions) and loads the dump, all or nothing.
//     MySQL: the database is dropped and recreated with its own CREATE
//     DATABASE statement and the dump is loaded (MySQL DDL commits as it
//     goes). Recovery: roll forward by running this step again (it is
//     idempotent), or roll back: SQLite from the .upkeep-old files, MySQL by
//     loading the before-restore backup's dump, then the files as above.
//   - cleanup: everything is in place; remove .upkeep/restore and the
//     .upkeep-old files. Recovery: the same.
//   - rolling-back: a failure happened and the rollback above is under way
//     (or failed: then the journal stays and [RestoreError.RolledBack] is
//     false). From says the state it started from. Recovery: the rollback
//     of that state.
//
// On a failure in swapping or database, Restore rolls back itself and
// returns a [*RestoreError] with RolledBack set. While a journal exists,
// Restore refuses with [ErrRestoreInProgress]. [Recover] (which the
// bootstrap calls at start, under the lock) does what the list above says:
// it rolls back every state but cleanup, which it finishes, and it can run
// again if it is itself interrupted. [ReadJournal] shows the state.
// Files the backup does not hold are gone after a restore (they are in the
// before-restore backup); excluded paths, upkeep's folders and the database
// files are left alone. The caller holds the root's lock.
//
// # Keeping backups
//
// [Prune] keeps the [DefaultKeep] (or N) newest backups and removes the
// others, except those whose ID the caller passes and those marked with
// [MarkProtected], which do not count towards N. Marks live in
// .upkeep/protected-backups, one ID a line; the install code marks the
// backup taken before the last install, and [Unprotect] removes a mark.
// [PruneReason] is the retention after an install: the newest N backups of
// one reason stay. Both keep every entry a kept backup references: a
// removed backup that kept ones reference becomes ID.pieces.zip, renamed
// when at most a quarter of it is unneeded, otherwise repacked (the needed
// entries and backup.json copied raw into a temp file, fsynced, renamed
// into place, then ID.zip removed). Pieces nothing needs are removed, and
// repacked when a quarter or more is unneeded. [PruneReason] reads only the
// heads of backup.json when they list their references (every backup.json
// written since that key exists): a referenced backup that goes becomes its
// pieces by a rename, unreferenced pieces go, and repacking waits for
// [Prune]. A crash between any two
// steps leaves every kept backup readable; at worst ID.zip and
// ID.pieces.zip both exist, and ID.zip serves until the next prune.
//
// # Export
//
// [Export] writes any backup as one standalone zip: every entry copied as
// it is compressed from the zip that holds it (after checking its sha256),
// and a backup.json with no base and no references.
//
// # Progress
//
// [CreateOptions.Progress] and [RestoreOptions.Progress] take a writer:
// a progress bar with bytes done, total and rate when it is a terminal,
// otherwise a line like "backup: 120/2000 files, 45 MB/400 MB" at most
// once a second; nil is silent.
package backupstore
