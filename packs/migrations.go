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
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/upkeep/upkeep/internal/sqlsplit"
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
	// Goose is set for a goose file (VERSION_name.sql): UpSQL is the whole
	// file, its Up and Down sections run as goose runs them, and DownFile
	// is the same file when it has a Down section.
	Goose bool
	// NoTransaction runs the up file alone, outside the run's transaction,
	// statement by statement with its progress recorded, as on
	// MySQL/MariaDB: goose's "-- +goose NO TRANSACTION", or
	// [manifest.NoTransactionMarker] in a .up.sql. PostgreSQL's CREATE
	// INDEX CONCURRENTLY needs it.
	NoTransaction bool

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

// statements splits the text of m's file in direction dir ("up" or
// "down") into statements: a goose file by its sections and StatementBegin
// / StatementEnd blocks, any other file by [sqlsplit.Split]. It refuses
// goose annotations in a golang-migrate file.
func (m Migration) statements(dir, text, file string, f sqlsplit.Flavor) ([]sqlsplit.Statement, error) {
	if !m.Goose {
		if n := manifest.GooseMarkerLine(text); n > 0 {
			return nil, fmt.Errorf("%w: %s line %d: a goose annotation in a golang-migrate file; name a goose file VERSION_name.sql", ErrBadMigrations, file, n)
		}
		return sqlsplit.Split(text, f)
	}
	g, err := manifest.ParseGoose(file, text)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadMigrations, err)
	}
	chunks := g.Up
	if dir == "down" {
		chunks = g.Down
	}
	var out []sqlsplit.Statement
	for _, c := range chunks {
		if c.Whole {
			out = append(out, sqlsplit.Statement{Text: c.Text, Line: c.Line})
			continue
		}
		ss, err := sqlsplit.Split(c.Text, f)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", file, c.Line, err)
		}
		for _, s := range ss {
			s.Line += c.Line - 1
			out = append(out, s)
		}
	}
	return out, nil
}

// checkMigration splits the file of m in direction dir into statements
// ([Migration.statements]) and checks each ([checkStatements]) before any
// runs.
func checkMigration(f sqlsplit.Flavor, pack string, m Migration, dir, text, file string) ([]sqlsplit.Statement, []bool, error) {
	stmts, err := m.statements(dir, text, file, f)
	if err != nil {
		return nil, nil, fmt.Errorf("packs: pack %s: migration %s: %w", pack, file, err)
	}
	return checkStatements(f, pack, file, stmts)
}

func (r *runner) checkMigration(p Pack, m Migration, dir, text, file string) ([]sqlsplit.Statement, []bool, error) {
	if c, ok := r.checked[checkedKey(p.Name, dir, file)]; ok && c.text == text {
		return c.stmts, c.skip, nil
	}
	return checkMigration(r.db.d.flavor(), p.Name, m, dir, text, file)
}

// noTransaction reports whether the file of direction dir runs outside the
// run's transaction.
func (m Migration) noTransaction(dir, text string) bool {
	if m.Up != nil || m.Down != nil {
		return false
	}
	if dir == "up" || m.Goose {
		return m.NoTransaction
	}
	return manifest.HasNoTransactionMarker(text)
}

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

// CodeVersion returns the schema version the pack's code expects: its
// SchemaVersion, or its highest migration.
//
// A schema version S means that every migration numbered S or lower is
// applied. Versions are any increasing non-negative integers (1, 2, 3;
// timestamps; with gaps), so "nothing applied" is 0, or -1 for a pack
// that has a migration 0 (see [Pack.None]).
func (p Pack) CodeVersion() int {
	if p.SchemaVersion > 0 {
		return p.SchemaVersion
	}
	if len(p.Migrations) == 0 {
		return 0
	}
	return p.Migrations[len(p.Migrations)-1].Version
}

// None is the pack's schema version with no migration applied: -1 when
// it has a migration 0, else 0.
func (p Pack) None() int {
	if len(p.Migrations) > 0 && p.Migrations[0].Version == 0 {
		return -1
	}
	return 0
}

// migration returns migration v, which must exist.
func (p Pack) migration(v int) Migration {
	i, ok := p.index(v)
	if !ok {
		panic(fmt.Sprintf("packs: pack %s has no migration %d", p.Name, v))
	}
	return p.Migrations[i]
}

// index finds migration v.
func (p Pack) index(v int) (int, bool) {
	return sort.Find(len(p.Migrations), func(i int) int { return cmpInt(v, p.Migrations[i].Version) })
}

// downFileOf is the file that reverts migration v, "" when there is none.
func (p Pack) downFileOf(v int) string {
	if i, ok := p.index(v); ok {
		return p.Migrations[i].DownFile
	}
	return ""
}

// between returns the migrations numbered in (from, to], in order.
// The slice it returns is p's own, to read, when p.Migrations is in order
// (as the loaders sort it).
func (p Pack) between(from, to int) []Migration {
	if !sort.SliceIsSorted(p.Migrations, func(i, j int) bool { return p.Migrations[i].Version < p.Migrations[j].Version }) {
		var out []Migration // a Pack made by hand
		for _, m := range p.Migrations {
			if m.Version > from && m.Version <= to {
				out = append(out, m)
			}
		}
		slices.SortFunc(out, func(a, b Migration) int { return cmpInt(a.Version, b.Version) })
		return out
	}
	i := sort.Search(len(p.Migrations), func(i int) bool { return p.Migrations[i].Version > from })
	j := sort.Search(len(p.Migrations), func(i int) bool { return p.Migrations[i].Version > to })
	if j < i {
		j = i
	}
	return p.Migrations[i:j:j]
}

