package cli

import (
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/internal/lock"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
)

func backupsCommand() *cli.Command {
	return &cli.Command{
		Name:  "backups",
		Usage: "the backups in Updates_Backups: create, list, show, verify, restore, prune",
		Subcommands: []*cli.Command{
			{
				Name:   "create",
				Usage:  "back up the root's files and the database",
				Flags:  []cli.Flag{&cli.StringFlag{Name: "reason", Value: "manual", Usage: "`WORD` in the backup's name"}},
				Action: runBackupsCreate,
			},
			{Name: "list", Usage: "the backups, newest first", Action: runBackupsList},
			{Name: "show", Usage: "what a backup holds", ArgsUsage: "ID", Action: runBackupsShow},
			{Name: "verify", Usage: "read a backup in full and check every file's sha256; exit 1 on any problem", ArgsUsage: "ID", Action: runBackupsVerify},
			{
				Name:      "restore",
				Usage:     "put the root's files and the database back as a backup holds them (a backup of the present state is taken first); or, for a database export of db up, put the packs' tables back",
				ArgsUsage: "ID",
				Action:    runBackupsRestore,
			},
			{
				Name:   "prune",
				Usage:  "delete all but the newest backups; the backup of the last install is always kept",
				Flags:  []cli.Flag{&cli.IntFlag{Name: "keep", Value: 5, Usage: "keep the `N` newest"}},
				Action: runBackupsPrune,
			},
		},
	}
}

// rootLock takes the root's lock for a command that changes the root.
func rootLock(c *cli.Context, what string) (layout.Root, *lock.Lock, error) {
	root, err := layout.Open(globalString(c, "root"))
	if err != nil {
		return root, nil, err
	}
	if err := root.Ensure(); err != nil {
		return root, nil, err
	}
	l, err := lock.Acquire(c.Context, filepath.Join(root.State(), "lock"), what, globalDuration(c, "lock-timeout"))
	return root, l, err
}

func runBackupsCreate(c *cli.Context) error {
	root, l, err := rootLock(c, "backups create")
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
	opts := backupstore.CreateOptions{Root: root, Reason: c.String("reason"), UpkeepVersion: Version, Packs: versions, DB: globalString(c, "db")}
	if !globalBool(c, "quiet") {
		opts.Progress = c.App.ErrWriter
	}
	b, err := backupstore.Create(c.Context, opts)
	if err != nil {
		return err
	}
	if globalBool(c, "json") {
		return writeJSON(c.App.Writer, b)
	}
	if !globalBool(c, "quiet") {
		fmt.Fprintf(c.App.Writer, "wrote backup %s: %d files, %s, database %s (%s)\n", b.ID, b.Files, bytesText(b.Bytes), b.Database, b.Path)
	}
	return nil
}

