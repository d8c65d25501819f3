package manifest

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/klauspost/compress/flate"

	"github.com/upkeep/upkeep/internal/progress"
)

// Build writes to w the update zip of the pack whose source folder is dir:
// dir/manifest.json, without files (see [ParseSource]), and every other
// regular file under dir, including migrations/. It returns the manifest
// written in the zip.
//
// Folders .git, .hg and .svn and files .DS_Store and Thumbs.db are skipped;
// a symlink or any other special file is an error naming it.
// database.schema_version is the highest migration's version when the
// source manifest does not give it; when it does, the two must agree.
//
// The zip holds manifest.json first (indented, files sorted by path), then
// the files sorted by path, each deflated (or stored, when deflate does not
// make it smaller) with a fixed time (2000-01-01 00:00 UTC) and mode 0755
// (when any execute bit is set) or 0644: the same folder always gives the
// same bytes.
func Build(dir string, w io.Writer) (*Manifest, error) {
	res, err := BuildWith(dir, w, BuildOptions{})
	if err != nil {
		return nil, err
	}
	return res.Manifest, nil
}

// BuildOptions tunes [BuildWith].
type BuildOptions struct {
	// Exclude are globs of files and folders to leave out, as in a
	// .upkeepignore file (see [IgnoreFile]), added to that file's.
	Exclude []string
	// Skip are absolute paths (or filepath.Match patterns of them) to leave
	// out: the zip being written and its temporary file, when they are
	// inside the folder.
	Skip []string
	// Progress, when not nil, shows the progress of hashing and writing
	// the files: a bar on a terminal, lines otherwise.
	Progress io.Writer
}

// BuildResult is what [BuildWith] wrote, and what it has to say.
type BuildResult struct {
	Manifest *Manifest
	// Notes name the files of migrations/ that are not migrations: they
	// are packed as files, never run.
	Notes []string
	// Warnings name near-miss migration names (ignored), and tables the
	// migrations create, alter or drop that database.tables does not list.
	Warnings []string
	// Excluded counts the files left out by Exclude, .upkeepignore and
	// Skip.
	Excluded int
}

// IgnoreFile, in a pack's source folder, lists globs of files and folders
// [Build] leaves out, one a line; blank lines and lines starting with #
// are skipped. A glob without a slash matches a file or folder name at
// any depth ("*.log", "node_modules"); one with a slash matches the path
// from the folder ("docs/drafts", "/build"). The file itself is not packed.
const IgnoreFile = ".upkeepignore"