// below returns the version of the last migration before v, or
// [Pack.None].
func (p Pack) below(v int) int {
	prev := p.None()
	for _, m := range p.Migrations {
		if m.Version >= v {
			break
		}
		prev = m.Version
	}
	return prev
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

// check validates numbering and the schema version against the migrations.
func (p Pack) check() error {
	for i, m := range p.Migrations {
		if m.Version < 0 {
			return fmt.Errorf("%w: pack %s: migration %s has a negative version", ErrBadMigrations, p.Name, m.Source())
		}
		if i > 0 && m.Version <= p.Migrations[i-1].Version {
			return fmt.Errorf("%w: pack %s: migration %s comes after %s but its version is not higher", ErrBadMigrations, p.Name, m.Source(), p.Migrations[i-1].Source())
		}
	}
	if hi := p.CodeVersion(); p.SchemaVersion > 0 && (len(p.Migrations) == 0 || p.SchemaVersion > p.Migrations[len(p.Migrations)-1].Version) {
		last := 0
		if len(p.Migrations) > 0 {
			last = p.Migrations[len(p.Migrations)-1].Version
		}
		return fmt.Errorf("%w: pack %s: schema version %d but migrations stop at %d", ErrBadMigrations, p.Name, hi, last)
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
// VERSION_name.up.sql and .down.sql (golang-migrate) and VERSION_name.sql
// (goose) in it, in order of version (see [manifest.ScanMigrations]).
// Other files are ignored. A goose annotation in a .up.sql or .down.sql
// is an error naming the file.
func ReadMigrationsDir(dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(os.DirFS(dir), ".")
	if err != nil {
		return nil, fmt.Errorf("packs: read migrations %s: %w", dir, err)
	}
	// Files of a folder can be read concurrently: the up files of a pack
	// with many migrations are read (and hashed) by several goroutines.
	return loadMigrations(fileNames(entries), func(name string) ([]byte, error) { return readFile(dir, name) }, dir, readWorkers())
}

// readWorkers is how many goroutines read a folder's migration files: the
// system calls of opening and reading many small files are most of the
// time a pack takes to load, and they overlap on several cores.
func readWorkers() int { return min(runtime.GOMAXPROCS(0), 4) }

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
	return LoadMigrations(fileNames(entries), func(name string) ([]byte, error) { return fs.ReadFile(fsys, path.Join(dir, name)) }, shown)
}

func fileNames(entries []fs.DirEntry) []string {
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// LoadMigrations reads the migrations among names, the files of one
// migrations folder, with read (given a name of names), as
// [ReadMigrationsDir] does; shown names the folder in messages. Down files
// are read only when a revert needs them.
func LoadMigrations(names []string, read func(name string) ([]byte, error), shown string) ([]Migration, error) {
	return loadMigrations(names, read, shown, 1)
}

// upFile is an up file read, with its sha256 (hex), or the error reading
// it.
type upFile struct {
	text, sum string
	err       error
}

// readUp reads and hashes the up file name.
func readUp(read func(name string) ([]byte, error), name string) upFile {
	b, err := read(name)
	if err != nil {
		return upFile{err: err}
	}
	sum := sha256.Sum256(b)
	return upFile{text: string(b), sum: hex.EncodeToString(sum[:])}
}

// loadMigrations is [LoadMigrations] with the up files read by up to
// workers goroutines at once (read must then be safe for concurrent use).
// An error is the first in version order, as with one.
func loadMigrations(names []string, read func(name string) ([]byte, error), shown string, workers int) ([]Migration, error) {
	parsed, err := parseNames(names)
	if err != nil {
		return nil, fmt.Errorf("%w in %s: %v", ErrBadMigrations, shown, err)
	}
	ups := make([]upFile, len(parsed))
	if workers > 1 && len(parsed) >= 2*workers {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1) - 1); i < len(parsed); i = int(next.Add(1) - 1) {
					ups[i] = readUp(read, parsed[i].Up)
				}
			}()
		}
		wg.Wait()
	} else {
		for i, pm := range parsed {
			if ups[i] = readUp(read, pm.Up); ups[i].err != nil {
				break
			}
		}
	}
	out := make([]Migration, len(parsed))
	for i, pm := range parsed {
		if err := ups[i].err; err != nil {
			return nil, fmt.Errorf("packs: read migration %s: %w", filepath.Join(shown, pm.Up), err)
		}
		m := Migration{Version: pm.Version, Name: pm.Name, UpFile: pm.Up, DownFile: pm.Down, UpSQL: ups[i].text, SHA256: ups[i].sum, Goose: pm.Goose}
		file := filepath.Join(shown, pm.Up)
		if pm.Goose {
			g, err := manifest.ParseGoose(file, m.UpSQL)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrBadMigrations, err)
			}
			m.NoTransaction = g.NoTransaction
			if g.HasDown {
				m.DownFile = pm.Up
			}
		} else {
			if n := manifest.GooseMarkerLine(m.UpSQL); n > 0 {
				return nil, fmt.Errorf("%w: %s line %d: a goose annotation in a golang-migrate file (its Up and Down sections would run together); name a goose file VERSION_name.sql", ErrBadMigrations, file, n)
			}
			m.NoTransaction = manifest.HasNoTransactionMarker(m.UpSQL)
		}
		if m.DownFile != "" {
			name := m.DownFile
			m.readDown = func() ([]byte, error) { return read(name) }
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
