package manifest

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// recordingReader records the byte ranges read from it.
type recordingReader struct {
	r      io.ReaderAt
	mu     sync.Mutex
	ranges [][2]int64
}

func (r *recordingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.r.ReadAt(p, off)
	r.mu.Lock()
	r.ranges = append(r.ranges, [2]int64{off, off + int64(n)})
	r.mu.Unlock()
	return n, err
}

func randomBytes(n int, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return string(b)
}

// TestOpenZipReadsOnlyManifest checks that OpenZip reads no entry's data
// but the manifest's: a damaged entry goes unnoticed until Verify.
func TestOpenZipReadsOnlyManifest(t *testing.T) {
	data := ent{name: "data.bin", body: randomBytes(300<<10, 1)}
	text := ent{name: "text.txt", body: strings.Repeat("some text\n", 30000), method: zip.Deflate}
	tail := ent{name: "tail.bin", body: randomBytes(100<<10, 2)}
	z := mkzip(listed(nil, data, text, tail), data, text, tail)

	// Damage the data of text.txt, in the middle of its deflate stream.
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	spans := map[string][2]int64{}
	for _, f := range zr.File {
		off, err := f.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		spans[f.Name] = [2]int64{off, off + int64(f.CompressedSize64)}
	}
	mid := (spans["text.txt"][0] + spans["text.txt"][1]) / 2
	for i := mid; i < mid+16; i++ {
		z[i] ^= 0xff
	}

	rr := &recordingReader{r: bytes.NewReader(z)}
	zz, err := NewZip(rr, int64(len(z)), "damaged.zip", DefaultLimits())
	if err != nil {
		t.Fatalf("OpenZip noticed the damaged entry: %v", err)
	}
	for _, name := range []string{"data.bin", "text.txt"} {
		s := spans[name]
		for _, r := range rr.ranges {
			if r[0] < s[1] && s[0] < r[1] {
				t.Errorf("read %d..%d, in the data of %s (%d..%d)", r[0], r[1], name, s[0], s[1])
			}
		}
	}
	err = zz.Verify()
	if !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrInvalidZip) {
		t.Fatalf("Verify: %v, want the damage reported", err)
	}
	if got := lines(err); len(got) != 1 || !strings.HasPrefix(got[0], `damaged.zip: entry "text.txt": `) {
		t.Fatalf("Verify: %q", got)
	}
}