// BuildWith is [Build] with options.
func BuildWith(dir string, w io.Writer, opts BuildOptions) (*BuildResult, error) {
	res := &BuildResult{}
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		return nil, fmt.Errorf("build update from %s: %w", dir, err)
	}
	var ps problems
	m, info, mps := parse(data, modeSource)
	for _, p := range mps {
		p.(*Problem).Zip = dir
	}
	ps = append(ps, mps...)

	ign, err := readIgnore(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("build update from %s: %w", dir, err)
	}
	srcs, walkPs, err := walkSource(dir, ign)
	if err != nil {
		return nil, fmt.Errorf("build update from %s: %w", dir, err)
	}
	ps = append(ps, walkPs...)
	res.Excluded = ign.count

	var migrations []string
	migSrc := map[string]source{}
	for _, s := range srcs {
		if rest, ok := strings.CutPrefix(s.path, MigrationsDir+"/"); ok && !strings.Contains(rest, "/") {
			migrations = append(migrations, rest)
			migSrc[rest] = s
		}
	}
	set, err := ScanMigrations(migrations)
	var ms []Migration
	if set != nil {
		ms = set.Migrations
		for _, n := range set.Ignored {
			res.Notes = append(res.Notes, fmt.Sprintf("%s/%s: %s; packed as a file, never run", MigrationsDir, n.File, n.Note))
		}
		for _, n := range set.Warnings {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s/%s: %s", MigrationsDir, n.File, n.Note))
		}
		touched := map[string]string{} // table -> the first migration that touches it
		var order []string
		for _, mg := range ms {
			tables, cps := checkMigrationSource(dir, migSrc, mg)
			ps = append(ps, cps...)
			for _, t := range tables {
				if _, ok := touched[t]; !ok {
					touched[t] = mg.Up
					order = append(order, t)
				}
			}
		}
		res.Warnings = append(res.Warnings, unlistedTables(m, order, touched)...)
	}
	if err != nil {
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			e.(*Problem).Zip = dir
			ps = append(ps, e)
		}
	} else if m != nil {
		hi := highest(ms)
		switch {
		case m.Database == nil:
			if hi > 0 {
				m.Database = &Database{SchemaVersion: hi}
			}
		case !info.schemaGiven:
			m.Database.SchemaVersion = hi
		case m.Database.SchemaVersion != hi && len(ms) == 0:
			ps.add(dir, FileName, ErrBuild, "database.schema_version %d, but there are no migrations in %s/", m.Database.SchemaVersion, MigrationsDir)
		case m.Database.SchemaVersion != hi:
			ps.add(dir, FileName, ErrBuild, "database.schema_version %d, but the highest migration is %s (version %d)",
				m.Database.SchemaVersion, quote(MigrationsDir+"/"+ms[len(ms)-1].Up), hi)
		}
	}
	if len(srcs) == 0 {
		ps.add(dir, "", ErrBuild, "no files to pack besides %s", FileName)
	}
	if len(ps) > 0 {
		return nil, ps.err()
	}

	// First pass: sizes and sha256 for the manifest, which comes first.
	var total int64
	for _, s := range srcs {
		total += s.size
	}
	meter := progress.New(opts.Progress, "pack: checksums", len(srcs), total, progress.Options{})
	m.Files = make([]File, len(srcs))
	for i, s := range srcs {
		sum, n, err := hashFile(s.abs)
		if err != nil {
			return nil, fmt.Errorf("build update from %s: %w", dir, err)
		}
		m.Files[i] = File{Path: s.path, Size: n, SHA256: sum, Mode: fmt.Sprintf("%04o", s.mode)}
		meter.Add(1, n)
	}
	meter.Done()
	total = 0
	for _, f := range m.Files {
		total += f.Size
	}
	if err := m.Validate(); err != nil {
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			e.(*Problem).Zip = dir
			ps = append(ps, e)
		}
		return nil, ps.err()
	}
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false) // keep ">= 1.2" readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("build update from %s: %w", dir, err)
	}
	out := js.Bytes()
	// The zip must pass the limits upkeep reads it with: the same checks,
	// the same messages.
	lim := DefaultLimits()
	if n := len(srcs) + 1; n > lim.MaxEntries {
		ps.add(dir, "", ErrLimit, "%s", tooManyEntries(n, lim))
		return nil, ps.err()
	}
	if n := len(out); int64(n) > lim.ManifestLimit(len(srcs)+1) {
		ps.add(dir, FileName, ErrLimit, "%s", manifestTooLarge(int64(n), lim, len(srcs)+1))
		return nil, ps.err()
	}

	b := newBuilder(w)
	defer b.close()
	if _, err := b.add(FileName, 0o644, func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(out)), nil
	}); err != nil {
		return nil, fmt.Errorf("build update from %s: %w", dir, err)
	}
	meter = progress.New(opts.Progress, "pack: zip", len(srcs), total, progress.Options{})
	for i, s := range srcs {
		sum, err := b.add(s.path, s.mode, func() (io.ReadCloser, error) { return os.Open(s.abs) })
		if err != nil {
			return nil, fmt.Errorf("build update from %s: %w", dir, err)
		}
		if sum != m.Files[i].SHA256 {
			ps.add(dir, s.path, ErrBuild, "changed while being packed")
			return nil, ps.err()
		}
		meter.Add(1, m.Files[i].Size)
	}
	if err := b.zw.Close(); err != nil {
		return nil, fmt.Errorf("build update from %s: %w", dir, err)
	}
	meter.Done()
	res.Manifest = m
	return res, nil
}

