package packs

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/upkeep/upkeep/manifest"
)

// MigrationsDir is the folder of an installed pack that holds its
// migrations.
const MigrationsDir = "migrations"

// GoFunc is a migration written in Go. It runs inside the transaction of
// the run (on MySQL/MariaDB, a transaction of its own).
type GoFunc func(ctx context.Context, tx *sql.Tx) error

// Migration is one numbered migration of a pack: SQL read from files, or Go
// functions.
type Migration struct {
	Version  int
	Name     string
	UpFile   string // file name of the .up.sql; "" for a Go migration
	DownFile string // file name of the .down.sql; "" when there is none
	UpSQL    string
	// DownSQL is the text of the .down.sql when the migration is built by
	// hand. The loaders leave it empty and read the file only when a revert
	// needs it (see [Migration.DownText]): status and up never do.
	DownSQL string
	SHA256  string // hex sha256 of the .up.sql; "" for a Go migration
	Up      GoFunc // set for a Go migration
	Down    GoFunc // the Go migration's down step, or nil

	readDown func() ([]byte, error) // reads DownFile, set by the loaders
}

// DownText returns the text of the .down.sql: DownSQL, or the file read
// now.
func (m Migration) DownText() (string, error) {
	if m.DownSQL != "" || m.readDown == nil {
		return m.DownSQL, nil
	}
	b, err := m.readDown()
	if err != nil {
		return "", fmt.Errorf("packs: read migration %s: %w", m.DownFile, err)
	}
	return string(b), nil
}

// Source names the migration in messages: its .up.sql, or go:VERSION_name.
func (m Migration) Source() string {
	if m.Up != nil {
		return fmt.Sprintf("go:%d_%s", m.Version, m.Name)
	}
	return m.UpFile
}

func (m Migration) hasDown() bool { return m.Down != nil || m.DownFile != "" }

func (m Migration) downSource() string {
	if m.Down != nil {
		return fmt.Sprintf("go:%d_%s (down)", m.Version, m.Name)
	}
	return m.DownFile
}

// Pack is what the migration engine knows of a pack's code: its name,
// version, schema version, tables and migrations.
type Pack struct {
	Name    string
	Version string // the pack's version, recorded in upkeep_packs
	// SchemaVersion is the schema version the code expects; 0 means the
	// highest migration.
	SchemaVersion int
	Tables        []string // the tables the pack owns (exported, checked for drift)
	Migrations    []Migration
}

// CodeVersion returns the schema version the pack's code expects.
func (p Pack) CodeVersion() int {
	if p.SchemaVersion > 0 {
		return p.SchemaVersion
	}
	return len(p.Migrations)
}

// migration returns migration v (1-based; the migrations are 1..N).
func (p Pack) migration(v int) Migration { return p.Migrations[v-1] }

// check validates numbering and the schema version against the migrations.
func (p Pack) check() error {
	for i, m := range p.Migrations {
		if m.Version != i+1 {
			return fmt.Errorf("%w: pack %s: migration %s has version %d where %d was expected", ErrBadMigrations, p.Name, m.Source(), m.Version, i+1)
		}
	}
	if p.SchemaVersion > len(p.Migrations) {
		return fmt.Errorf("%w: pack %s: schema version %d but migrations stop at %d", ErrBadMigrations, p.Name, p.SchemaVersion, len(p.Migrations))
	}
	return nil
}

// LoadPack reads an installed pack's migrations (packs/<name>/migrations/,
// absent means none) and adds the Go migrations registered for it.
func LoadPack(in Installed) (Pack, error) {
	p := Pack{Name: in.Name}
	if in.Manifest != nil {
		p.Version = in.Manifest.Version
		p.SchemaVersion = in.Manifest.SchemaVersion()
		if in.Manifest.Database != nil {
			p.Tables = in.Manifest.Database.Tables
		}
	}
	dir := filepath.Join(in.Dir, MigrationsDir)
	ms, err := ReadMigrationsDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Pack{}, err // names the folder, packs/<name>/migrations
	}
	p.Migrations = ms
	if p.Migrations, err = withGo(in.Name, p.Migrations); err != nil {
		return Pack{}, err
	}
	if err := p.check(); err != nil {
		return Pack{}, err
	}
	return p, nil
}

