package backupstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zip"

	"github.com/upkeep/upkeep/internal/progress"
)

// The compression pipeline. Workers (one per core) each take a whole
// file: read it once, computing sha256 and CRC-32 on the way, and deflate
// it into a buffer of their own, or keep it as it is when its first 64 KiB
// do not shrink by at least 10% at the level in use, the fastest by
// default (random data, already-compressed formats). The writer takes the buffers in the
// original order and writes them as raw zip entries (zip.Writer.CreateRaw).
// At most workers+8 files are in flight (the writer takes them in order:
// with fewer, a worker done with small files waits for a large one ahead),
// and a buffer that outgrows 4 MiB
// spills into an unlinked temp file beside the zip, so memory stays small
// whatever the file sizes. A file that does not compress and is larger
// than 4 MiB is not buffered at all: the writer streams it into the zip.
const (
	inFlightExtra = 8
	sampleSize    = 64 << 10
	spillLimit    = 4 << 20
	readSize      = 256 << 10
)

type pipeline struct {
	ctx      context.Context
	workers  int
	level    int
	spillDir string
	outName  string    // the zip being written, for errors
	bufs     sync.Pool // *spillBuffer
	readBuf  []byte    // the writer's, for streamed files
	start    time.Time // when the backup began: see statRecord
}

func newPipeline(ctx context.Context, workers, level int, spillDir, outName string) *pipeline {
	if level <= 0 || level > 9 {
		level = flate.BestSpeed
	}
	return &pipeline{ctx: ctx, workers: runtimeWorkers(workers), level: level, spillDir: spillDir, outName: outName,
		readBuf: make([]byte, readSize), start: time.Now()}
}

// job is one entry on its way through the pipeline.
type job struct {
	e      *entry
	done   chan struct{} // closed when the worker is through
	err    error
	stream bool   // the writer copies the file itself
	method uint16 // zip.Store or zip.Deflate
	data   *spillBuffer
	crc    uint32
	sum    []byte
	size   int64
	mtime  time.Time
	mode   fs.FileMode
	fi     fs.FileInfo // the stat taken before reading
}

// worker holds one goroutine's reusable state.
type worker struct {
	p      *pipeline
	fw     *flate.Writer
	sample []byte
	read   []byte
}

// run writes entries to zw, names prefixed with prefix, and sets their
// records for backup.json in files (as long as entries). An entry with a
// ref is not read or written: its record is the ref.
func (p *pipeline) run(entries []*entry, files []File, prefix string, zw *zip.Writer, meter *progress.Meter) error {
	ctx, cancel := context.WithCancel(p.ctx)
	jobs := sync.Pool{New: func() any { return new(job) }}
	window := make(chan *job, p.workers+inFlightExtra)
	work := make(chan *job)
	var wg sync.WaitGroup
	for range p.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{p: p, sample: make([]byte, sampleSize), read: make([]byte, readSize)}
			for j := range work {
				w.process(ctx, j)
				close(j.done)
			}
		}()
	}
	go func() {
		defer close(window)
		defer close(work)
		for _, e := range entries {
			// Jobs are reused (at most workers+8 are in flight); only a
			// file to store needs a channel of its own.
			j := jobs.Get().(*job)
			stored := e.typ == TypeFile && e.ref == nil
			*j = job{e: e, done: closedDone}
			if stored {
				j.done = make(chan struct{})
			}
			select {
			case window <- j:
			case <-ctx.Done():
				return
			}
			if stored {
				select {
				case work <- j:
				case <-ctx.Done():
					j.err = ctx.Err()
					close(j.done)
					return
				}
			}
		}
	}()
	defer func() {
		// On an early return, stop the feeder and the workers and give
		// back what they hold.
		cancel()
		for j := range window {
			<-j.done
			j.release(p)
		}
		wg.Wait()
	}()

	i := 0
	for j := range window {
		<-j.done
		f, err := p.write(ctx, j, prefix, zw)
		j.release(p)
		if err != nil {
			return err
		}
		files[i] = f
		i++
		if j.e.typ == TypeFile && j.e.ref == nil {
			meter.Add(1, f.Size)
		} else {
			meter.Add(1, 0)
		}
		jobs.Put(j)
	}
	return p.ctx.Err()
}

// closedDone is the done channel of the jobs no worker takes.
var closedDone = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (j *job) release(p *pipeline) {
	if j.data != nil {
		j.data.reset()
		p.bufs.Put(j.data)
		j.data = nil
	}
}

func (p *pipeline) getBuf() *spillBuffer {
	if b, ok := p.bufs.Get().(*spillBuffer); ok {
		return b
	}
	return &spillBuffer{dir: p.spillDir, limit: spillLimit}
}