// source is one file of a pack's source folder.
type source struct {
	path string // slash path relative to the folder
	abs  string
	mode uint32 // 0644 or 0755
	size int64
}

// ignorer decides what [BuildWith] leaves out besides the fixed names:
// the globs of Exclude and .upkeepignore, and the Skip paths.
type ignorer struct {
	names []string // globs matched against each path component
	paths []string // globs matched against the slash path from the folder
	skip  []string // absolute path globs
	count int
}

func readIgnore(dir string, opts BuildOptions) (*ignorer, error) {
	ig := &ignorer{skip: opts.Skip}
	globs := append([]string(nil), opts.Exclude...)
	data, err := os.ReadFile(filepath.Join(dir, IgnoreFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for line := range strings.Lines(string(data)) {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			globs = append(globs, l)
		}
	}
	for _, g := range globs {
		g = strings.TrimSuffix(filepath.ToSlash(g), "/")
		if _, err := path.Match(g, ""); err != nil || g == "" {
			return nil, fmt.Errorf("exclude %q: not a valid glob", g)
		}
		if strings.Contains(g, "/") {
			ig.paths = append(ig.paths, strings.TrimPrefix(g, "/"))
		} else {
			ig.names = append(ig.names, g)
		}
	}
	return ig, nil
}

// excluded reports whether the file or folder at rel (abs) is left out.
func (ig *ignorer) excluded(rel, abs string) bool {
	if ig == nil {
		return false
	}
	if rel == IgnoreFile {
		return true
	}
	for _, g := range ig.skip {
		if ok, _ := filepath.Match(g, abs); ok {
			return true
		}
	}
	for _, g := range ig.paths {
		if ok, _ := path.Match(g, rel); ok {
			return true
		}
	}
	base := path.Base(rel)
	for _, g := range ig.names {
		if ok, _ := path.Match(g, base); ok {
			return true
		}
	}
	return false
}

// checkMigrationSource reads a migration's file: goose annotations in a
// golang-migrate file and a malformed goose file are problems; it returns
// the tables its up part creates, alters or drops.
func checkMigrationSource(dir string, srcs map[string]source, mg Migration) ([]string, problems) {
	var ps problems
	s, ok := srcs[mg.Up]
	if !ok {
		return nil, nil
	}
	data, err := os.ReadFile(s.abs)
	if err != nil {
		ps.add(dir, s.path, ErrBuild, "%v", err)
		return nil, ps
	}
	text := string(data)
	if mg.Goose {
		g, err := ParseGoose(s.path, text)
		if err != nil {
			ps.add(dir, s.path, ErrBuild, "%s", strings.TrimPrefix(err.Error(), s.path+" "))
			return nil, ps
		}
		var b strings.Builder
		for _, c := range g.Up {
			b.WriteString(c.Text + "\n;\n")
		}
		text = b.String()
	} else if n := GooseMarkerLine(text); n > 0 {
		ps.add(dir, s.path, ErrBuild, "line %d: a goose annotation in a golang-migrate file (its Up and Down sections would run together); name a goose file VERSION_name.sql", n)
		return nil, ps
	}
	return tablesTouched(text), nil
}

// tableStmt finds the table of CREATE TABLE, ALTER TABLE and DROP TABLE,
// quoted or not, with IF [NOT] EXISTS and a schema prefix.
var tableStmt = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile("(?is)\\b(?:create\\s+(?:(?:global\\s+|local\\s+)?(?:temporary|temp)\\s+|unlogged\\s+)?table|alter\\s+table|drop\\s+table)\\s+(?:if\\s+(?:not\\s+)?exists\\s+)?(?:only\\s+)?((?:[\"`\\[]?[\\w$]+[\"`\\]]?\\.)?[\"`\\[]?[\\w$]+[\"`\\]]?)")
}) // compiled when first used: most commands never do

func tablesTouched(text string) []string {
	var out []string
	for _, m := range tableStmt().FindAllStringSubmatch(stripSQLComments(text), -1) {
		name := m[1]
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:]
		}
		name = strings.Trim(name, "\"`[]")
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// stripSQLComments removes -- line comments, so that a commented-out
// statement is not read as one.
func stripSQLComments(text string) string {
	var b strings.Builder
	for line := range strings.Lines(text) {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i] + "\n"
		}
		b.WriteString(line)
	}
	return b.String()
}