func TestVerifyProblems(t *testing.T) {
	body := "the real content\n"
	other := "another content!\n" // same size
	ok := ent{name: "ok.txt", body: body}
	z := mkzip(listed(func(m *Manifest) {
		m.Files = append(m.Files,
			File{Path: "crc.txt", Size: int64(len(body)), SHA256: sum(body)},
			File{Path: "sha.txt", Size: int64(len(body)), SHA256: sum(other)},
		)
		slices.SortFunc(m.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	}, ok), ok, ent{name: "crc.txt", body: body}, ent{name: "sha.txt", body: body})
	// crc.txt: its data no longer matches its crc32.
	i := bytes.Index(z[localOffset(z, "crc.txt"):], []byte(body))
	copy(z[int(localOffset(z, "crc.txt"))+i:], other)

	zz, err := NewZip(bytes.NewReader(z), int64(len(z)), "v.zip", DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`v.zip: entry "crc.txt": crc32 does not match the zip's: damaged data`,
		`v.zip: entry "sha.txt": sha256 ` + sum(body) + `, manifest.json files lists ` + sum(other),
	}
	err = zz.Verify()
	if got := lines(err); !slices.Equal(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if !errors.Is(e, ErrChecksum) {
			t.Errorf("%v is not ErrChecksum", e)
		}
	}

	// Open: the error comes at the end, in place of io.EOF.
	rc, err := zz.Open("sha.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if string(got) != body || !errors.Is(err, ErrChecksum) || err.Error() != want[1] {
		t.Errorf("ReadAll: %q, %v", got, err)
	}
	// io.Copy (through WriteTo) reports the same.
	rc, err = zz.Open("sha.txt")
	if err != nil {
		t.Fatal(err)
	}
	var copied bytes.Buffer
	n, err := io.Copy(&copied, rc)
	rc.Close()
	if n != int64(len(body)) || !errors.Is(err, ErrChecksum) || err.Error() != want[1] {
		t.Errorf("io.Copy: %d, %v", n, err)
	}
	rc, err = zz.Open("ok.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(rc)
	rc.Close()
	if string(got) != body || err != nil {
		t.Errorf("ReadAll: %q, %v", got, err)
	}
	if _, err := zz.Open("nope.txt"); !errors.Is(err, fs.ErrNotExist) || err.Error() != `v.zip: entry "nope.txt": file does not exist` {
		t.Errorf("Open of an unlisted name: %v", err)
	}
	rc, err = zz.Open(FileName)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(rc)
	if m, err := Parse(raw); err != nil || m.Pack != "blog" {
		t.Errorf("Open(manifest.json): %v", err)
	}
}

// TestVerifySizeMismatch checks that a reader stops an entry that is longer
// than the manifest says even when the zip's own sizes agree with it: the
// manifest is checked against the zip at open, so this guards Open used on
// a Zip whose manifest was changed after.
func TestOpenSizeMismatch(t *testing.T) {
	e := ent{name: "e.txt", body: "12345"}
	z := mkzip(listed(nil, e), e)
	zz, err := NewZip(bytes.NewReader(z), int64(len(z)), "s.zip", DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	zz.Manifest.Files[0].Size = 3
	zz.listed["e.txt"].Size = 3
	rc, err := zz.Open("e.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	_, err = io.ReadAll(rc)
	if want := `s.zip: entry "e.txt": more than the 3 bytes manifest.json files lists`; err == nil || err.Error() != want || !errors.Is(err, ErrChecksum) {
		t.Errorf("got %v, want %s", err, want)
	}
}

// benchZip builds a pack whose zip is about 5 MB (40 files: half random, half
// text) and returns the path of its update zip.
func benchZip(tb testing.TB) string { return benchZipN(tb, 40) }

// benchZipN builds a pack whose zip is about 5 MB, in n files.
func benchZipN(tb testing.TB, n int) string {
	dir := tb.TempDir()
	src := filepath.Join(dir, "src")
	files := map[string]string{FileName: `{"format":1,"pack":"bench","version":"1.0.0"}`}
	words := strings.Fields("the quick brown fox jumps over a lazy dog while upkeep keeps packs up to date and backs up everything first")
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range n {
		if i%2 == 0 {
			files[fmt.Sprintf("bin/file%04d.bin", i)] = randomBytes(8000<<10/n, uint64(i))
			continue
		}
		var sb strings.Builder
		for sb.Len() < 6000<<10/n {
			sb.WriteString(words[rng.IntN(len(words))])
			sb.WriteByte(" \n"[rng.IntN(2)])
		}
		files[fmt.Sprintf("text/file%04d.txt", i)] = sb.String()
	}
	writeTree(tb, src, files)
	path := filepath.Join(dir, "bench.zip")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := Build(src, f); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkOpenZip opens a 5 MB update zip of 40 files, and one of 1000.
func BenchmarkOpenZip(b *testing.B) {
	for _, n := range []int{40, 1000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			path := benchZipN(b, n)
			b.ReportAllocs()
			for b.Loop() {
				z, err := OpenZip(path, DefaultLimits())
				if err != nil {
					b.Fatal(err)
				}
				z.Close()
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	path := benchZip(b)
	z, err := OpenZip(path, DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	defer z.Close()
	var total int64
	for _, f := range z.Manifest.Files {
		total += f.Size
	}
	b.SetBytes(total)
	for b.Loop() {
		if err := z.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOpenZipWithPrefix checks zips with data before them (as
// self-extracting archives have): archive/zip finds the entries, and the
// overlap check works from the local headers instead of the directory.
func TestOpenZipWithPrefix(t *testing.T) {
	prefix := bytes.Repeat([]byte("#!/bin/sh\n"), 10)
	for _, name := range []string{"good", "good-folders", "overlapping-entries"} {
		data, err := os.ReadFile(corpusPath(name))
		if err != nil {
			t.Fatal(err)
		}
		data = append(slices.Clip(prefix), data...)
		z, err := NewZip(bytes.NewReader(data), int64(len(data)), name+".zip", DefaultLimits())
		if name == "overlapping-entries" {
			want := []string{`overlapping-entries.zip: entry "b2.txt": its data overlaps that of entry "a2.txt"`}
			if got := lines(err); !slices.Equal(got, want) {
				t.Errorf("got  %q\nwant %q", got, want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := z.Verify(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// BenchmarkOpenZipBaseline is the least any scan does per zip: open, stat,
// read the last 4 KiB, close. Compare BenchmarkOpenZip with it.
func BenchmarkOpenZipBaseline(b *testing.B) {
	path := benchZip(b)
	buf := make([]byte, 4096)
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		fi, err := f.Stat()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.ReadAt(buf, fi.Size()-int64(len(buf))); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