// process reads, hashes and compresses one regular file.
func (w *worker) process(ctx context.Context, j *job) {
	if err := ctx.Err(); err != nil {
		j.err = err
		return
	}
	f, err := os.OpenFile(j.e.abs, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		j.err = fmt.Errorf("backupstore: read %s: %w", j.e.abs, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		j.err = fmt.Errorf("backupstore: stat %s: %w", j.e.abs, err)
		return
	}
	if !fi.Mode().IsRegular() {
		j.err = fmt.Errorf("backupstore: read %s: no longer a regular file", j.e.abs)
		return
	}
	j.mtime, j.mode, j.fi = fi.ModTime(), fi.Mode().Perm(), fi
	n, err := io.ReadFull(f, w.sample)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		j.err = fmt.Errorf("backupstore: read %s: %w", j.e.abs, err)
		return
	}
	whole := n < len(w.sample)
	buf := w.p.getBuf()
	j.data = buf
	sha, crc := sha256.New(), crc32.NewIEEE()
	sha.Write(w.sample[:n])
	crc.Write(w.sample[:n])
	// The sample is deflated for real: if it shrinks by 10% or more the
	// worker goes on from there, else it starts again, storing.
	if w.fw == nil {
		w.fw, _ = flate.NewWriter(buf, w.p.level)
	} else {
		w.fw.Reset(buf)
	}
	compress := false
	if n > 0 {
		if _, err := w.fw.Write(w.sample[:n]); err != nil {
			j.err = fmt.Errorf("backupstore: buffer %s: %w", j.e.abs, err)
			return
		}
		if err := w.fw.Flush(); err != nil {
			j.err = fmt.Errorf("backupstore: buffer %s: %w", j.e.abs, err)
			return
		}
		compress = buf.n*10 <= int64(n)*9
	}
	var dst io.Writer = w.fw
	j.method = zip.Deflate
	if !compress {
		buf.reset()
		if !whole && fi.Size() > spillLimit {
			j.release(w.p)
			j.stream = true
			return
		}
		dst, j.method = buf, zip.Store
		if _, err := buf.Write(w.sample[:n]); err != nil {
			j.err = fmt.Errorf("backupstore: buffer %s: %w", j.e.abs, err)
			return
		}
	}
	mw := io.MultiWriter(sha, crc, dst)
	j.size = int64(n)
	for !whole {
		if err := ctx.Err(); err != nil {
			j.err = err
			return
		}
		m, err := f.Read(w.read)
		if m > 0 {
			if _, werr := mw.Write(w.read[:m]); werr != nil {
				j.err = fmt.Errorf("backupstore: buffer %s: %w", j.e.abs, werr)
				return
			}
			j.size += int64(m)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			j.err = fmt.Errorf("backupstore: read %s: %w", j.e.abs, err)
			return
		}
	}
	if compress {
		if err := w.fw.Close(); err != nil {
			j.err = fmt.Errorf("backupstore: compress %s: %w", j.e.abs, err)
			return
		}
	}
	j.crc, j.sum = crc.Sum32(), sha.Sum(nil)
}

// write puts one finished job into the zip.
func (p *pipeline) write(ctx context.Context, j *job, prefix string, zw *zip.Writer) (File, error) {
	if j.err != nil {
		return File{}, j.err
	}
	e := j.e
	if e.ref != nil {
		return *e.ref, nil
	}
	rec := File{Path: e.rel, Type: e.typ}
	switch e.typ {
	case TypeDir:
		rec.Mode = modeString(e.mode)
		rec.Modified = e.mtime.UTC()
		h := &zip.FileHeader{Name: prefix + e.rel + "/", Modified: e.mtime}
		h.SetMode(fs.ModeDir | e.mode.Perm())
		if _, err := zw.CreateHeader(h); err != nil {
			return File{}, fmt.Errorf("backupstore: write %s into %s: %w", e.abs, p.outName, err)
		}
		return rec, nil
	case TypeSymlink:
		data := []byte(e.target)
		sum := sha256.Sum256(data)
		rec.Mode, rec.Target, rec.Size, rec.SHA256 = "0777", e.target, int64(len(data)), hexSum(sum[:])
		rec.Modified = e.mtime.UTC()
		h := rawHeader(prefix+e.rel, fs.ModeSymlink|0o777, e.mtime)
		h.Method, h.CRC32 = zip.Store, crc32.ChecksumIEEE(data)
		h.CompressedSize64, h.UncompressedSize64 = uint64(len(data)), uint64(len(data))
		w, err := zw.CreateRaw(h)
		if err == nil {
			_, err = w.Write(data)
		}
		if err != nil {
			return File{}, fmt.Errorf("backupstore: write %s into %s: %w", e.abs, p.outName, err)
		}
		return rec, nil
	}
	if j.stream {
		return p.stream(ctx, e, prefix, zw)
	}
	rec.Mode, rec.Size, rec.SHA256, rec.Modified = modeString(j.mode), j.size, hexSum(j.sum), j.mtime.UTC()
	statRecord(&rec, j.fi, p.start)
	h := rawHeader(prefix+e.rel, j.mode, j.mtime)
	h.Method, h.CRC32 = j.method, j.crc
	h.CompressedSize64, h.UncompressedSize64 = uint64(j.data.n), uint64(j.size)
	w, err := zw.CreateRaw(h)
	if err == nil {
		_, err = j.data.WriteTo(w)
	}
	if err != nil {
		return File{}, fmt.Errorf("backupstore: write %s into %s: %w", e.abs, p.outName, err)
	}
	return rec, nil
}

