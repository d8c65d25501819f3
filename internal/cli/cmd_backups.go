package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/internal/lock"
	"github.com/upkeep/upkeep/internal/progress"
	"github.com/upkeep/upkeep/jsondoc"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
)

func backupsCommand() *cli.Command {
	return &cli.Command{
		Name:  "backups",
		Usage: "the backups in Updates_Backups: create, list, show, verify, restore, prune, export",
		Subcommands: []*cli.Command{
			{
				Name: "create",
				Usage: "back up the root's files and the database; files the newest backup holds unchanged (same size, " +
					"modification time, change time and inode) are referenced, not copied, and every " + fmt.Sprint(backupstore.FullEvery) + "th backup is full",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "reason", Value: "manual", Usage: "`WORD` in the backup's name"},
					&cli.BoolFlag{Name: "full", Usage: "store every file, referencing none: start a new chain"},
				},
				Action: action(runBackupsCreate),
			},
			{Name: "list", Usage: "the backups, newest first", Action: rootAction(runBackupsList)},
			{Name: "show", Usage: "what a backup holds", ArgsUsage: "ID", Before: before(argOne("ID")), Action: rootAction(runBackupsShow)},
			{Name: "verify", Usage: "read a backup in full and check every file's sha256, those it references in earlier backups too; exit 1 on any problem (a referenced backup that is gone included)", ArgsUsage: "ID", Before: before(argOne("ID")), Action: rootAction(runBackupsVerify)},
			{
				Name:      "restore",
				Usage:     "put the root's files and the database back as a backup holds them (a backup of the present state is taken first); or, for a database export of db up, put the packs' tables back; refused while other hosts share the database, unless --all-hosts or --files-only",
				ArgsUsage: "ID",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "files-only", Usage: "restore this root's files alone and leave the database as it is"},
					allHostsFlag(),
				},
				Before: before(argOne("ID")),
				Action: rootAction(runBackupsRestore),
			},
			{
				Name:   "prune",
				Usage:  "delete all but the newest backups; the backup of the last install is always kept, and so is what a kept backup references (as ID.pieces.zip)",
				Flags:  []cli.Flag{&cli.IntFlag{Name: "keep", Value: 5, Usage: "keep the `N` newest"}},
				Before: before(backupsPruneUsage),
				Action: rootAction(runBackupsPrune),
			},
			{
				Name:      "export",
				Usage:     "write a backup as one standalone plain zip (its referenced files included) that any unzip restores",
				ArgsUsage: "ID",
				Flags:     []cli.Flag{&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the zip to `FULL.zip` (required)"}},
				Before:    before(argOne("ID"), backupsExportUsage),
				Action:    action(runBackupsExport),
			},
		},
	}
}

// rootLock takes the root's lock for a command that changes the root.
func rootLock(c *cli.Context, g *GlobalOptions, what string) (layout.Root, *lock.Lock, error) {
	root := g.Root
	if err := root.Ensure(); err != nil {
		return root, nil, err
	}
	l, err := lock.Acquire(c.Context, root.Lock(), what, g.LockTimeout)
	return root, l, err
}

func runBackupsCreate(c *cli.Context, g *GlobalOptions) error {
	root, l, err := rootLock(c, g, "backups create")
	if err != nil {
		return err
	}
	defer l.Release()
	versions := map[string]string{}
	if installed, err := packs.List(root.Packs()); err == nil {
		for _, p := range installed {
			versions[p.Name] = p.Manifest.Version
		}
	}
	opts := backupstore.CreateOptions{Root: root, Reason: c.String("reason"), UpkeepVersion: Version, Packs: versions, DB: g.DB, Full: c.Bool("full")}
	if !g.Quiet {
		opts.Progress = g.Stderr
	}
	b, err := backupstore.Create(c.Context, opts)
	if err != nil && c.Context.Err() != nil {
		return fmt.Errorf("%w; the unfinished backup was removed, nothing was changed", context.Cause(c.Context))
	}
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.Stdout, jsondoc.BackupCreated{Backup: jsondoc.NewBackup(*b)})
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "wrote backup %s: %d files, %s, database %s (%s)\n", b.ID, b.Files, progress.FormatBytes(b.Bytes), b.Database, b.Path)
		if b.Base != "" {
			fmt.Fprintf(g.Stdout, "  %s written; unchanged files are referenced in earlier backups (built on %s)\n", progress.FormatBytes(b.Size), b.Base)
		}
	}
	return nil
}

