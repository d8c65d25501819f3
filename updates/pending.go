package updates

import (
	"context"
	"fmt"
	"io"
	"path"

	"github.com/upkeep/upkeep/manifest"
	"github.com/upkeep/upkeep/packs"
)

// PendingPack returns the code of pack as an update zip in
// Updates_Pending ships it: its migrations, read from the zip without
// unpacking it, and its tables. It is what `db baseline` and `db adopt`
// record a pack against before it is installed, so that the install that
// follows runs only the migrations the database lacks. Version is left
// empty: the database learns the pack's version when the install commits.
// It refuses a pack with no valid zip pending, or with several.
func PendingPack(ctx context.Context, opts ScanOptions, pack string) (packs.Pack, error) {
	r, err := Scan(ctx, opts)
	if err != nil {
		return packs.Pack{}, err
	}
	var found *Update
	for _, u := range r.Updates {
		if u.Pack != pack || u.manifest == nil {
			continue
		}
		if found != nil {
			return packs.Pack{}, fmt.Errorf("updates: %s and %s both update pack %s; leave one in %s", found.File, u.File, pack, pendingDir(r.Root))
		}
		found = u
	}
	if found == nil {
		return packs.Pack{}, fmt.Errorf("%w %q: it is neither installed nor in a valid zip in %s", packs.ErrUnknownPack, pack, pendingDir(r.Root))
	}
	z, err := manifest.OpenZip(found.path, opts.Limits)
	if err != nil {
		return packs.Pack{}, err
	}
	defer z.Close()
	names := migrationNames(found.manifest)
	read := func(name string) ([]byte, error) {
		rc, err := z.Open(path.Join(manifest.MigrationsDir, name))
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	ms, err := packs.LoadMigrations(names, read, found.File+":"+manifest.MigrationsDir)
	if err != nil {
		return packs.Pack{}, err
	}
	// The down files are read now, while the zip is open.
	for i, m := range ms {
		if m.DownFile != "" && m.Up == nil {
			text, err := m.DownText()
			if err != nil {
				return packs.Pack{}, err
			}
			ms[i].DownSQL = text
		}
	}
	p := packs.Pack{Name: pack, SchemaVersion: found.manifest.SchemaVersion(), Migrations: ms}
	if found.manifest.Database != nil {
		p.Tables = found.manifest.Database.Tables
	}
	return p, nil
}
