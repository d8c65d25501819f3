package manifest

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-version"
)

// Format is the manifest format this package reads and writes.
const Format = 1

// FileName is the name of the manifest inside an update zip and inside an
// installed pack's folder.
const FileName = "manifest.json"

// Manifest is an update's manifest.json, format 1.
type Manifest struct {
	Format       int               `json:"format"`
	Pack         string            `json:"pack"`
	Version      string            `json:"version"`
	Title        string            `json:"title,omitempty"`
	Released     string            `json:"released,omitempty"`
	WhatsNew     string            `json:"whats_new,omitempty"`
	UpgradesFrom string            `json:"upgrades_from,omitempty"`
	Requires     map[string]string `json:"requires,omitempty"`
	Database     *Database         `json:"database,omitempty"`
	Files        []File            `json:"files,omitempty"`

	parsed parsedValues // filled by validation: versions are parsed once
}

// parsedValues are the version and constraints of a validated manifest,
// with the strings they were parsed from, so that a field changed since is
// parsed again.
type parsedValues struct {
	version      *version.Version
	versionOf    string
	upgradesFrom version.Constraints
	upgradesOf   string
	requires     map[string]version.Constraints
	requiresOf   map[string]string
}

// Database is what an update does to the database.
type Database struct {
	SchemaVersion int      `json:"schema_version"`
	Tables        []string `json:"tables,omitempty"`
	Changes       string   `json:"changes,omitempty"`
}

// File is one entry of the zip other than manifest.json.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Mode   string `json:"mode,omitempty"`
}

// Parse decodes and validates the manifest.json of an update zip or of an
// installed pack: format 1, strictly (an unknown field, trailing data, a
// field of the wrong type are errors), with files present. It returns every
// problem, each a [*Problem] wrapping [ErrInvalidManifest], joined with
// errors.Join; each message is one line starting with "manifest.json: ".
func Parse(data []byte) (*Manifest, error) {
	m, _, ps := parse(data, modeUpdate)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return m, nil
}

// ParseSource decodes and validates the manifest.json of a pack's source
// folder, the input of [Build]: like [Parse], but files must be absent
// (upkeep pack computes them) and database.schema_version may be absent
// (Build takes it from the migrations; it reads as 0 here).
func ParseSource(data []byte) (*Manifest, error) {
	m, _, ps := parse(data, modeSource)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return m, nil
}

// Validate checks every field of the manifest of an update zip (files must
// be present) and returns one [*Problem] per problem, joined with
// errors.Join, or nil.
func (m *Manifest) Validate() error {
	return m.validate(checks{mode: modeUpdate, filesGiven: m.Files != nil, schemaGiven: true}).err()
}

// SemVersion returns the parsed version. It panics on a manifest that did
// not pass Validate.
func (m *Manifest) SemVersion() *version.Version {
	if p := m.parsed; p.version != nil && p.versionOf == m.Version {
		return p.version
	}
	return version.Must(version.NewVersion(m.Version))
}

// UpgradesFromConstraint returns upgrades_from parsed, nil when it is empty.
// It panics on a manifest that did not pass Validate.
func (m *Manifest) UpgradesFromConstraint() version.Constraints {
	if m.UpgradesFrom == "" {
		return nil
	}
	if p := m.parsed; p.upgradesFrom != nil && p.upgradesOf == m.UpgradesFrom {
		return p.upgradesFrom
	}
	return mustConstraint(m.UpgradesFrom)
}

// Requirement returns the constraint on pack in requires, parsed, and
// whether there is one. It panics on a manifest that did not pass Validate.
func (m *Manifest) Requirement(pack string) (version.Constraints, bool) {
	want, ok := m.Requires[pack]
	if !ok {
		return nil, false
	}
	if c, ok := m.parsed.requires[pack]; ok && m.parsed.requiresOf[pack] == want {
		return c, true
	}
	return mustConstraint(want), true
}