// stream copies a large file that does not compress straight into the zip,
// hashing it on the way.
func (p *pipeline) stream(ctx context.Context, e *entry, prefix string, zw *zip.Writer) (File, error) {
	f, err := os.OpenFile(e.abs, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return File{}, fmt.Errorf("backupstore: read %s: %w", e.abs, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return File{}, fmt.Errorf("backupstore: stat %s: %w", e.abs, err)
	}
	h := &zip.FileHeader{Name: prefix + e.rel, Method: zip.Store, Modified: fi.ModTime()}
	h.SetMode(fi.Mode().Perm())
	w, err := zw.CreateHeader(h)
	if err != nil {
		return File{}, fmt.Errorf("backupstore: write %s into %s: %w", e.abs, p.outName, err)
	}
	sha := sha256.New()
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			return File{}, err
		}
		n, rerr := f.Read(p.readBuf)
		if n > 0 {
			sha.Write(p.readBuf[:n])
			if _, err := w.Write(p.readBuf[:n]); err != nil {
				return File{}, fmt.Errorf("backupstore: write %s into %s: %w", e.abs, p.outName, err)
			}
			size += int64(n)
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return File{}, fmt.Errorf("backupstore: read %s: %w", e.abs, rerr)
		}
	}
	rec := File{Path: e.rel, Type: TypeFile, Size: size, Mode: modeString(fi.Mode()),
		SHA256: hexSum(sha.Sum(nil)), Modified: fi.ModTime().UTC()}
	statRecord(&rec, fi, p.start)
	return rec, nil
}

func modeString(m fs.FileMode) string { return permStrings[m.Perm()] }

// permStrings are the permission bits in octal, made once: a backup of
// 100,000 files would otherwise format 100,000 of them.
var permStrings = func() (t [01000]string) {
	for i := range t {
		t[i] = fmt.Sprintf("%04o", i)
	}
	return t
}()

// rawHeader fills in what zip.Writer.CreateHeader would for an entry that
// CreateRaw writes: versions, Unix mode, DOS time and the extended
// timestamp Info-ZIP reads, and the UTF-8 flag.
func rawHeader(name string, mode fs.FileMode, mtime time.Time) *zip.FileHeader {
	h := &zip.FileHeader{Name: name, Modified: mtime}
	h.SetMode(mode)
	h.CreatorVersion = h.CreatorVersion&0xff00 | 20
	h.ReaderVersion = 20
	//lint:ignore SA1019 CreateRaw, unlike CreateHeader, does not derive the DOS time from Modified.
	h.ModifiedDate, h.ModifiedTime = msDosTime(mtime)
	var ext [9]byte
	ext[0], ext[1] = 0x55, 0x54 // 0x5455: extended timestamp
	ext[2], ext[3] = 5, 0
	ext[4] = 1 // modification time only
	u := uint32(mtime.Unix())
	ext[5], ext[6], ext[7], ext[8] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	h.Extra = ext[:]
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			if utf8.ValidString(name) {
				h.Flags |= 0x800
			} else {
				h.NonUTF8 = true
			}
			break
		}
	}
	return h
}

func msDosTime(t time.Time) (date, tim uint16) {
	if t.Year() < 1980 {
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, t.Location())
	}
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	tim = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, tim
}

// spillBuffer keeps up to limit bytes in memory, then moves to an unlinked
// temp file in dir (gone by itself if the process dies).
type spillBuffer struct {
	mem   bytes.Buffer
	file  *os.File
	dir   string
	limit int
	n     int64
}

func (s *spillBuffer) Write(p []byte) (int, error) {
	if s.file == nil && s.mem.Len()+len(p) > s.limit {
		f, err := os.CreateTemp(s.dir, tmpPrefix+"spill-*")
		if err != nil {
			return 0, err
		}
		os.Remove(f.Name())
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			f.Close()
			return 0, err
		}
		s.mem.Reset()
		s.file = f
	}
	if s.file != nil {
		n, err := s.file.Write(p)
		s.n += int64(n)
		return n, err
	}
	s.mem.Write(p)
	s.n += int64(len(p))
	return len(p), nil
}

func (s *spillBuffer) WriteTo(w io.Writer) (int64, error) {
	if s.file == nil {
		return s.mem.WriteTo(w)
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(w, s.file)
}

func (s *spillBuffer) reset() {
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
	s.mem.Reset()
	s.n = 0
}
