package updates

import (
	"fmt"
	"io"
	"strings"

	"github.com/upkeep/upkeep/internal/progress"
	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/internal/textsafe"
	"github.com/upkeep/upkeep/packs"
)

// WriteText writes the report as people read it: one block per update zip,
// ready ones first in install order, then every problem.
func (r *Report) WriteText(w io.Writer) error {
	p := &printer{w: w}
	if r.Recovery != nil {
		p.line("upkeep %s.", r.Recovery)
	}
	if b := r.Batch; b != nil {
		backup := "no backup"
		if b.Backup != "" {
			backup = "backup " + b.Backup
		}
		p.line("Installed %s (batch %s, %s):", plural(len(b.Updates), "update"), b.ID, backup)
		for _, u := range b.Updates {
			from := u.From
			if from == "" {
				from = "new pack"
			}
			p.line("   %s: %s -> %s (now %s/%s)", u.Pack, from, u.To, "Updates_Installed", textsafe.Name(u.Installed))
			if u.FilesOnly {
				p.line("      Files only: the database was at its schema already%s", u.MigratedBy.text())
			}
		}
		if len(b.Migrations) > 0 {
			p.line("   Migrations: %s", migrationList(b.Migrations))
		}
		if b.Health != nil {
			p.line("   %s (%d ms).", b.Health, b.Health.DurationMS)
		}
		if len(b.Pruned) > 0 {
			p.line("   Removed %s beyond the newest kept: %s", plural(len(b.Pruned), "old install backup"), strings.Join(b.Pruned, ", "))
		}
	}
	if d := r.DryRun; d != nil {
		d.writeText(p, r)
	}
	if d := r.Database; d != nil && len(d.Applied) > 0 {
		p.line("Migrated the database (%s): %s.", d.Backend, migrationList(d.Applied))
		if d.Export != "" {
			p.line("   The packs' tables were exported first to %s (backup %s).", strings.TrimSuffix(r.Root, "/")+"/Updates_Backups", d.Export)
		}
	}
	if d := r.Database; d != nil && len(d.Differences) > 0 {
		p.line("Drift: the database differs from what its packs expect (upkeep db diff shows the SQL):")
		for _, x := range d.Differences {
			if x.Source == packs.SourceRecorded { // the line names the pack
				p.line("   %s: %s", x.Source, textsafe.Clean(x.Text))
			} else {
				p.line("   pack %s, %s: %s", x.Pack, x.Source, textsafe.Clean(x.Text))
			}
		}
	}
	if d := r.Database; d != nil && d.DifferencesNote != "" {
		p.line("Drift: %s.", d.DifferencesNote)
	}
	if len(r.Updates) == 0 {
		p.line("No updates pending in %s.", pendingDir(r.Root))
		return p.err
	}
	ready := len(r.Ready())
	p.line("%s in %s (%d ready to install):", plural(len(r.Updates), "update zip"), pendingDir(r.Root), ready)
	for _, u := range r.Updates {
		p.line("")
		u.writeText(p)
	}
	return p.err
}

// WriteText writes the update's block of the report.
func (u *Update) WriteText(w io.Writer) error {
	p := &printer{w: w}
	u.writeText(p)
	return p.err
}