// unlistedTables warns about the tables mg touches that database.tables
// does not list: they are not exported before migrations, nor checked for
// drift.
func unlistedTables(m *Manifest, tables []string, first map[string]string) []string {
	var listed []string
	if m != nil && m.Database != nil {
		listed = m.Database.Tables
	}
	var out []string
	for _, t := range tables {
		if !slices.ContainsFunc(listed, func(l string) bool { return strings.EqualFold(l, t) }) {
			out = append(out, fmt.Sprintf("%s: the migrations touch table %s (first in %s/%s), which database.tables does not list: it is not exported before migrations, nor checked for drift", FileName, t, MigrationsDir, first[t]))
		}
	}
	return out
}

// skipped are names Build leaves out wherever they are.
var skippedDirs = map[string]bool{".git": true, ".hg": true, ".svn": true}
var skippedFiles = map[string]bool{".DS_Store": true, "Thumbs.db": true}

// walkSource lists the regular files under dir, sorted by path, and a
// problem for each file that cannot be packed.
func walkSource(dir string, ign *ignorer) ([]source, problems, error) {
	var srcs []source
	var ps problems
	root, err := filepath.EvalSymlinks(dir) // the folder itself may be a link
	if err != nil {
		return nil, nil, err
	}
	if root, err = filepath.Abs(root); err != nil {
		return nil, nil, err
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if d.IsDir() {
			if skippedDirs[d.Name()] {
				return filepath.SkipDir
			}
			if ign.excluded(rel, p) {
				ign.count++
				return filepath.SkipDir
			}
			return nil
		}
		if skippedFiles[d.Name()] || rel == FileName {
			return nil
		}
		if ign.excluded(rel, p) {
			ign.count++
			return nil
		}
		if t := d.Type(); t != 0 {
			ps.add(dir, rel, ErrBuild, "%s; upkeep pack packs only regular files", describeType(t))
			return nil
		}
		if why := unsafePath(rel); why != "" {
			ps.add(dir, rel, ErrBuild, "unsafe name: %s", why)
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		mode := uint32(0o644)
		if fi.Mode().Perm()&0o111 != 0 {
			mode = 0o755
		}
		srcs = append(srcs, source{path: rel, abs: p, mode: mode, size: fi.Size()})
		return nil
	})
	slices.SortFunc(srcs, func(a, b source) int { return strings.Compare(a.path, b.path) })
	folded := make(map[string]string, len(srcs))
	for _, s := range srcs {
		if prev, dup := folded[foldName(s.path)]; dup {
			ps.add(dir, s.path, ErrBuild, "name %s %s", clashWhy(s.path, prev), quote(prev))
		}
		folded[foldName(s.path)] = s.path
	}
	return srcs, ps, err
}

// describeType says what kind of special file t is.
func describeType(t fs.FileMode) string {
	switch {
	case t&fs.ModeSymlink != 0:
		return "is a symlink"
	case t&fs.ModeCharDevice != 0:
		return "is a character device"
	case t&fs.ModeDevice != 0:
		return "is a device"
	case t&fs.ModeNamedPipe != 0:
		return "is a named pipe"
	case t&fs.ModeSocket != 0:
		return "is a socket"
	}
	return "is not a regular file"
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	n, err := io.CopyBuffer(h, f, *buf)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// buildTime is the time of every entry Build writes: 2000-01-01 00:00 UTC,
// in MS-DOS form.
const (
	buildDate = (2000-1980)<<9 | 1<<5 | 1
	buildTime = 0
)

// builder writes entries, each compressed first into a spill buffer to
// learn whether deflate makes it smaller.
type builder struct {
	zw  *zip.Writer
	fw  *flate.Writer
	buf spill
}

func newBuilder(w io.Writer) *builder {
	b := &builder{zw: zip.NewWriter(w)}
	// Entries are written raw, compressed by b.fw; the compressor is
	// registered on this writer all the same so that nothing here ever
	// uses the global one.
	b.zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.DefaultCompression)
	})
	return b
}