func runBackupsList(c *cli.Context) error {
	root, err := layout.Open(globalString(c, "root"))
	if err != nil {
		return err
	}
	list, err := backupstore.List(root)
	if err != nil {
		return err
	}
	if globalBool(c, "json") {
		if list == nil {
			list = []backupstore.Backup{}
		}
		return writeJSON(c.App.Writer, list)
	}
	if len(list) == 0 {
		fmt.Fprintf(c.App.Writer, "No backups in %s.\n", root.Backups())
		return nil
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED (UTC)\tKIND\tFILES\tSIZE\tNOTE")
	for _, b := range list {
		kind, note := "backup", ""
		switch {
		case isExport(b):
			kind = "db export"
		case b.Err != nil:
			kind, note = "unreadable", b.Err.Error()
		}
		if b.Note != "" {
			note = strings.TrimPrefix(note+"; "+b.Note, "; ")
		}
		if b.Protected {
			note = strings.TrimPrefix(note+"; kept: backup of the last install", "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", b.ID, b.Created.UTC().Format(time.DateTime), kind, b.Files, bytesText(b.Size), note)
	}
	return tw.Flush()
}

// isExport tells whether b is an export of the packs' tables taken by db up
// or db down, rather than a full backup.
func isExport(b backupstore.Backup) bool { return strings.HasPrefix(b.Reason, "db-") && b.Err != nil }

func runBackupsShow(c *cli.Context) error {
	id, err := oneArg(c, "ID")
	if err != nil {
		return err
	}
	root, err := layout.Open(globalString(c, "root"))
	if err != nil {
		return err
	}
	m, err := backupstore.Show(root, id)
	if err != nil {
		return err
	}
	if globalBool(c, "json") {
		return writeJSON(c.App.Writer, m)
	}
	var total int64
	for _, f := range m.Files {
		total += f.Size
	}
	fmt.Fprintf(c.App.Writer, "Backup %s\n  created  %s (%s)\n  by       upkeep %s\n  files    %d, %s\n  database %s\n", id, m.Created.UTC().Format(time.DateTime), m.Reason, m.UpkeepVersion, len(m.Files), bytesText(total), m.Database.Kind)
	for _, p := range sortedKeys(m.Packs) {
		fmt.Fprintf(c.App.Writer, "  pack     %s %s\n", p, m.Packs[p])
	}
	return nil
}

func runBackupsVerify(c *cli.Context) error {
	id, err := oneArg(c, "ID")
	if err != nil {
		return err
	}
	root, err := layout.Open(globalString(c, "root"))
	if err != nil {
		return err
	}
	if err := backupstore.Verify(root, id); err != nil {
		return err
	}
	if !globalBool(c, "quiet") {
		fmt.Fprintf(c.App.Writer, "%s: ok: every file matches its size and sha256\n", id)
	}
	return nil
}

func runBackupsRestore(c *cli.Context) error {
	id, err := oneArg(c, "ID")
	if err != nil {
		return err
	}
	root, l, err := rootLock(c, "backups restore")
	if err != nil {
		return err
	}
	defer l.Release()
	if strings.Contains(id, "_db-") {
		return restoreExport(c, root, id)
	}
	opts := backupstore.RestoreOptions{Root: root, ID: id, DB: globalString(c, "db"), UpkeepVersion: Version}
	if !globalBool(c, "quiet") {
		opts.Progress = c.App.ErrWriter
	}
	before, err := backupstore.Restore(c.Context, opts)
	if err != nil {
		return err
	}
	// The restored root supersedes a batch whose recovery failed.
	if err := updates.DiscardBatch(root.Dir); err != nil {
		return err
	}
	if !globalBool(c, "quiet") {
		fmt.Fprintf(c.App.Writer, "restored %s; the state before the restore is in backup %s\n", id, before.ID)
	}
	return nil
}

// restoreExport puts back the packs' tables from an export of db up.
func restoreExport(c *cli.Context, root layout.Root, id string) error {
	path := filepath.Join(root.Backups(), id+".zip")
	db, err := packs.Open(c.Context, globalString(c, "db"), root.Dir)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.RestoreExport(c.Context, path); err != nil {
		return err
	}
	if !globalBool(c, "quiet") {
		fmt.Fprintf(c.App.Writer, "restored the packs' tables and settings from %s\n", id)
	}
	return nil
}

func runBackupsPrune(c *cli.Context) error {
	if c.Int("keep") < 1 {
		return usageError("backups prune --keep %d: keep at least 1 backup (the backup of the last install is kept anyway)", c.Int("keep"))
	}
	root, l, err := rootLock(c, "backups prune")
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
	if globalBool(c, "json") {
		if removed == nil {
			removed = []string{}
		}
		return writeJSON(c.App.Writer, removed)
	}
	if !globalBool(c, "quiet") {
		fmt.Fprintf(c.App.Writer, "removed %d backup(s)%s\n", len(removed), colonLines(removed))
	}
	return nil
}

// backupID is the backup ID of a zip in Updates_Backups.
func backupID(path string) string { return strings.TrimSuffix(filepath.Base(path), ".zip") }