// LoadPacks reads every pack installed under root/packs with [List] and
// [LoadPack].
func LoadPacks(root string) ([]Pack, error) {
	ins, err := List(filepath.Join(root, "packs"))
	if err != nil {
		return nil, err
	}
	out := make([]Pack, 0, len(ins))
	for _, in := range ins {
		p, err := LoadPack(in)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// ReadMigrationsDir reads the migrations folder dir once: every
// VERSION_name.up.sql and .down.sql in it, in order. Other files are
// ignored. Numbering must run 1..N without gap or duplicate.
func ReadMigrationsDir(dir string) ([]Migration, error) {
	return readMigrations(os.DirFS(dir), ".", dir)
}

// ReadMigrationsFS is [ReadMigrationsDir] for a folder of an fs.FS, such as
// an embed.FS of an application that embeds upkeep.
func ReadMigrationsFS(fsys fs.FS, dir string) ([]Migration, error) {
	return readMigrations(fsys, dir, dir)
}

func readMigrations(fsys fs.FS, dir, shown string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("packs: read migrations %s: %w", shown, err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	parsed, err := parseNames(names)
	if err != nil {
		return nil, fmt.Errorf("%w in %s: %v", ErrBadMigrations, shown, err)
	}
	out := make([]Migration, len(parsed))
	for i, pm := range parsed {
		up, err := fs.ReadFile(fsys, path.Join(dir, pm.Up))
		if err != nil {
			return nil, fmt.Errorf("packs: read migration %s: %w", filepath.Join(shown, pm.Up), err)
		}
		sum := sha256.Sum256(up)
		m := Migration{Version: pm.Version, Name: pm.Name, UpFile: pm.Up, DownFile: pm.Down, UpSQL: string(up), SHA256: hex.EncodeToString(sum[:])}
		if pm.Down != "" {
			name := path.Join(dir, pm.Down)
			m.readDown = func() ([]byte, error) { return fs.ReadFile(fsys, name) }
		}
		out[i] = m
	}
	return out, nil
}

// parseNames sorts migration file names into migrations: the naming and
// numbering rules are manifest's, one set for update zips and for packs.
func parseNames(names []string) ([]manifest.Migration, error) {
	return manifest.ParseMigrations(names)
}

var goRegistry = struct {
	sync.Mutex
	m map[string]map[int]Migration
}{m: map[string]map[int]Migration{}}

// RegisterGo registers a Go-coded migration of pack at version. [LoadPack]
// merges registered migrations with the pack's files; a version that has
// both is an error. Call it from an init function or before loading packs.
func RegisterGo(pack string, version int, name string, up, down GoFunc) {
	goRegistry.Lock()
	defer goRegistry.Unlock()
	if goRegistry.m[pack] == nil {
		goRegistry.m[pack] = map[int]Migration{}
	}
	goRegistry.m[pack][version] = Migration{Version: version, Name: name, Up: up, Down: down}
}

// WithGo returns ms with the Go migrations registered for pack merged in,
// in order. It is what LoadPack does, for packs built by hand.
func WithGo(pack string, ms []Migration) ([]Migration, error) { return withGo(pack, ms) }

func withGo(pack string, ms []Migration) ([]Migration, error) {
	goRegistry.Lock()
	reg := goRegistry.m[pack]
	goRegistry.Unlock()
	if len(reg) == 0 {
		return ms, nil
	}
	out := append([]Migration(nil), ms...)
	have := map[int]string{}
	for _, m := range ms {
		have[m.Version] = m.Source()
	}
	for v, m := range reg {
		if f, ok := have[v]; ok {
			return nil, fmt.Errorf("%w: pack %s: version %d is both %s and a Go migration %q", ErrBadMigrations, pack, v, f, m.Name)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