func (b *builder) close() { b.buf.close() }

// add writes one entry and returns the sha256 of its content.
func (b *builder) add(name string, mode uint32, open func() (io.ReadCloser, error)) (string, error) {
	r, err := open()
	if err != nil {
		return "", err
	}
	b.buf.reset()
	if b.fw == nil {
		if b.fw, err = flate.NewWriter(&b.buf, flate.DefaultCompression); err != nil {
			r.Close()
			return "", err
		}
	} else {
		b.fw.Reset(&b.buf)
	}
	crc := crc32.NewIEEE()
	sha := sha256.New()
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	n, err := io.CopyBuffer(io.MultiWriter(crc, sha, b.fw), r, *buf)
	r.Close()
	if err == nil {
		err = b.fw.Close()
	}
	if err != nil {
		return "", err
	}
	// CreateRaw writes ModifiedDate and ModifiedTime as they are and does
	// not convert Modified; fixed values keep the zip byte-identical.
	fh := &zip.FileHeader{
		Name:               name,
		Method:             zip.Deflate,
		CRC32:              crc.Sum32(),
		CompressedSize64:   uint64(b.buf.n),
		UncompressedSize64: uint64(n),
		ReaderVersion:      20,
		//lint:ignore SA1019 CreateRaw writes this field, not Modified
		ModifiedDate: buildDate,
		//lint:ignore SA1019 CreateRaw writes this field, not Modified
		ModifiedTime: buildTime,
	}
	fh.SetMode(fs.FileMode(mode))
	fh.CreatorVersion |= 20
	if !isASCII(name) && utf8.ValidString(name) {
		fh.Flags |= 0x800
	}
	// manifest.json is stored: every scan reads it, and inflating it
	// costs more than the bytes it saves.
	stored := b.buf.n >= n || name == FileName
	if stored {
		fh.Method = zip.Store
		fh.CompressedSize64 = uint64(n)
	}
	ew, err := b.zw.CreateRaw(fh)
	if err != nil {
		return "", err
	}
	sum := hex.EncodeToString(sha.Sum(nil))
	if !stored {
		return sum, b.buf.writeTo(ew)
	}
	// Stored: copy the content again, checking it did not change.
	r, err = open()
	if err != nil {
		return "", err
	}
	defer r.Close()
	sha.Reset()
	m, err := io.CopyBuffer(io.MultiWriter(ew, sha), io.LimitReader(r, n), *buf)
	if err != nil {
		return "", err
	}
	if m != n {
		return "", errors.New(name + ": changed while being packed")
	}
	return hex.EncodeToString(sha.Sum(nil)), nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// spillLimit is how much compressed data a spill keeps in memory before it
// moves to a temporary file. Tests lower it.
var spillLimit = 16 << 20

// spill is a buffer that moves to a temporary file when it grows large.
type spill struct {
	mem bytes.Buffer
	f   *os.File
	n   int64
}

func (s *spill) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	if s.f == nil && s.mem.Len()+len(p) <= spillLimit {
		return s.mem.Write(p)
	}
	if s.f == nil {
		f, err := os.CreateTemp("", "upkeep-pack-*")
		if err != nil {
			return 0, err
		}
		s.f = f
	}
	if s.mem.Len() > 0 {
		if _, err := s.f.Write(s.mem.Bytes()); err != nil {
			return 0, err
		}
		s.mem.Reset()
	}
	return s.f.Write(p)
}

func (s *spill) writeTo(w io.Writer) error {
	if s.f == nil {
		_, err := s.mem.WriteTo(w)
		return err
	}
	if s.mem.Len() > 0 {
		if _, err := s.f.Write(s.mem.Bytes()); err != nil {
			return err
		}
		s.mem.Reset()
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(w, s.f)
	return err
}

func (s *spill) reset() {
	s.mem.Reset()
	s.n = 0
	if s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
		s.f = nil
	}
}

func (s *spill) close() { s.reset() }