func runBackupsList(c *cli.Context, g *GlobalOptions) error {
	root := g.Root
	list, err := backupstore.List(root)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.Stdout, jsondoc.NewBackups(list))
	}
	if len(list) == 0 {
		fmt.Fprintf(g.Stdout, "No backups in %s.\n", root.Backups())
		return nil
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED (UTC)\tKIND\tFILES\tSIZE\tNOTE")
	for _, b := range list {
		kind, note := "backup", ""
		if b.Base != "" {
			kind = "incremental"
		}
		if b.Kind == backupstore.KindTables {
			kind = "db export"
		}
		if b.Err != nil {
			kind, note = "unreadable", b.Err.Error()
		}
		if b.Note != "" {
			note = strings.TrimPrefix(note+"; "+b.Note, "; ")
		}
		if b.Protected {
			note = strings.TrimPrefix(note+"; kept: backup of the last install", "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", b.ID, b.Created.UTC().Format(time.DateTime), kind, b.Files, progress.FormatBytes(b.Size), note)
	}
	return tw.Flush()
}

func runBackupsShow(c *cli.Context, g *GlobalOptions) error {
	id, err := oneArg(c, "ID")
	if err != nil {
		return err
	}
	root := g.Root
	m, err := backupstore.Show(root, id)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.Stdout, struct {
			ID     string                `json:"id"`
			Backup *backupstore.Manifest `json:"backup"`
		}{id, m})
	}
	var total int64
	for _, f := range m.Files {
		total += f.Size
	}
	fmt.Fprintf(g.Stdout, "Backup %s\n  created  %s (%s)\n  by       upkeep %s\n  files    %d, %s\n  database %s\n", id, m.Created.UTC().Format(time.DateTime), m.Reason, m.UpkeepVersion, len(m.Files), progress.FormatBytes(total), m.Database.Kind)
	for _, p := range sortedKeys(m.Packs) {
		fmt.Fprintf(g.Stdout, "  pack     %s %s\n", p, m.Packs[p])
	}
	if m.Kind == backupstore.KindTables {
		fmt.Fprintf(g.Stdout, "  kind     tables of %s (restore puts back these packs' tables, settings and schema versions)\n", strings.Join(m.Tables, ", "))
	}
	return nil
}

func runBackupsVerify(c *cli.Context, g *GlobalOptions) error {
	id, err := oneArg(c, "ID")
	if err != nil {
		return err
	}
	root := g.Root
	if err := backupstore.Verify(root, id); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.Stdout, struct {
			ID string `json:"id"`
			OK bool   `json:"ok"`
		}{id, true})
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "%s: ok: every file matches its size and sha256\n", id)
	}
	return nil
}

