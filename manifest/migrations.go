package manifest

import (
	"slices"
	"strconv"
	"strings"
)

// Migration is one numbered migration of a pack, golang-migrate naming:
// VERSION_name.up.sql and VERSION_name.down.sql.
type Migration struct {
	Version int
	Name    string
	Up      string // file name of the .up.sql, relative to the migrations folder
	Down    string // file name of the .down.sql, or "" when there is none
}

// MigrationsDir is the folder of a pack (and of an update zip) that holds
// its migrations.
const MigrationsDir = "migrations"

// maxMigrationVersion bounds versions so that a typo (or a timestamp-named
// migration) is a gap, not an overflow.
const maxMigrationVersion = 1_000_000

// ParseMigrations sorts the file names of a migrations folder into
// migrations, in order of version. Names follow golang-migrate:
// VERSION_name.up.sql and, optionally, VERSION_name.down.sql, with VERSION
// a decimal number (leading zeros allowed). Versions must run 1, 2, ... N
// with no gap and no duplicate. It returns every problem, each a [*Problem]
// wrapping [ErrMigration] that names the files concerned, joined with
// errors.Join.
func ParseMigrations(names []string) ([]Migration, error) {
	var ps problems
	bad := func(format string, args ...any) { ps.add("", "", ErrMigration, format, args...) }

	type file struct {
		name    string
		version int
		label   string
	}
	ups := map[int]file{}
	downs := map[int][]file{}
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	for _, n := range sorted {
		v, label, dir, ok := splitMigrationName(n)
		if !ok {
			bad("migration %s: not named VERSION_name.up.sql or VERSION_name.down.sql", quote(n))
			continue
		}
		if v < 1 || v > maxMigrationVersion {
			num, _, _ := strings.Cut(n, "_")
			bad("migration %s: version %s out of range (versions run 1, 2, 3, ...)", quote(n), num)
			continue
		}
		f := file{name: n, version: v, label: label}
		if dir == "down" {
			downs[v] = append(downs[v], f)
			continue
		}
		if prev, dup := ups[v]; dup {
			bad("migrations %s and %s: both have version %d", quote(prev.name), quote(n), v)
			continue
		}
		ups[v] = f
	}

	var out []Migration
	for v := range ups {
		out = append(out, Migration{Version: v, Name: ups[v].label, Up: ups[v].name})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })

	versions := make([]int, 0, len(downs))
	for v := range downs {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	for _, v := range versions {
		ds := downs[v]
		if len(ds) > 1 {
			bad("migrations %s and %s: both have version %d", quote(ds[0].name), quote(ds[1].name), v)
			continue
		}
		d := ds[0]
		up, ok := ups[v]
		switch {
		case !ok:
			bad("migration %s: no matching up migration %s", quote(d.name), quote(strings.TrimSuffix(d.name, ".down.sql")+".up.sql"))
			continue
		case up.label != d.label:
			bad("migration %s: its up migration is %s; the names differ", quote(d.name), quote(up.name))
			continue
		}
		i, _ := slices.BinarySearchFunc(out, v, func(m Migration, v int) int { return m.Version - v })
		out[i].Down = d.name
	}

	// Versions run 1..N without a gap.
	next := 1
	for _, m := range out {
		if m.Version != next {
			if next == 1 {
				bad("migrations: version 1 is missing (the first is %s)", quote(m.Up))
			} else if m.Version == next+1 {
				bad("migrations: version %d is missing (between %s and %s)", next, quote(prevUp(out, m.Version)), quote(m.Up))
			} else {
				bad("migrations: versions %d to %d are missing (between %s and %s)", next, m.Version-1, quote(prevUp(out, m.Version)), quote(m.Up))
			}
		}
		next = m.Version + 1
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// prevUp returns the up file of the migration before version v in ms.
func prevUp(ms []Migration, v int) string {
	prev := ""
	for _, m := range ms {
		if m.Version >= v {
			break
		}
		prev = m.Up
	}
	return prev
}

// splitMigrationName splits VERSION_label.DIR.sql.
func splitMigrationName(n string) (version int, label, dir string, ok bool) {
	base, found := strings.CutSuffix(n, ".sql")
	if !found {
		return 0, "", "", false
	}
	switch {
	case strings.HasSuffix(base, ".up"):
		base, dir = strings.TrimSuffix(base, ".up"), "up"
	case strings.HasSuffix(base, ".down"):
		base, dir = strings.TrimSuffix(base, ".down"), "down"
	default:
		return 0, "", "", false
	}
	num, label, found := strings.Cut(base, "_")
	if !found || num == "" || label == "" || strings.ContainsAny(label, `/\`) {
		return 0, "", "", false
	}
	for i := 0; i < len(num); i++ {
		if num[i] < '0' || num[i] > '9' {
			return 0, "", "", false
		}
	}
	trimmed := strings.TrimLeft(num, "0")
	if len(trimmed) > 9 {
		return maxMigrationVersion + 1, label, dir, true
	}
	v, err := strconv.Atoi("0" + trimmed)
	if err != nil {
		return 0, "", "", false
	}
	return v, label, dir, true
}

// highest returns the version of the last migration, 0 for none.
func highest(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}
