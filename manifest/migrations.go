package manifest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Migration is one numbered migration of a pack. Two layouts are read, so
// that existing folders are used unchanged:
//
//   - golang-migrate: VERSION_name.up.sql and, optionally,
//     VERSION_name.down.sql;
//   - goose: one file VERSION_name.sql holding a "-- +goose Up" section and
//     optionally a "-- +goose Down" one (see [ParseGoose]).
type Migration struct {
	Version int
	Name    string
	Up      string // file name of the .up.sql (or of the goose file), relative to the migrations folder
	Down    string // file name of the .down.sql, or "" when there is none (always "" for goose)
	Goose   bool   // a goose file: its Up and Down are sections of Up
}

// MigrationSet is what [ScanMigrations] finds in a migrations folder.
type MigrationSet struct {
	// Migrations, in order of version.
	Migrations []Migration
	// Ignored are the files that are not migrations (a README.md, Go
	// files, anything golang-migrate and goose leave alone), each with why.
	Ignored []FileNote
	// Warnings are files whose names look like a mistaken migration name
	// ("30_x.up..sql", "2-add.up.sql"): they are ignored, and pack says so;
	// and down files whose name differs from their up file's.
	Warnings []FileNote
}

// FileNote says something about one file of a migrations folder.
type FileNote struct {
	File string
	Note string
}

func (n FileNote) String() string { return quote(n.File) + ": " + n.Note }

// MigrationsDir is the folder of a pack (and of an update zip) that holds
// its migrations.
const MigrationsDir = "migrations"

// ParseMigrations is [ScanMigrations] without the notes: the migrations
// of a folder, in order.
func ParseMigrations(names []string) ([]Migration, error) {
	set, err := ScanMigrations(names)
	if err != nil {
		return nil, err
	}
	return set.Migrations, nil
}