func mustConstraint(s string) version.Constraints {
	c, err := version.NewConstraint(s)
	if err != nil {
		panic(err)
	}
	return c
}

// SchemaVersion returns database.schema_version, or 0 when the pack has no
// database section.
func (m *Manifest) SchemaVersion() int {
	if m.Database == nil {
		return 0
	}
	return m.Database.SchemaVersion
}

type mode int

const (
	modeUpdate mode = iota // manifest of an update zip or installed pack: files required
	modeSource             // manifest of a pack's source folder: files forbidden
)

// checks says what validate knows beyond the struct: which mode, whether
// files and database.schema_version were given, and which fields already
// had a type error (and so are not checked again).
type checks struct {
	mode        mode
	filesGiven  bool
	schemaGiven bool
	skip        map[string]bool
}

const (
	packNameRule  = "lowercase letters, digits, '-' and '_', starting with a letter, at most 64 characters"
	tableNameRule = "letters, digits and '_', not starting with a digit, at most 64 characters"
)

func (m *Manifest) validate(c checks) problems {
	var ps problems
	bad := func(format string, args ...any) { ps.add("", FileName, ErrInvalidManifest, format, args...) }
	ok := func(field string) bool { return !c.skip[field] }

	if ok("format") {
		switch m.Format {
		case Format:
		case 0:
			bad("format is missing (want %d)", Format)
		default:
			bad("format %d: not supported (this upkeep reads format %d)", m.Format, Format)
		}
	}
	if ok("pack") {
		switch {
		case m.Pack == "":
			bad("pack is missing")
		case !ValidPackName(m.Pack):
			bad("pack %s: not a valid pack name (%s)", quote(m.Pack), packNameRule)
		}
	}
	if ok("version") {
		if m.Version == "" {
			bad("version is missing")
		} else if v, err := version.NewVersion(m.Version); err != nil {
			bad("version %s: not a valid version (like \"1.4.0\")", quote(m.Version))
		} else {
			m.parsed.version, m.parsed.versionOf = v, m.Version
		}
	}
	if ok("released") && m.Released != "" {
		if _, err := time.Parse(time.DateOnly, m.Released); err != nil || len(m.Released) != len(time.DateOnly) {
			bad("released %s: not a date like \"2026-11-01\" (YYYY-MM-DD)", quote(m.Released))
		}
	}
	if ok("upgrades_from") && m.UpgradesFrom != "" {
		if c, err := version.NewConstraint(m.UpgradesFrom); err != nil {
			bad("upgrades_from %s: not a valid version constraint (like \">= 1.2, < 2.0\")", quote(m.UpgradesFrom))
		} else {
			m.parsed.upgradesFrom, m.parsed.upgradesOf = c, m.UpgradesFrom
		}
	}
	if ok("requires") {
		keys := make([]string, 0, len(m.Requires))
		for k := range m.Requires {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			switch {
			case !ValidPackName(k):
				bad("requires key %s: not a valid pack name (%s)", quote(k), packNameRule)
			case k == m.Pack:
				bad("requires key %s: a pack cannot require itself", quote(k))
			}
			field := "requires[" + strconv.Quote(k) + "]"
			if !ok(field) {
				continue
			}
			if c, err := version.NewConstraint(m.Requires[k]); err != nil {
				bad("%s %s: not a valid version constraint (like \">= 2.0, < 3.0\")", "requires["+quote(k)+"]", quote(m.Requires[k]))
			} else {
				if m.parsed.requires == nil {
					m.parsed.requires, m.parsed.requiresOf = map[string]version.Constraints{}, map[string]string{}
				}
				m.parsed.requires[k], m.parsed.requiresOf[k] = c, m.Requires[k]
			}
		}
	}
	if db := m.Database; db != nil {
		if ok("database.schema_version") {
			if !c.schemaGiven && c.mode == modeUpdate {
				bad("database.schema_version is missing")
			} else if db.SchemaVersion < 0 {
				bad("database.schema_version %d: must be 0 or more", db.SchemaVersion)
			}
		}
		seen := map[string]string{} // folded name -> name
		for i, t := range db.Tables {
			if !ok("database.tables[" + strconv.Itoa(i) + "]") {
				continue
			}
			if !validIdent(t) {
				bad("database.tables[%d] %s: not a valid SQL table name (%s)", i, quote(t), tableNameRule)
				continue
			}
			f := strings.ToLower(t)
			if prev, dup := seen[f]; dup {
				if prev == t {
					bad("database.tables[%d] %s: listed twice", i, quote(t))
				} else {
					bad("database.tables[%d] %s: same table as %s (names differ only by case)", i, quote(t), quote(prev))
				}
				continue
			}
			seen[f] = t
		}
	}
	switch {
	case c.mode == modeSource && c.filesGiven:
		bad("files is computed by upkeep pack; remove it")
	case c.mode == modeUpdate && !c.filesGiven:
		if ok("files") {
			bad("files is missing (upkeep pack computes it)")
		}
	default:
		ps = append(ps, checkFiles(m.Files, c)...)
	}
	return ps
}

