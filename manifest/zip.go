package manifest

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/flate"
)

// Limits bound what a zip may hold before it is opened further. A zero
// field means the value of [DefaultLimits].
type Limits struct {
	MaxEntries int // entries in the central directory
	// MaxManifestSize is the most bytes of manifest.json, uncompressed; 0
	// is 4 MiB plus 512 bytes for each entry of the zip (see
	// [Limits.ManifestLimit]).
	MaxManifestSize int64
	MaxTotalSize    uint64 // bytes of all entries, uncompressed
	// MaxRatio bounds uncompressed/compressed of one entry over 1 MiB, and
	// of the whole zip once it unpacks to more than 1 MiB.
	MaxRatio uint64
}

// Manifest size: what a manifest needs grows with the files it lists, one
// entry of "files" each: {"path": ..., "size": ..., "sha256": 64 hex
// digits, "mode": "0644"}, indented as `upkeep pack` writes it, is about
// 150 bytes plus the path. 512 bytes an entry leaves room for paths of
// 350 bytes; with MaxEntries entries the manifest can reach about 100 MiB,
// which bounds what a hostile zip can make upkeep read into memory.
const (
	manifestBase     = 4 << 20
	manifestPerEntry = 512
)

// ManifestLimit is the most bytes manifest.json may have in a zip of
// entries entries (manifest.json included), under l.
func (l Limits) ManifestLimit(entries int) int64 {
	if l.MaxManifestSize > 0 {
		return l.MaxManifestSize
	}
	return manifestBase + manifestPerEntry*int64(entries)
}

// DefaultLimits are the limits upkeep applies unless told otherwise.
func DefaultLimits() Limits {
	return Limits{MaxEntries: 200000, MaxTotalSize: 8 << 30, MaxRatio: 100}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxTotalSize == 0 {
		l.MaxTotalSize = d.MaxTotalSize
	}
	if l.MaxRatio == 0 {
		l.MaxRatio = d.MaxRatio
	}
	return l
}

// ratioThreshold is the size above which an entry's compression ratio is
// checked against Limits.MaxRatio.
const ratioThreshold = 1 << 20

// Zip is an update zip opened for reading: its central directory and its
// manifest have been read and checked, and nothing else.
type Zip struct {
	Path     string    // the path given to OpenZip, or the name given to NewZip
	Manifest *Manifest // the zip's manifest, valid and matching the entries

	r       *zip.Reader
	closer  io.Closer
	entries map[string]*zip.File // files (not folders) by name, manifest.json excluded
	listed  map[string]*File     // the manifest's files by path
	raw     []byte               // manifest.json as read
}

// OpenZip opens the update zip at path, reads its central directory and its
// manifest.json (and no other entry's data), and checks the entries against
// the manifest and the limits.
//
// A file without an end of central directory (not a zip, or a zip still
// being copied) gives an error that satisfies errors.Is(err, [ErrNotZip]).
// Otherwise every problem found is a [*Problem] naming the zip and the
// entry, and they are returned joined with errors.Join; see errors.go for
// the sentinels they wrap.
func OpenZip(path string, lim Limits) (*Zip, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open update %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open update %s: %w", path, err)
	}
	z, err := NewZip(f, fi.Size(), path, lim)
	if err != nil {
		f.Close()
		return nil, err
	}
	z.closer = f
	return z, nil
}

// NewZip is [OpenZip] on an update zip of size bytes read from r, named
// name in messages. Close does not close r.
func NewZip(r io.ReaderAt, size int64, name string, lim Limits) (*Zip, error) {
	lim = lim.withDefaults()
	// One read of the end of the file serves archive/zip's search for the
	// end of central directory, usually the whole directory, and the local
	// header offsets of the entries.
	t, err := readTail(r, size)
	if err != nil {
		return nil, fmt.Errorf("open update %s: %w", name, err)
	}
	zr, err := zip.NewReader(t, size)
	if err != nil && !(errors.Is(err, zip.ErrInsecurePath) && zr != nil) {
		// (Insecure paths are reported below, with the rest.)
		if t.endOfDirectory() < 0 {
			return nil, problems{&Problem{Zip: name, Detail: "not a zip file, or not completely copied yet (no end of central directory)", Err: ErrNotZip}}.err()
		}
		return nil, problems{&Problem{Zip: name, Detail: "cannot read the zip's central directory: " + err.Error(), Err: ErrInvalidZip}}.err()
	}
	zr.RegisterDecompressor(zip.Deflate, newFlateReader)
	z := &Zip{Path: name, r: zr}
	ps := z.check(t, size, lim)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return z, nil
}

