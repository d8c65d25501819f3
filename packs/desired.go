package packs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/upkeep/upkeep/internal/dbaddr"
	"github.com/upkeep/upkeep/internal/sqlsplit"
)

// DesiredFile is the file of a pack that holds its desired schema: the
// CREATE TABLE and CREATE INDEX statements its tables should match.
const DesiredFile = "schema.sql"

// DesiredOptions says where the desired-schema work runs.
type DesiredOptions struct {
	// DevDB is an empty PostgreSQL or MySQL database the work may fill and
	// empty again; "" is SQLite in memory.
	DevDB string
	// Production is the application's database address; a DevDB that
	// names the same database is refused.
	Production string
	// Root resolves a relative SQLite production address.
	Root string
}

// Comparison is what a pack's migrations produce against its schema.sql.
type Comparison struct {
	Backend string `json:"backend"` // where it was compared: "sqlite" (in memory), "postgres" or "mysql"
	// Changes turn what the migrations produce into schema.sql; empty when
	// they agree.
	Changes []SchemaChange `json:"changes"`
	// Up are the statements that make Changes; Down undo them.
	Up   []string `json:"up"`
	Down []string `json:"down"`
	// Hints name dropped and added columns of one type that may be renames.
	Hints []string `json:"hints"`
	// Unhandled names what schema.sql holds that is not compared: views,
	// triggers, functions and procedures, whose migrations are written by
	// hand.
	Unhandled []string `json:"unhandled"`
}

// Destructive lists the changes that lose data.
func (c *Comparison) Destructive() []SchemaChange {
	var out []SchemaChange
	for _, ch := range c.Changes {
		if ch.Destructive {
			out = append(out, ch)
		}
	}
	return out
}