// ScanMigrations sorts the file names of a migrations folder into
// migrations, in order of version, as golang-migrate and goose do:
//
//   - VERSION_name.up.sql and VERSION_name.down.sql (golang-migrate);
//   - VERSION_name.sql (goose, one file with Up and Down sections).
//
// VERSION is a decimal number, leading zeros allowed: any increasing
// non-negative integers, so 1, 2, 3, timestamps like 20240101120000, gaps
// and a version 0 all work. A pack's schema version is its highest
// migration; schema S means every migration numbered S or lower is
// applied, so "nothing applied" is 0, or -1 for a pack that has a
// migration 0.
//
// Other files are not migrations and are listed in Ignored; a name that
// looks like a mistaken migration name is listed in Warnings. It returns
// every problem (two migrations with one version, a .down.sql without its
// .up.sql, a version too large), each a [*Problem] wrapping
// [ErrMigration] that names the files, joined with errors.Join.
func ScanMigrations(names []string) (*MigrationSet, error) {
	var ps problems
	bad := func(format string, args ...any) { ps.add("", "", ErrMigration, format, args...) }
	set := &MigrationSet{}

	ups := map[int]Migration{}
	downs := map[int][]string{}
	downLabels := map[int]string{}
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	for _, n := range sorted {
		f, why := classifyMigration(n)
		switch f.kind {
		case notMigration:
			set.Ignored = append(set.Ignored, FileNote{n, why})
			continue
		case nearMiss:
			set.Warnings = append(set.Warnings, FileNote{n, fmt.Sprintf("looks like a migration but %s; it is ignored", why)})
			continue
		case tooLarge:
			bad("migration %s: version %s is too large (at most %d)", quote(n), f.num, maxVersion)
			continue
		case downFile:
			downs[f.version] = append(downs[f.version], n)
			if _, ok := downLabels[f.version]; !ok {
				downLabels[f.version] = f.label
			}
			continue
		}
		m := Migration{Version: f.version, Name: f.label, Up: n, Goose: f.kind == gooseFile}
		if prev, dup := ups[f.version]; dup {
			bad("migrations %s and %s: both have version %d", quote(prev.Up), quote(n), f.version)
			continue
		}
		ups[f.version] = m
	}

	out := make([]Migration, 0, len(ups))
	for _, m := range ups {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Migration) int { return cmpInt(a.Version, b.Version) })

	versions := make([]int, 0, len(downs))
	for v := range downs {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	for _, v := range versions {
		ds := downs[v]
		if len(ds) > 1 {
			bad("migrations %s and %s: both have version %d", quote(ds[0]), quote(ds[1]), v)
			continue
		}
		d := ds[0]
		up, ok := ups[v]
		switch {
		case !ok:
			bad("migration %s: no matching up migration %s", quote(d), quote(strings.TrimSuffix(d, ".down.sql")+".up.sql"))
			continue
		case up.Goose:
			bad("migration %s: version %d is the goose file %s, which holds its own Down section", quote(d), v, quote(up.Up))
			continue
		case up.Name != downLabels[v]:
			set.Warnings = append(set.Warnings, FileNote{d, fmt.Sprintf("the down migration of %s, whose name differs", quote(up.Up))})
		}
		i, _ := slices.BinarySearchFunc(out, v, func(m Migration, v int) int { return cmpInt(m.Version, v) })
		out[i].Down = d
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	if len(out) > 0 {
		set.Migrations = out
	}
	return set, nil
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// maxVersion is the largest migration version: what fits the databases'
// BIGINT columns.
const maxVersion = 1<<63 - 1

type fileKind int

const (
	notMigration fileKind = iota
	nearMiss
	tooLarge
	upFile
	downFile
	gooseFile
)

type migrationFile struct {
	kind    fileKind
	version int
	num     string
	label   string
}

// classifyMigration sorts one file name of a migrations folder, saying why
// when it is not a migration.
func classifyMigration(n string) (migrationFile, string) {
	num, rest, sep := splitVersion(n)
	lower := strings.ToLower(n)
	looksUpDown := strings.Contains(lower, ".up.") || strings.Contains(lower, ".down.") ||
		strings.HasSuffix(lower, ".up") || strings.HasSuffix(lower, ".down") ||
		strings.HasSuffix(lower, ".up.sql") || strings.HasSuffix(lower, ".down.sql")
	switch {
	case strings.HasPrefix(n, "."):
		return migrationFile{}, "a hidden file"
	case num == "":
		if looksUpDown {
			return migrationFile{kind: nearMiss}, "does not start with a version number (VERSION_name.up.sql)"
		}
		if strings.HasSuffix(lower, ".sql") {
			return migrationFile{}, "an SQL file without a version number, not a migration"
		}
		return migrationFile{}, "not a migration"
	case sep != '_':
		if looksUpDown || strings.HasSuffix(lower, ".sql") {
			return migrationFile{kind: nearMiss}, fmt.Sprintf("its version is followed by %q, not \"_\"", string(sep))
		}
		return migrationFile{}, "not a migration"
	}
	f := migrationFile{num: num}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		f.kind = tooLarge
		return f, ""
	}
	f.version = int(v)
	switch {
	case strings.HasSuffix(rest, ".up.sql") && !strings.Contains(strings.TrimSuffix(rest, ".up.sql"), "."):
		f.kind, f.label = upFile, strings.TrimSuffix(rest, ".up.sql")
	case strings.HasSuffix(rest, ".down.sql") && !strings.Contains(strings.TrimSuffix(rest, ".down.sql"), "."):
		f.kind, f.label = downFile, strings.TrimSuffix(rest, ".down.sql")
	case looksUpDown:
		return migrationFile{kind: nearMiss}, "is not named VERSION_name.up.sql or VERSION_name.down.sql"
	case strings.HasSuffix(rest, ".sql") && !strings.Contains(strings.TrimSuffix(rest, ".sql"), ".") && rest != ".sql":
		f.kind, f.label = gooseFile, strings.TrimSuffix(rest, ".sql")
	case strings.HasSuffix(rest, ".go"):
		return migrationFile{}, "a Go migration: upkeep does not run Go files from a pack (compile it in with packs.RegisterGo)"
	case strings.HasSuffix(lower, ".sql"):
		return migrationFile{kind: nearMiss}, "is not named VERSION_name.sql (goose) or VERSION_name.up.sql"
	default:
		return migrationFile{}, "not a migration"
	}
	if strings.ContainsAny(f.label, `/\`) {
		return migrationFile{kind: nearMiss}, "its name holds a slash"
	}
	return f, ""
}

// splitVersion splits a leading run of digits from n: the digits, the
// rest after the separator, and the separator (0 when none).
func splitVersion(n string) (num, rest string, sep byte) {
	i := 0
	for i < len(n) && n[i] >= '0' && n[i] <= '9' {
		i++
	}
	if i == 0 || i == len(n) {
		return "", "", 0
	}
	return n[:i], n[i+1:], n[i]
}

// highest returns the version of the last migration, 0 for none.
func highest(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}