func runBackupsRestore(c *cli.Context, g *GlobalOptions) error {
	id, err := oneArg(c, "ID")
	if err != nil {
		return err
	}
	root, l, err := rootLock(c, g, "backups restore")
	if err != nil {
		return err
	}
	defer l.Release()
	// The backup says what it holds: a full backup, or the tables of some
	// packs (taken by db up, db down or an install on MySQL/MariaDB).
	m, err := backupstore.Show(root, id)
	if err != nil {
		return err
	}
	filesOnly := c.Bool("files-only")
	if m.Kind == backupstore.KindTables {
		if filesOnly {
			return usageError("backups restore --files-only: backup %s is a database export of the tables of %s, it holds no files", id, strings.Join(m.Tables, ", "))
		}
		return restoreTables(c, g, root, id)
	}
	if !filesOnly && m.Database.Snapshot != nil {
		err := refuseSharedRestore(c, g, "restoring backup "+id+" with its database",
			"restore this host's files alone with --files-only (the database stays as it is), or take the database back for every host with --all-hosts (each other host then needs the versions the backup holds)")
		if err != nil {
			return err
		}
	}
	opts := backupstore.RestoreOptions{Root: root, ID: id, DB: g.DB, UpkeepVersion: Version, FilesOnly: filesOnly}
	if !g.Quiet {
		opts.Progress = g.Stderr
	}
	before, err := backupstore.Restore(c.Context, opts)
	if err != nil {
		return err
	}
	// The restored root supersedes a batch whose recovery failed.
	if err := updates.DiscardBatch(root.Dir); err != nil {
		return err
	}
	if g.JSON {
		doc := jsondoc.Restored{Restored: id, Kind: jsondoc.KindBackup, Tables: []string{}, FilesOnly: filesOnly}
		if before != nil {
			b := jsondoc.NewBackup(*before)
			doc.BeforeRestore = &b
		}
		return printJSON(g.Stdout, doc)
	}
	if !g.Quiet {
		what := id
		if filesOnly {
			what = "the files of " + id + " (the database was left as it is)"
		}
		fmt.Fprintf(g.Stdout, "restored %s; the state before the restore is in backup %s\n", what, before.ID)
	}
	return nil
}

// refuseSharedRestore is the guard of a restore that takes the database
// back: refuseShared on the database, when it exists.
func refuseSharedRestore(c *cli.Context, g *GlobalOptions, what, hint string) error {
	db, err := openExistingDB(c, g)
	if err != nil || db == nil {
		return err
	}
	defer db.Close()
	return refuseShared(c, g, db, what, hint)
}

// restoreTables puts back the packs' tables from a backup of kind
// tables, after verifying it.
func restoreTables(c *cli.Context, g *GlobalOptions, root layout.Root, id string) error {
	if err := refuseSharedRestore(c, g, "restoring the table export "+id,
		"take the tables back for every host with --all-hosts (each other host then needs code of the schema versions the export holds)"); err != nil {
		return err
	}
	if err := updates.RestoreTables(c.Context, root, g.DB, id); err != nil {
		return err
	}
	if g.JSON {
		m, err := backupstore.Show(root, id)
		if err != nil {
			return err
		}
		return printJSON(g.Stdout, jsondoc.Restored{Restored: id, Kind: jsondoc.KindDBExport, Tables: m.Tables})
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "restored the packs' tables and settings from %s\n", id)
	}
	return nil
}

func backupsPruneUsage(c *cli.Context) error {
	if c.Int("keep") < 1 {
		return usageError("backups prune --keep %d: keep at least 1 backup (the backup of the last install is kept anyway)", c.Int("keep"))
	}
	return nil
}

func runBackupsPrune(c *cli.Context, g *GlobalOptions) error {
	root, l, err := rootLock(c, g, "backups prune")
	if err != nil {
		return err
	}
	defer l.Release()
	protected, err := backupstore.Protected(root)
	if err != nil {
		return err
	}
	removed, err := backupstore.Prune(root, c.Int("keep"), protected)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.Stdout, struct {
			Removed []string `json:"removed"`
		}{removed})
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "removed %d backup(s)%s\n", len(removed), colonLines(removed))
	}
	return nil
}

func backupsExportUsage(c *cli.Context) error {
	if c.String("output") == "" {
		return usageError("backups export needs -o FULL.zip")
	}
	return nil
}

func runBackupsExport(c *cli.Context, g *GlobalOptions) error {
	id, err := oneArg(c, "ID")
	if err != nil {
		return err
	}
	out := c.String("output")
	if fi, err := os.Stat(filepath.Dir(out)); err != nil || !fi.IsDir() {
		return withHint(fmt.Errorf("backups export: cannot write %s: the folder %s does not exist", out, filepath.Dir(out)), "create it first (mkdir -p %s), or give -o a path in an existing folder", filepath.Dir(out))
	}
	b, err := backupstore.Export(g.Root, id, out)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.Stdout, jsondoc.BackupCreated{Backup: jsondoc.NewBackup(*b)})
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "wrote %s: backup %s, %d files, %s, standalone (unzip restores it)\n", b.Path, b.ID, b.Files, progress.FormatBytes(b.Size))
	}
	return nil
}