// check checks the central directory, reads and parses the manifest, and
// checks the entries against it.
func (z *Zip) check(t *tailReader, size int64, lim Limits) problems {
	var ps problems
	name := z.Path
	entryBad := func(entry string, kind error, format string, args ...any) {
		if entry == "" {
			ps.add(name, "", kind, "entry \"\": "+format, args...)
			return
		}
		ps.add(name, entry, kind, format, args...)
	}
	files := z.r.File
	if len(files) > lim.MaxEntries {
		ps.add(name, "", ErrLimit, "%s", tooManyEntries(len(files), lim))
		return ps
	}

	type span struct {
		start, end int64
		name       string
	}
	spans := make([]span, 0, len(files))
	byName := make(map[string]bool, len(files))
	folded := make(map[string]string, len(files))
	z.entries = make(map[string]*zip.File, len(files))
	var manifestFile *zip.File
	var total uint64
	entryRatioBad := false
	offsets := t.headerOffsets(len(files))
	for i, f := range files {
		n := f.Name
		isDir := strings.HasSuffix(n, "/")
		good := true // safe to match against the manifest
		if why := unsafePath(strings.TrimSuffix(n, "/")); why != "" {
			entryBad(n, ErrUnsafeEntry, "unsafe name: %s", why)
			good = false
		}
		if byName[n] {
			entryBad(n, ErrUnsafeEntry, "duplicate entry name")
			good = false
		} else if prev, dup := folded[foldName(n)]; dup {
			entryBad(n, ErrUnsafeEntry, "name %s %s", clashWhy(n, prev), quote(prev))
			good = false
		} else {
			byName[n] = true
			folded[foldName(n)] = n
		}
		switch t := f.Mode().Type(); {
		case t&fs.ModeSymlink != 0:
			entryBad(n, ErrUnsafeEntry, "is a symlink")
			good = false
		case t&fs.ModeCharDevice != 0:
			entryBad(n, ErrUnsafeEntry, "is a character device")
			good = false
		case t&fs.ModeDevice != 0:
			entryBad(n, ErrUnsafeEntry, "is a device")
			good = false
		case t&fs.ModeNamedPipe != 0:
			entryBad(n, ErrUnsafeEntry, "is a named pipe")
			good = false
		case t&fs.ModeSocket != 0:
			entryBad(n, ErrUnsafeEntry, "is a socket")
			good = false
		case t&fs.ModeIrregular != 0:
			entryBad(n, ErrUnsafeEntry, "is not a regular file")
			good = false
		case t&fs.ModeDir != 0 && !isDir:
			entryBad(n, ErrUnsafeEntry, "is a folder in its attributes, but its name does not end in \"/\"")
			good = false
		}
		if f.Flags&0x1 != 0 {
			entryBad(n, ErrUnsafeEntry, "is encrypted")
			good = false
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			entryBad(n, ErrUnsafeEntry, "uses compression method %d%s; only store (0) and deflate (8) are supported", f.Method, methodName(f.Method))
			good = false
		}
		if isDir && (f.UncompressedSize64 > 0 || f.CompressedSize64 > 0) {
			entryBad(n, ErrUnsafeEntry, "is a folder but has data (%d bytes)", f.UncompressedSize64)
			good = false
		}
		if f.Method == zip.Store && f.Flags&0x1 == 0 && f.CompressedSize64 != f.UncompressedSize64 {
			entryBad(n, ErrInvalidZip, "is stored uncompressed but its sizes differ (%d bytes stored, %d bytes uncompressed)", f.CompressedSize64, f.UncompressedSize64)
			good = false
		}
		if f.UncompressedSize64 > ratioThreshold {
			ratio := f.UncompressedSize64 / max(f.CompressedSize64, 1)
			if ratio > lim.MaxRatio {
				entryBad(n, ErrLimit, "expands %d times (%d bytes from %d), more than the limit of %d", ratio, f.UncompressedSize64, f.CompressedSize64, lim.MaxRatio)
				good = false
				entryRatioBad = true
			}
		}
		if total += f.UncompressedSize64; total < f.UncompressedSize64 {
			total = ^uint64(0) // saturate
		}
		// The entry spans at least from its local header to the end of its
		// data: 30 bytes of header, its name, its data.
		start, end := int64(-1), int64(-1)
		if offsets != nil {
			start = offsets[i]
			end = start + 30 + int64(len(n)) + int64(f.CompressedSize64)
		} else if off, err := f.DataOffset(); err != nil {
			entryBad(n, ErrInvalidZip, "damaged local header: %v", err)
			good = false
		} else {
			start, end = off-30-int64(len(n)), off+int64(f.CompressedSize64)
		}
		if start >= 0 {
			if end > size || end < start || f.CompressedSize64 > uint64(size) {
				entryBad(n, ErrInvalidZip, "its data runs past the end of the zip (%d bytes, local header at offset %d, zip is %d bytes)", f.CompressedSize64, start, size)
				good = false
			} else {
				spans = append(spans, span{start, end, n})
			}
		}
		switch {
		case n == FileName:
			if manifestFile == nil && good {
				manifestFile = f
			}
		case isDir || !good:
		default:
			z.entries[n] = f
		}
	}
	if total > lim.MaxTotalSize {
		ps.add(name, "", ErrLimit, "%d bytes uncompressed in all, more than the limit of %d", total, lim.MaxTotalSize)
	}
	// A bomb split into entries under the threshold: the ratio of the
	// whole zip, once it unpacks to more than the threshold.
	if total > ratioThreshold && !entryRatioBad {
		if ratio := total / uint64(max(size, 1)); ratio > lim.MaxRatio {
			ps.add(name, "", ErrLimit, "expands %d times in all (%d bytes from a zip of %d), more than the limit of %d", ratio, total, size, lim.MaxRatio)
		}
	}

	// Overlapping entries: the data of one entry must end before the local
	// header of the next one starts. Entries sharing data are how a
	// "non-recursive" zip bomb multiplies its size.
	slices.SortFunc(spans, func(a, b span) int {
		if a.start != b.start {
			if a.start < b.start {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	var reach span
	for i, s := range spans {
		if i > 0 && s.start < reach.end {
			entryBad(s.name, ErrUnsafeEntry, "its data overlaps that of entry %s", quote(reach.name))
			delete(z.entries, s.name)
			if s.name == FileName {
				manifestFile = nil
			}
		}
		if i == 0 || s.end > reach.end {
			reach = s
		}
	}

	if !hasEntry(files, FileName) {
		ps.add(name, "", ErrNoManifest, "no %s in the zip", FileName)
		return ps
	}
	if manifestFile == nil {
		return ps // its problems are reported above
	}
	maxManifest := lim.ManifestLimit(len(files))
	if manifestFile.UncompressedSize64 > uint64(maxManifest) {
		ps.add(name, FileName, ErrLimit, "%s", manifestTooLarge(int64(manifestFile.UncompressedSize64), lim, len(files)))
		return ps
	}
	raw, err := readAll(manifestFile, maxManifest)
	if err != nil {
		ps.add(name, FileName, ErrInvalidZip, "cannot read it: %v", err)
		return ps
	}
	z.raw = raw
	m, _, mps := parse(raw, modeUpdate)
	for _, p := range mps {
		p.(*Problem).Zip = name
	}
	ps = append(ps, mps...)
	if m == nil {
		return ps
	}

	// The entries against the manifest's files.
	z.listed = make(map[string]*File, len(m.Files))
	var migrations []string
	for i := range m.Files {
		f := &m.Files[i]
		z.listed[f.Path] = f
		if rest, ok := strings.CutPrefix(f.Path, MigrationsDir+"/"); ok && !strings.Contains(rest, "/") {
			migrations = append(migrations, rest)
		}
	}
	for _, f := range files {
		e, ok := z.entries[f.Name]
		if !ok || e != f {
			continue
		}
		l, ok := z.listed[f.Name]
		switch {
		case !ok:
			entryBad(f.Name, ErrMismatch, "not listed in %s files", FileName)
		case uint64(l.Size) != f.UncompressedSize64:
			entryBad(f.Name, ErrMismatch, "size %d in the zip, %d in %s files", f.UncompressedSize64, l.Size, FileName)
		}
	}
	for _, f := range m.Files {
		if !byName[f.Path] {
			entryBad(f.Path, ErrMismatch, "listed in %s files but not in the zip", FileName)
		}
	}
	ms, err := ParseMigrations(migrations)
	if err != nil {
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			e.(*Problem).Zip = name
			ps = append(ps, e)
		}
	} else if hi, sv := highest(ms), m.SchemaVersion(); hi != sv {
		if hi == 0 {
			ps.add(name, FileName, ErrMismatch, "database.schema_version %d, but the zip has no migrations", sv)
		} else {
			ps.add(name, FileName, ErrMismatch, "database.schema_version %d, but the highest migration is %s", sv, quote(MigrationsDir+"/"+ms[len(ms)-1].Up))
		}
	}
	if len(ps) == 0 {
		z.Manifest = m
	}
	return ps
}

func hasEntry(files []*zip.File, name string) bool {
	for _, f := range files {
		if f.Name == name {
			return true
		}
	}
	return false
}

// readAll reads the entry f, at most limit bytes.
func readAll(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	buf := make([]byte, 0, min(int64(f.UncompressedSize64), limit)+1)
	w := bytes.NewBuffer(buf)
	if _, err := io.Copy(w, io.LimitReader(rc, limit+1)); err != nil {
		return nil, err
	}
	if int64(w.Len()) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return w.Bytes(), nil
}

func methodName(m uint16) string {
	switch m {
	case 12:
		return " (bzip2)"
	case 14:
		return " (lzma)"
	case 93:
		return " (zstd)"
	case 95:
		return " (xz)"
	case 99:
		return " (AES encryption)"
	}
	return ""
}

// tailReader is the zip with its last 64 KiB + 22 bytes read once: reads
// that fall inside are served from memory.
type tailReader struct {
	r    io.ReaderAt
	size int64
	tail []byte
	off  int64 // of tail in the file
}

const (
	endRecordLen = 22
	tailLen      = 65535 + endRecordLen // archive/zip looks no further
)

// readTail reads the end of the zip: the last 4 KiB, or 64 KiB + 22 bytes
// when the end of central directory record is not in those, and then back
// to the start of the central directory when it is not too far.
func readTail(r io.ReaderAt, size int64) (*tailReader, error) {
	t := &tailReader{r: r, size: size}
	for _, n := range []int64{min(size, 4096), min(size, tailLen)} {
		if err := t.read(size - n); err != nil {
			return nil, err
		}
		if t.endOfDirectory() >= 0 || n == size {
			break
		}
	}
	if e := t.endOfDirectory(); e >= 0 {
		dirOff := int64(binary.LittleEndian.Uint32(t.tail[e+16:]))
		if dirOff < t.off && t.off-dirOff <= maxCachedDirectory {
			if err := t.read(dirOff); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// maxCachedDirectory bounds the central directory readTail reads at once.
const maxCachedDirectory = 16 << 20

// read reads the file from off to its end into t.tail.
func (t *tailReader) read(off int64) error {
	if off == t.off && t.tail != nil {
		return nil
	}
	t.tail, t.off = make([]byte, t.size-off), off
	if _, err := t.r.ReadAt(t.tail, off); err != nil && err != io.EOF {
		return err
	}
	return nil
}

func (t *tailReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= t.off && off+int64(len(p)) <= t.off+int64(len(t.tail)) {
		return copy(p, t.tail[off-t.off:]), nil
	}
	return t.r.ReadAt(p, off)
}

// endOfDirectory returns the offset in t.tail of the last complete end of
// central directory record (22 bytes and its comment) in the last 64 KiB +
// 22 bytes of the file, or -1.
func (t *tailReader) endOfDirectory() int {
	low := max(0, len(t.tail)-tailLen)
	for i := len(t.tail) - endRecordLen; i >= low; i-- {
		if string(t.tail[i:i+4]) == "PK\x05\x06" {
			comment := int(binary.LittleEndian.Uint16(t.tail[i+20:]))
			if i+endRecordLen+comment <= len(t.tail) {
				return i
			}
		}
	}
	return -1
}

// headerOffsets returns the local header offset of each of the n entries
// of the central directory, read from the directory itself, or nil when
// that is not simple (zip64, data before the zip, a directory not in the
// tail): the caller then asks archive/zip for the data offsets instead.
func (t *tailReader) headerOffsets(n int) []int64 {
	e := t.endOfDirectory()
	if e < 0 {
		return nil
	}
	rec := t.tail[e:]
	count := int(binary.LittleEndian.Uint16(rec[10:]))
	dirSize := int64(binary.LittleEndian.Uint32(rec[12:]))
	dirOff := int64(binary.LittleEndian.Uint32(rec[16:]))
	if count != n || count == 0xffff || dirOff == 0xffffffff || dirOff+dirSize != t.off+int64(e) || dirOff < t.off {
		return nil
	}
	dir := t.tail[dirOff-t.off : int64(e)]
	offsets := make([]int64, n)
	for i := range offsets {
		if len(dir) < 46 || string(dir[:4]) != "PK\x01\x02" {
			return nil
		}
		off := binary.LittleEndian.Uint32(dir[42:])
		if off == 0xffffffff {
			return nil
		}
		offsets[i] = int64(off)
		l := 46 + int(binary.LittleEndian.Uint16(dir[28:])) + int(binary.LittleEndian.Uint16(dir[30:])) + int(binary.LittleEndian.Uint16(dir[32:]))
		if l > len(dir) {
			return nil
		}
		dir = dir[l:]
	}
	return offsets
}

// flateReaders recycles decompressors with their read buffers.
var flateReaders sync.Pool

type flateReader struct {
	br *bufio.Reader
	fr io.ReadCloser
}

func (f *flateReader) Read(p []byte) (int, error) { return f.fr.Read(p) }

func (f *flateReader) Close() error {
	err := f.fr.Close()
	f.br.Reset(nil)
	flateReaders.Put(f)
	return err
}

// newFlateReader is the zip.Decompressor for deflate: klauspost's flate,
// reading the zip through a 64 KiB buffer.
func newFlateReader(r io.Reader) io.ReadCloser {
	if f, ok := flateReaders.Get().(*flateReader); ok {
		f.br.Reset(r)
		f.fr.(flate.Resetter).Reset(f.br, nil)
		return f
	}
	br := bufio.NewReaderSize(r, 64<<10)
	return &flateReader{br: br, fr: flate.NewReader(br)}
}

// Open returns a reader of the entry name that fails at its end, with an
// error wrapping [ErrChecksum], when the content does not have the size and
// sha256 the manifest lists. Open(FileName) returns the manifest as read.
// A name the manifest does not list gives an error wrapping fs.ErrNotExist.
func (z *Zip) Open(name string) (io.ReadCloser, error) {
	if name == FileName {
		return io.NopCloser(bytes.NewReader(z.raw)), nil
	}
	want, ok := z.listed[name]
	f := z.entries[name]
	if !ok || f == nil {
		return nil, fmt.Errorf("%s: entry %q: %w", z.Path, name, fs.ErrNotExist)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, &Problem{Zip: z.Path, Entry: name, Detail: "cannot open: " + err.Error(), Err: ErrInvalidZip}
	}
	return &entryReader{z: z, want: want, rc: rc, h: sha256.New()}, nil
}

// entryReader reads an entry, hashing it, and checks size and sha256 at
// its end.
type entryReader struct {
	z    *Zip
	want *File
	rc   io.ReadCloser
	h    hash.Hash
	n    int64
	err  error // sticky
}

func (r *entryReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.rc.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	switch {
	case r.n > r.want.Size:
		r.err = r.problem(ErrChecksum, "more than the %d bytes %s files lists", r.want.Size, FileName)
	case err == io.EOF:
		if r.n != r.want.Size {
			r.err = r.problem(ErrChecksum, "%d bytes, %s files lists %d", r.n, FileName, r.want.Size)
		} else if got := hex.EncodeToString(r.h.Sum(nil)); got != r.want.SHA256 {
			r.err = r.problem(ErrChecksum, "sha256 %s, %s files lists %s", got, FileName, r.want.SHA256)
		} else {
			r.err = io.EOF
		}
	case errors.Is(err, zip.ErrChecksum):
		r.err = r.problem(ErrChecksum, "crc32 does not match the zip's: damaged data")
	case err != nil:
		r.err = r.problem(ErrInvalidZip, "cannot read: %v", err)
	}
	return n, r.err
}

// WriteTo lets io.Copy read the entry in large blocks, with the same
// checks as Read.
func (r *entryReader) WriteTo(w io.Writer) (int64, error) {
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	var total int64
	for {
		n, err := r.Read(*buf)
		if n > 0 {
			m, werr := w.Write((*buf)[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
			if m < n {
				return total, io.ErrShortWrite
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func (r *entryReader) problem(kind error, format string, args ...any) error {
	return &Problem{Zip: r.z.Path, Entry: r.want.Path, Detail: fmt.Sprintf(format, args...), Err: kind}
}

func (r *entryReader) Close() error { return r.rc.Close() }

// Verify reads every file the manifest lists, streaming, a few at a time,
// and checks its size and sha256. It returns every problem, joined, in the
// order of the manifest's files.
func (z *Zip) Verify() error {
	files := z.Manifest.Files
	errs := make([]error, len(files))
	workers := min(runtime.GOMAXPROCS(0), 4, len(files))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			buf := copyBuffers.Get().(*[]byte)
			defer copyBuffers.Put(buf)
			for {
				i := int(next.Add(1)) - 1
				if i >= len(files) {
					return
				}
				errs[i] = z.verifyOne(files[i].Path, *buf)
			}
		})
	}
	wg.Wait()
	var ps problems
	for _, err := range errs {
		if err != nil {
			ps = append(ps, err)
		}
	}
	return ps.err()
}

func (z *Zip) verifyOne(name string, buf []byte) error {
	rc, err := z.Open(name)
	if err != nil {
		return err
	}
	defer rc.Close()
	for {
		_, err := rc.Read(buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// ManifestSHA256 is the sha256 of manifest.json as the zip holds it: two
// zips with the same one promise the same files, byte for byte.
func (z *Zip) ManifestSHA256() [32]byte { return sha256.Sum256(z.raw) }

// Close closes the zip file opened by OpenZip.
func (z *Zip) Close() error {
	if z.closer == nil {
		return nil
	}
	return z.closer.Close()
}

// manifestTooLarge is the message, one for `upkeep pack` and for reading a
// zip, of a manifest of n bytes over the limit for entries entries.
func manifestTooLarge(n int64, lim Limits, entries int) string {
	if lim.MaxManifestSize > 0 {
		return fmt.Sprintf("%d bytes, more than the limit of %d", n, lim.MaxManifestSize)
	}
	return fmt.Sprintf("%d bytes, more than the limit of %d (4 MiB and %d bytes for each of the zip's %d entries)", n, lim.ManifestLimit(entries), manifestPerEntry, entries)
}

// tooManyEntries is the message, one for `upkeep pack` and for reading a
// zip, of a zip of n entries over the limit.
func tooManyEntries(n int, lim Limits) string {
	return fmt.Sprintf("%d entries, more than the limit of %d", n, lim.MaxEntries)
}