func (u *Update) writeText(p *printer) {
	head := fmt.Sprintf("%s: %s", textsafe.Name(u.File), u.Status)
	if u.installable() {
		head = fmt.Sprintf("%d. %s", u.Order, head)
	}
	p.line("%s", head)
	if u.Pack != "" {
		from := "new pack"
		if u.InstalledVersion != "" {
			from = u.InstalledVersion
		}
		title := u.Title
		if title == "" {
			title = u.Pack
		}
		released := ""
		if u.Released != "" {
			released = ", released " + u.Released
		}
		p.line("   %s (%s): %s -> %s%s", title, u.Pack, from, u.Version, released)
		if u.WhatsNew != "" {
			p.line("   What's new: %s", oneLine(u.WhatsNew))
		}
		if d := u.Database; d != nil && d.To != d.From {
			switch {
			case d.FilesOnly:
				p.line("   Database: already at schema %d%s: this update installs the files only", d.DatabaseSchema, d.MigratedBy.text())
			case d.DatabaseSchema > d.From:
				p.line("   Database: schema %d -> %d (already at %d%s), %s%s", d.From, d.To, d.DatabaseSchema, d.MigratedBy.text(), plural(len(d.Migrations), "migration"), colonList(d.Migrations))
			default:
				p.line("   Database: schema %d -> %d, %s%s", d.From, d.To, plural(len(d.Migrations), "migration"), colonList(d.Migrations))
			}
			if d.Changes != "" && !d.FilesOnly {
				p.line("   Changes: %s", oneLine(d.Changes))
			}
		}
		if len(u.Requires) > 0 {
			var reqs []string
			for _, k := range sortedKeys(u.Requires) {
				reqs = append(reqs, k+" "+u.Requires[k])
			}
			p.line("   Requires: %s", strings.Join(reqs, "; "))
		}
		sig := string(u.Signature.State)
		if u.Signature.State == string(signing.Untrusted) {
			sig = "untrusted key " + u.Signature.KeyID
		} else if u.Signature.KeyID != "" {
			sig += " (key " + u.Signature.KeyID + ")"
		}
		if u.Signature.Problem != "" && u.Status != Refused {
			// Not required (no key is trusted), but worth knowing.
			sig += ": " + u.Signature.Problem + "; no key is trusted, so no signature is required"
		}
		p.line("   Signature: %s", sig)
	}
	if u.LastFailure != "" {
		p.line("   Failed last time: %s", u.LastFailure)
		if u.Status == Failed {
			p.line("   --install-updates tries it again; replace the zip once its cause is fixed")
		}
	}
	for _, prob := range u.Problems {
		p.line("   - %s", prob)
	}
}

func migrationList(ms []AppliedMigration) string {
	var names []string
	for _, a := range ms {
		names = append(names, fmt.Sprintf("%s %d_%s", a.Pack, a.Version, a.Name))
	}
	return strings.Join(names, ", ")
}

type printer struct {
	w   io.Writer
	err error
}

// line writes one line of the report. What the zips say (names, titles,
// what's new, problems quoting them) cannot break it into more lines or
// reach the terminal as control: control characters and bidirectional
// overrides are written as escapes (see internal/textsafe).
func (p *printer) line(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, "%s\n", textsafe.Clean(fmt.Sprintf(format, args...)))
	}
}

func pendingDir(root string) string {
	return strings.TrimSuffix(root, "/") + "/Updates_Pending"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func colonList(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return ": " + strings.Join(s, ", ")
}

// oneLine folds text that spans lines, so that each report line stands alone.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func (d *DryRun) writeText(p *printer, r *Report) {
	if d.Recovery != "" {
		p.line("First: %s.", d.Recovery)
	}
	if len(d.Packs) == 0 {
		p.line("Dry run: nothing would be installed (no update is ready).")
	} else {
		p.line("Dry run: --install-updates would install %s, in this order (nothing was changed):", plural(len(d.Packs), "update"))
	}
	for _, pk := range d.Packs {
		from := pk.From
		if from == "" {
			from = "new pack"
		}
		p.line("   %s: %s -> %s (%s)", pk.Pack, from, pk.To, pk.Zip)
		p.line("      Files: %d added, %d changed, %d removed, %d unchanged%s", len(pk.Added), len(pk.Changed), len(pk.Removed), pk.Unchanged,
			fileLists(map[string][]string{"added": pk.Added, "changed": pk.Changed, "removed": pk.Removed}))
		if len(pk.Migrations) > 0 {
			p.line("      Migrations: %s", strings.Join(pk.Migrations, ", "))
		}
	}
	if len(d.Packs) > 0 {
		if d.NoBackup {
			p.line("   Backup: none (--no-backup)")
		} else {
			db := ""
			if d.DatabaseBytes > 0 {
				db = fmt.Sprintf(" plus the database, %s", progress.FormatBytes(d.DatabaseBytes))
			}
			p.line("   Backup: at most %d files, %s%s", d.BackupFiles, progress.FormatBytes(d.BackupBytes), db)
		}
		p.line("   Staging: %s; free space: %s", progress.FormatBytes(d.StageBytes), progress.FormatBytes(int64(d.FreeBytes)))
	}
	p.line("")
}

// fileLists names the files of each kind when there are few.
func fileLists(kinds map[string][]string) string {
	var parts []string
	for _, k := range []string{"added", "changed", "removed"} {
		if fs := kinds[k]; len(fs) > 0 && len(fs) <= 5 {
			parts = append(parts, k+" "+strings.Join(fs, ", "))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}