// CompareDesired replays the migrations of the pack source folder dir
// (dir/migrations) on a scratch database and compares the result with
// dir/schema.sql applied to another. It returns [ErrNoDesired] when dir has
// no schema.sql.
func CompareDesired(ctx context.Context, dir string, opts DesiredOptions) (*Comparison, error) {
	desiredPath := filepath.Join(dir, DesiredFile)
	text, err := os.ReadFile(desiredPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoDesired, desiredPath)
	}
	if err != nil {
		return nil, fmt.Errorf("packs: read %s: %w", desiredPath, err)
	}
	ms, err := ReadMigrationsDir(filepath.Join(dir, MigrationsDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	sc, err := openScratch(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer sc.close(ctx)

	if err := sc.replay(ctx, ms, filepath.Join(dir, MigrationsDir)); err != nil {
		return nil, err
	}
	have, err := sc.inspect(ctx)
	if err != nil {
		return nil, err
	}
	if err := sc.reset(ctx); err != nil {
		return nil, err
	}
	unhandled, err := sc.applyDesired(ctx, string(text), desiredPath)
	if err != nil {
		return nil, err
	}
	want, err := sc.inspect(ctx)
	if err != nil {
		return nil, err
	}
	eng, err := sc.engine()
	if err != nil {
		return nil, err
	}
	up, err := eng.plan(ctx, have, want)
	if err != nil {
		return nil, err
	}
	down, err := eng.plan(ctx, want, have)
	if err != nil {
		return nil, err
	}
	return &Comparison{Backend: sc.d.name(), Changes: nonNil(up.Changes), Up: nonNil(up.Statements), Down: nonNil(down.Statements),
		Hints: nonNil(up.Hints), Unhandled: nonNil(unhandled)}, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// GenerateOptions says what [Generate] writes.
type GenerateOptions struct {
	DesiredOptions
	// Dir is the pack's source folder: its migrations/ and schema.sql.
	Dir string
	// Message names the migration ("add tags" -> NNNN_add_tags.up.sql).
	Message string
	// AllowDestructive lets the migration drop tables and columns and
	// narrow types.
	AllowDestructive bool
}

// Generated is what [Generate] did.
type Generated struct {
	Comparison
	// UpFile and DownFile are the files written; "" when there was no
	// difference.
	UpFile   string `json:"up_file"`
	DownFile string `json:"down_file"`
	Version  string `json:"version"`
}

// Generate compares the migrations of the pack in opts.Dir with its
// schema.sql (see [CompareDesired]) and writes the next migration pair,
// VERSION_message.up.sql and its inverse .down.sql, into its migrations
// folder. With no difference it writes nothing. Destructive changes are
// refused with a [*DestructiveError] unless AllowDestructive is set.
func Generate(ctx context.Context, opts GenerateOptions) (*Generated, error) {
	slug := slugify(opts.Message)
	if slug == "" {
		return nil, fmt.Errorf("packs: generate: the message %q gives no file name; use letters or digits", opts.Message)
	}
	cmp, err := CompareDesired(ctx, opts.Dir, opts.DesiredOptions)
	if err != nil {
		return nil, err
	}
	g := &Generated{Comparison: *cmp}
	if len(cmp.Changes) == 0 {
		return g, nil
	}
	if d := cmp.Destructive(); len(d) > 0 && !opts.AllowDestructive {
		return g, &DestructiveError{Changes: d}
	}
	migDir := filepath.Join(opts.Dir, MigrationsDir)
	ms, err := ReadMigrationsDir(migDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	g.Version = nextVersion(ms)
	base := g.Version + "_" + slug
	if err := os.MkdirAll(migDir, 0o755); err != nil {
		return nil, fmt.Errorf("packs: create %s: %w", migDir, err)
	}
	up, down := filepath.Join(migDir, base+".up.sql"), filepath.Join(migDir, base+".down.sql")
	for _, p := range []string{up, down} {
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("packs: generate: %s exists already", p)
		}
	}
	header := fmt.Sprintf("-- %s: generated by upkeep db generate from %s.\n", opts.Message, DesiredFile)
	if err := os.WriteFile(up, []byte(header+statementsText(cmp.Up)), 0o644); err != nil {
		return nil, fmt.Errorf("packs: write %s: %w", up, err)
	}
	if err := os.WriteFile(down, []byte(header+statementsText(cmp.Down)), 0o644); err != nil {
		os.Remove(up)
		return nil, fmt.Errorf("packs: write %s: %w", down, err)
	}
	g.UpFile, g.DownFile = up, down
	return g, nil
}

func statementsText(stmts []string) string {
	var b strings.Builder
	for _, s := range stmts {
		b.WriteString(s)
		b.WriteString(";\n")
	}
	return b.String()
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

func slugify(msg string) string {
	return strings.Trim(nonWord.ReplaceAllString(strings.ToLower(msg), "_"), "_")
}

// nextVersion is the version of the migration after ms: the last one's
// number plus one, as wide as its digits (at least 4).
func nextVersion(ms []Migration) string {
	if len(ms) == 0 {
		return "0001"
	}
	last := ms[len(ms)-1].UpFile
	digits := last
	if i := strings.IndexFunc(last, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		digits = last[:i]
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || digits == "" {
		return fmt.Sprintf("%04d", len(ms)+1)
	}
	return fmt.Sprintf("%0*d", max(4, len(digits)), n+1)
}

// scratch is a database the desired-schema work fills and empties: SQLite
// in memory, or an empty server database given as --dev-db.
type scratch struct {
	db     *sql.DB
	d      dialect
	addr   string
	memory bool
}

func openScratch(ctx context.Context, opts DesiredOptions) (*scratch, error) {
	if opts.DevDB == "" {
		return openMemory()
	}
	if opts.DevDB == "sqlite:" || strings.HasPrefix(opts.DevDB, "sqlite:") {
		return nil, fmt.Errorf("%w: %s: SQLite in memory is the default; --dev-db is for a PostgreSQL or MySQL database", ErrBadDevDB, opts.DevDB)
	}
	a, err := dbaddr.Parse(opts.DevDB, opts.Root)
	if err != nil {
		return nil, fmt.Errorf("packs: %w", err)
	}
	if opts.Production != "" {
		if prod, err := dbaddr.Parse(opts.Production, opts.Root); err == nil && a.Same(prod) {
			return nil, fmt.Errorf("%w: %s is the production database", ErrBadDevDB, a)
		}
	}
	d, shown := dialectOf(a.Kind, a.Path), a.String()
	db, err := dbaddr.Open(a)
	if err != nil {
		return nil, fmt.Errorf("packs: %w", err)
	}
	// One connection: a session setting (MySQL's foreign key checks)
	// holds for every statement.
	db.SetMaxOpenConns(1)
	sc := &scratch{db: db, d: d, addr: shown}
	st, err := sc.inspectAll(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	if names := st.tables(); len(names) > 0 {
		db.Close()
		return nil, fmt.Errorf("%w: %s is not empty: it holds %s", ErrBadDevDB, shown, strings.Join(names, ", "))
	}
	return sc, nil
}

func openMemory() (*scratch, error) {
	db, err := sql.Open("sqlite", "file::memory:?_pragma=foreign_keys(1)")
	if err != nil {
		return nil, fmt.Errorf("packs: open SQLite in memory: %w", err)
	}
	// Each connection to :memory: is a database of its own: keep one.
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetMaxIdleConns(1)
	return &scratch{db: db, d: sqliteDialect{path: ":memory:"}, addr: "SQLite in memory", memory: true}, nil
}

func (sc *scratch) engine() (schemaEngine, error) { return newSchemaEngine(sc.d, sc.db) }

func (sc *scratch) inspect(ctx context.Context) (*schemaState, error) {
	eng, err := sc.engine()
	if err != nil {
		return nil, err
	}
	return eng.inspect(ctx, nil)
}

// inspectAll is inspect with upkeep's tables kept: for the emptiness check.
func (sc *scratch) inspectAll(ctx context.Context) (*schemaState, error) {
	names, err := sc.tableNames(ctx)
	if err != nil {
		return nil, err
	}
	st := &schemaState{}
	eng, err := sc.engine()
	if err != nil {
		return nil, err
	}
	if st, err = eng.inspect(ctx, nil); err != nil {
		return nil, err
	}
	// upkeep's tables count too: a database that has them is in use.
	for _, n := range names {
		if strings.HasPrefix(n, "upkeep_") {
			return nil, fmt.Errorf("%w: %s is not empty: it holds upkeep's table %s (is it an application's database?)", ErrBadDevDB, sc.addr, n)
		}
	}
	return st, nil
}

// tableNames lists the tables and views of the scratch database's current
// schema.
func (sc *scratch) tableNames(ctx context.Context) ([]string, error) {
	tables, views, err := sc.d.schemaObjects(ctx, sc.db)
	if err != nil {
		return nil, fmt.Errorf("packs: list the tables of %s: %w", sc.addr, err)
	}
	names := append(tables, views...)
	sort.Strings(names)
	return names, nil
}

// reset empties the scratch database.
func (sc *scratch) reset(ctx context.Context) error {
	if sc.memory {
		sc.db.Close()
		m, err := openMemory()
		if err != nil {
			return err
		}
		sc.db = m.db
		return nil
	}
	return sc.clear(ctx)
}

// clear drops every table and view of a server scratch database.
func (sc *scratch) clear(ctx context.Context) error {
	tables, views, err := sc.d.schemaObjects(ctx, sc.db)
	if err != nil {
		return fmt.Errorf("packs: list the tables of %s: %w", sc.addr, err)
	}
	if len(tables)+len(views) == 0 {
		return nil
	}
	for _, s := range sc.d.dropAll(tables, views) {
		if _, err := sc.db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("packs: empty the scratch database %s: %w", sc.addr, err)
		}
	}
	return nil
}

// close empties a server scratch database and closes it.
func (sc *scratch) close(ctx context.Context) {
	if !sc.memory {
		// A fresh context: the caller's may be cancelled, and the
		// scratch database must be left empty all the same.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		sc.clear(cctx)
		cancel()
	}
	sc.db.Close()
}

// replay runs the up files of ms on the scratch database, in order.
func (sc *scratch) replay(ctx context.Context, ms []Migration, dir string) error {
	for _, m := range ms {
		if m.Up != nil {
			return fmt.Errorf("packs: %s: a Go migration cannot be replayed on a scratch database", m.Source())
		}
		if err := sc.exec(ctx, m.UpSQL, filepath.Join(dir, m.UpFile), nil); err != nil {
			return err
		}
	}
	return nil
}

// applyDesired runs schema.sql on the scratch database, leaving out the
// statements the comparison does not handle, which it names.
func (sc *scratch) applyDesired(ctx context.Context, text, file string) ([]string, error) {
	var unhandled []string
	err := sc.exec(ctx, text, file, func(s sqlsplit.Statement) bool {
		if what := unhandledObject(s); what != "" {
			unhandled = append(unhandled, fmt.Sprintf("%s line %d: %s (not compared; write its migration by hand)", filepath.Base(file), s.Line, what))
			return false
		}
		return true
	})
	return unhandled, err
}

func (sc *scratch) exec(ctx context.Context, text, file string, keep func(sqlsplit.Statement) bool) error {
	stmts, err := sqlsplit.Split(text, sc.d.flavor())
	if err != nil {
		return fmt.Errorf("packs: %s: %w", file, err)
	}
	for _, s := range stmts {
		// The same rules as a migration run: transaction control skipped,
		// upkeep's own tables and ways out of the database refused.
		if rule, err := checkStatement(sc.d.flavor(), s); err != nil {
			return fmt.Errorf("packs: %s: %w", file, err)
		} else if rule == skipIt {
			continue
		}
		if keep != nil && !keep(s) {
			continue
		}
		if _, err := sc.db.ExecContext(ctx, s.Text); err != nil {
			return fmt.Errorf("packs: %s line %d (%s) on %s: %w", file, s.Line, s.FirstLine(), sc.addr, err)
		}
	}
	return nil
}

var unhandledRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?is)^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:DEFINER\s*=\s*\S+\s+)?(?:(?:TEMP|TEMPORARY|RECURSIVE|MATERIALIZED|CONSTRAINT|ALGORITHM\s*=\s*\w+|SQL\s+SECURITY\s+\w+)\s+)*(VIEW|TRIGGER|FUNCTION|PROCEDURE|RULE|EVENT)\s+(?:IF\s+NOT\s+EXISTS\s+)?([^\s(]+)`)
}) // compiled when first used: most commands never do

// unhandledObject names a statement that creates a view, trigger,
// function, procedure, rule or event ("view active_posts"); "" for others.
func unhandledObject(s sqlsplit.Statement) string {
	code := s.Text
	if i := strings.Index(code, s.FirstLine()); i > 0 {
		code = code[i:]
	}
	m := unhandledRE().FindStringSubmatch(code)
	if m == nil {
		return ""
	}
	return strings.ToLower(m[1]) + " " + strings.Trim(m[2], "`\"")
}

// DestructiveError is returned by [Generate] when the migration would lose
// data and destructive changes were not allowed.
type DestructiveError struct {
	Changes []SchemaChange
}

func (e *DestructiveError) Error() string {
	var s []string
	for _, c := range e.Changes {
		s = append(s, c.String())
	}
	return "packs: the migration would lose data: " + strings.Join(s, "; ")
}

// Is makes errors.Is(err, ErrDestructive) true.
func (e *DestructiveError) Is(target error) bool { return target == ErrDestructive }

// CheckDesired checks that the migrations of the pack source folder dir
// produce its schema.sql: nil when they do or when there is no schema.sql,
// a [*MismatchError] naming the differences when they do not.
func CheckDesired(ctx context.Context, dir string, opts DesiredOptions) (*Comparison, error) {
	cmp, err := CompareDesired(ctx, dir, opts)
	if errors.Is(err, ErrNoDesired) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(cmp.Changes) > 0 {
		return cmp, &MismatchError{File: filepath.Join(dir, DesiredFile), Changes: cmp.Changes}
	}
	return cmp, nil
}

// MismatchError says how what a pack's migrations produce differs from
// its schema.sql: the changes a next migration would make.
type MismatchError struct {
	File    string
	Changes []SchemaChange
}

func (e *MismatchError) Error() string {
	var s []string
	for _, c := range e.Changes {
		s = append(s, c.String())
	}
	return fmt.Sprintf("the migrations do not produce %s; it differs by: %s", e.File, strings.Join(s, "; "))
}

// Is makes errors.Is(err, ErrSchemaMismatch) true.
func (e *MismatchError) Is(target error) bool { return target == ErrSchemaMismatch }