func checkFiles(files []File, c checks) problems {
	var ps problems
	bad := func(format string, args ...any) { ps.add("", FileName, ErrInvalidManifest, format, args...) }
	ok := func(i int, field string) bool {
		return len(c.skip) == 0 || !c.skip["files["+strconv.Itoa(i)+"]"+field]
	}

	seen := make(map[string]string, len(files)) // folded path -> path, of safe paths
	for i, f := range files {
		if ok(i, "") && ok(i, ".path") {
			switch why := unsafePath(f.Path); {
			case why != "":
				bad("files[%d].path %s: unsafe path: %s", i, quote(f.Path), why)
			case foldName(f.Path) == FileName:
				bad("files[%d].path %s: the manifest cannot list itself", i, quote(f.Path))
			default:
				k := foldName(f.Path)
				if prev, dup := seen[k]; dup {
					if prev == f.Path {
						bad("files[%d].path %s: listed twice", i, quote(f.Path))
					} else {
						bad("files[%d].path %s: %s %s", i, quote(f.Path), clashWhy(f.Path, prev), quote(prev))
					}
				} else {
					seen[k] = f.Path
				}
			}
		}
		if ok(i, "") && ok(i, ".size") && f.Size < 0 {
			bad("files[%d].size %d: must be 0 or more", i, f.Size)
		}
		if ok(i, "") && ok(i, ".sha256") && !ValidSHA256(f.SHA256) {
			if f.SHA256 == "" {
				bad("files[%d].sha256 is missing", i)
			} else {
				bad("files[%d].sha256 %s: not 64 lowercase hex digits", i, quote(f.SHA256))
			}
		}
		if ok(i, "") && ok(i, ".mode") && f.Mode != "" {
			if _, valid := parseMode(f.Mode); !valid {
				bad("files[%d].mode %s: not an octal mode from \"0000\" to \"0777\" (like \"0644\")", i, quote(f.Mode))
			}
		}
	}
	// A file cannot also be a folder of another file.
	for i, f := range files {
		if seen[foldName(f.Path)] != f.Path {
			continue // unsafe or duplicate, reported above
		}
		for j := strings.IndexByte(f.Path, '/'); j >= 0; j = nextSlash(f.Path, j) {
			if parent, isFile := seen[foldName(f.Path[:j])]; isFile {
				bad("files[%d].path %s: its folder %s is listed as a file", i, quote(f.Path), quote(parent))
				break
			}
		}
	}
	return ps
}

// nextSlash returns the index of the next '/' in s after index i, or -1.
func nextSlash(s string, i int) int {
	k := strings.IndexByte(s[i+1:], '/')
	if k < 0 {
		return -1
	}
	return i + 1 + k
}
