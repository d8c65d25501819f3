package manifest

// The zip corpus: testdata/zips/*.zip, made by the generators below
// (go test -run TestGenerateCorpus -update ./manifest rewrites them), each
// with the exact problems OpenZip must report. More zips are made at test
// time with the zip command-line tool (zip_tool_test.go).

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// ent is one entry of a generated zip.
type ent struct {
	name     string
	body     string
	mode     fs.FileMode // default 0644, or ModeDir|0755 for a name ending in "/"
	method   uint16      // default zip.Store
	flags    uint16
	unlisted bool  // left out of the automatic manifest
	listSize int64 // size listed in the automatic manifest when > 0
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// listed returns a valid manifest listing ents, with change applied to it.
func listed(change func(m *Manifest), ents ...ent) string {
	m := &Manifest{Format: 1, Pack: "blog", Version: "1.0.0", Files: []File{}}
	for _, e := range ents {
		if e.unlisted || strings.HasSuffix(e.name, "/") || e.name == FileName {
			continue
		}
		size := int64(len(e.body))
		if e.listSize > 0 {
			size = e.listSize
		}
		m.Files = append(m.Files, File{Path: e.name, Size: size, SHA256: sum(e.body), Mode: "0644"})
	}
	if change != nil {
		change(m)
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic(err)
	}
	return string(out)
}

// mkzip writes a zip of ents preceded, when manifest is not "", by a
// manifest.json entry holding it.
func mkzip(manifest string, ents ...ent) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if manifest != "" {
		ents = append([]ent{{name: FileName, body: manifest, method: zip.Deflate}}, ents...)
	}
	for _, e := range ents {
		fh := &zip.FileHeader{Name: e.name, Method: e.method, Flags: e.flags,
			CRC32: crc32.ChecksumIEEE([]byte(e.body)), UncompressedSize64: uint64(len(e.body))}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if strings.HasSuffix(e.name, "/") {
				mode = fs.ModeDir | 0o755
			}
		}
		fh.SetMode(mode)
		data := []byte(e.body)
		if e.method == zip.Deflate {
			var c bytes.Buffer
			fw, _ := flate.NewWriter(&c, flate.BestCompression)
			fw.Write(data)
			fw.Close()
			data = c.Bytes()
		}
		fh.CompressedSize64 = uint64(len(data))
		w, err := zw.CreateRaw(fh)
		if err != nil {
			panic(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// patchDir calls patch on the central directory record of the entry name,
// a slice from its signature to the end of its name.
func patchDir(z []byte, name string, patch func(rec []byte)) []byte {
	for i := 0; i+46 <= len(z); i++ {
		if string(z[i:i+4]) != "PK\x01\x02" {
			continue
		}
		n := int(binary.LittleEndian.Uint16(z[i+28:]))
		if i+46+n <= len(z) && string(z[i+46:i+46+n]) == name {
			patch(z[i : i+46+n])
			return z
		}
	}
	panic("no directory record for " + name)
}

// localOffset returns the offset of the local header of entry name.
func localOffset(z []byte, name string) uint32 {
	var off uint32
	patchDir(z, name, func(rec []byte) { off = binary.LittleEndian.Uint32(rec[42:]) })
	return off
}

type zipCase struct {
	name string
	gen  func() []byte
	lim  Limits   // zero: DefaultLimits
	want []string // the problems, without the "PATH: " prefix
	is   error    // a sentinel every problem must wrap (nil: not checked)
}

var (
	a    = ent{name: "a.txt", body: "hello\n"}
	b    = ent{name: "b/b.txt", body: strings.Repeat("bee ", 100), method: zip.Deflate}
	good = []ent{a, b}
)

func with(e ent, change func(e *ent)) ent { change(&e); return e }

var zipCases = []zipCase{
	{"not-a-zip", func() []byte { return []byte("this is plain text, not a zip\n") }, Limits{},
		[]string{"not a zip file, or not completely copied yet (no end of central directory)"}, ErrNotZip},
	{"empty-file", func() []byte { return nil }, Limits{},
		[]string{"not a zip file, or not completely copied yet (no end of central directory)"}, ErrNotZip},
	{"truncated", func() []byte { z := mkzip(listed(nil, good...), good...); return z[:len(z)*2/3] }, Limits{},
		[]string{"not a zip file, or not completely copied yet (no end of central directory)"}, ErrNotZip},
	{"damaged-directory", func() []byte {
		z := mkzip(listed(nil, good...), good...)
		return patchDir(z, "a.txt", func(rec []byte) { copy(rec, "XXXX") })
	}, Limits{}, []string{"cannot read the zip's central directory: zip: not a valid zip file"}, ErrInvalidZip},
	{"no-manifest", func() []byte { return mkzip("", good...) }, Limits{},
		[]string{"no manifest.json in the zip"}, ErrNoManifest},
	{"manifest-not-json", func() []byte { return mkzip("{\"format\": 1,\n  oops}", good...) }, Limits{},
		[]string{"manifest.json: not valid JSON: invalid character 'o' looking for beginning of object key string (line 2, column 3)"}, ErrInvalidManifest},
	{"manifest-invalid", func() []byte {
		return mkzip(listed(func(m *Manifest) { m.Pack = "Blog"; m.Version = "one" }, good...), good...)
	}, Limits{}, []string{
		`manifest.json: pack "Blog": not a valid pack name (lowercase letters, digits, '-' and '_', starting with a letter, at most 64 characters)`,
		`manifest.json: version "one": not a valid version (like "1.4.0")`,
	}, ErrInvalidManifest},
	{"manifest-without-files", func() []byte {
		return mkzip(`{"format":1,"pack":"blog","version":"1.0.0"}`, good...)
	}, Limits{}, []string{"manifest.json: files is missing (upkeep pack computes it)"}, ErrInvalidManifest},
	{"unlisted-entry", func() []byte {
		extra := ent{name: "extra.txt", body: "x", unlisted: true}
		return mkzip(listed(nil, a, b, extra), a, b, extra)
	}, Limits{}, []string{`entry "extra.txt": not listed in manifest.json files`}, ErrMismatch},
	{"listed-missing", func() []byte {
		gone := ent{name: "gone.txt", body: "x"}
		return mkzip(listed(nil, a, b, gone), a, b)
	}, Limits{}, []string{`entry "gone.txt": listed in manifest.json files but not in the zip`}, ErrMismatch},
	{"size-mismatch", func() []byte {
		big := with(a, func(e *ent) { e.listSize = 7 })
		return mkzip(listed(nil, big, b), a, b)
	}, Limits{}, []string{`entry "a.txt": size 6 in the zip, 7 in manifest.json files`}, ErrMismatch},
	{"absolute-name", func() []byte {
		e := ent{name: "/etc/cron.d/evil", body: "x", unlisted: true}
		return mkzip(listed(nil, good...), a, b, e)
	}, Limits{}, []string{`entry "/etc/cron.d/evil": unsafe name: absolute path`}, ErrUnsafeEntry},
	{"dotdot-name", func() []byte {
		e := ent{name: "b/../../evil", body: "x", unlisted: true}
		return mkzip(listed(nil, good...), a, b, e)
	}, Limits{}, []string{`entry "b/../../evil": unsafe name: has a ".." path component`}, ErrUnsafeEntry},
	{"backslash-name", func() []byte {
		e := ent{name: `..\evil.bat`, body: "x", unlisted: true}
		return mkzip(listed(nil, good...), a, b, e)
	}, Limits{}, []string{`entry "..\\evil.bat": unsafe name: contains a backslash`}, ErrUnsafeEntry},
	{"empty-name", func() []byte {
		e := ent{name: "", body: "x", unlisted: true}
		return mkzip(listed(nil, good...), a, b, e)
	}, Limits{}, []string{`entry "": unsafe name: empty name`}, ErrUnsafeEntry},
	{"dot-components", func() []byte {
		e1 := ent{name: "./a2.txt", body: "x", unlisted: true}
		e2 := ent{name: "b//c.txt", body: "x", unlisted: true}
		e3 := ent{name: "c:/windows/evil", body: "x", unlisted: true}
		return mkzip(listed(nil, good...), a, b, e1, e2, e3)
	}, Limits{}, []string{
		`entry "./a2.txt": unsafe name: has a "." path component`,
		`entry "b//c.txt": unsafe name: has an empty path component`,
		`entry "c:/windows/evil": unsafe name: starts with a drive letter`,
	}, ErrUnsafeEntry},
	{"duplicate-name", func() []byte { return mkzip(listed(nil, good...), a, b, a) }, Limits{},
		[]string{`entry "a.txt": duplicate entry name`}, ErrUnsafeEntry},
	{"case-duplicate", func() []byte {
		e := with(a, func(e *ent) { e.name = "A.TXT"; e.unlisted = true })
		return mkzip(listed(nil, good...), a, b, e)
	}, Limits{}, []string{`entry "A.TXT": name differs only by case from "a.txt"`}, ErrUnsafeEntry},
	{"symlink", func() []byte {
		e := ent{name: "b/link", body: "../../../etc/passwd", mode: fs.ModeSymlink | 0o777}
		return mkzip(listed(nil, a, b, e), a, b, e)
	}, Limits{}, []string{`entry "b/link": is a symlink`}, ErrUnsafeEntry},
	{"block-device", func() []byte {
		e := ent{name: "sda", mode: fs.ModeDevice | 0o660}
		return mkzip(listed(nil, a, b, e), a, b, e)
	}, Limits{}, []string{`entry "sda": is a device`}, ErrUnsafeEntry},
	{"char-device", func() []byte {
		e := ent{name: "tty", mode: fs.ModeDevice | fs.ModeCharDevice | 0o620}
		return mkzip(listed(nil, a, b, e), a, b, e)
	}, Limits{}, []string{`entry "tty": is a character device`}, ErrUnsafeEntry},
	{"named-pipe", func() []byte {
		e := ent{name: "fifo", mode: fs.ModeNamedPipe | 0o644}
		return mkzip(listed(nil, a, b, e), a, b, e)
	}, Limits{}, []string{`entry "fifo": is a named pipe`}, ErrUnsafeEntry},
	{"socket", func() []byte {
		e := ent{name: "sock", mode: fs.ModeSocket | 0o755}
		return mkzip(listed(nil, a, b, e), a, b, e)
	}, Limits{}, []string{`entry "sock": is a socket`}, ErrUnsafeEntry},
	{"folder-attributes-without-slash", func() []byte {
		e := ent{name: "b/sub", mode: fs.ModeDir | 0o755, unlisted: true}
		return mkzip(listed(nil, good...), a, b, e)
	}, Limits{}, []string{`entry "b/sub": is a folder in its attributes, but its name does not end in "/"`}, ErrUnsafeEntry},
	{"folder-with-data", func() []byte {
		// archive/zip refuses to write data to a folder: write "b_" and
		// rename it.
		e := ent{name: "b_", body: "surprise", unlisted: true}
		return bytes.ReplaceAll(mkzip(listed(nil, good...), a, e, b), []byte("b_"), []byte("b/"))
	}, Limits{}, []string{`entry "b/": is a folder but has data (8 bytes)`}, ErrUnsafeEntry},
	{"encrypted", func() []byte {
		e := with(a, func(e *ent) { e.flags = 1 })
		return mkzip(listed(nil, good...), e, b)
	}, Limits{}, []string{`entry "a.txt": is encrypted`}, ErrUnsafeEntry},
	{"encrypted-manifest", func() []byte {
		z := mkzip(listed(nil, good...), good...)
		return patchDir(z, FileName, func(rec []byte) { rec[8] |= 1 })
	}, Limits{}, []string{`manifest.json: is encrypted`}, ErrUnsafeEntry},
	{"method-lzma", func() []byte {
		e := with(a, func(e *ent) { e.method = 14 })
		return mkzip(listed(nil, good...), e, b)
	}, Limits{}, []string{`entry "a.txt": uses compression method 14 (lzma); only store (0) and deflate (8) are supported`}, ErrUnsafeEntry},
	{"stored-sizes-differ", func() []byte {
		z := mkzip(listed(nil, good...), good...)
		return patchDir(z, "a.txt", func(rec []byte) { binary.LittleEndian.PutUint32(rec[24:], 600) })
	}, Limits{}, []string{
		`entry "a.txt": is stored uncompressed but its sizes differ (6 bytes stored, 600 bytes uncompressed)`,
	}, nil},
	{"data-past-end", func() []byte {
		z := mkzip(listed(nil, good...), good...)
		return patchDir(z, "b/b.txt", func(rec []byte) { binary.LittleEndian.PutUint32(rec[20:], 1<<20) })
	}, Limits{}, []string{`entry "b/b.txt": its data runs past the end of the zip (1048576 bytes, local header at offset 305, zip is 541 bytes)`}, ErrInvalidZip},
	{"overlapping-entries", func() []byte {
		// Entry b2's directory record points at a2's local header: the two
		// share their data, the trick of the non-recursive zip bomb.
		a2 := ent{name: "a2.txt", body: "hello\n"}
		b2 := ent{name: "b2.txt", body: "hello\n"}
		z := mkzip(listed(nil, a, a2, b2), a, a2, b2)
		off := localOffset(z, "a2.txt")
		return patchDir(z, "b2.txt", func(rec []byte) { binary.LittleEndian.PutUint32(rec[42:], off) })
	}, Limits{}, []string{`entry "b2.txt": its data overlaps that of entry "a2.txt"`}, ErrUnsafeEntry},
	{"too-many-entries", func() []byte {
		es := []ent{a, b, {name: "c", body: "c"}, {name: "d", body: "d"}}
		return mkzip(listed(nil, es...), es...)
	}, Limits{MaxEntries: 4}, []string{"5 entries, more than the limit of 4"}, ErrLimit},
	{"manifest-too-large", func() []byte {
		return mkzip(listed(func(m *Manifest) { m.WhatsNew = strings.Repeat("news ", 100) }, good...), good...)
	}, Limits{MaxManifestSize: 512}, []string{"manifest.json: 913 bytes, more than the limit of 512"}, ErrLimit},
	{"total-too-large", func() []byte { return mkzip(listed(nil, good...), good...) }, Limits{MaxTotalSize: 600},
		[]string{"800 bytes uncompressed in all, more than the limit of 600"}, ErrLimit},
	{"ratio-bomb", func() []byte {
		e := ent{name: "zeros.bin", body: strings.Repeat("\x00", 2<<20), method: zip.Deflate}
		return mkzip(listed(nil, a, e), a, e)
	}, Limits{}, []string{`entry "zeros.bin": expands 1021 times (2097152 bytes from 2053), more than the limit of 100`}, ErrLimit},
	{"ratio-bomb-split", func() []byte {
		// Eight entries of 1 MiB of zeros each: none is over the threshold
		// of the entry check, the zip as a whole expands ~1000 times.
		es := []ent{a}
		for i := range 8 {
			es = append(es, ent{name: fmt.Sprintf("zeros%d.bin", i), body: strings.Repeat("\x00", 1<<20), method: zip.Deflate})
		}
		return mkzip(listed(nil, es...), es...)
	}, Limits{}, []string{"expands 880 times in all (8390198 bytes from a zip of 9534), more than the limit of 100"}, ErrLimit},
	{"nfc-nfd-clash", func() []byte {
		nfc := ent{name: "caf\u00e9.txt", body: "precomposed"}
		nfd := ent{name: "cafe\u0301.txt", body: "decomposed"}
		return mkzip(listed(nil, a, nfc, nfd), a, nfc, nfd)
	}, Limits{}, []string{"entry \"cafe\u0301.txt\": name is the same name, once case and Unicode normalization are ignored, as \"caf\u00e9.txt\"",
		"manifest.json: files[2].path \"cafe\u0301.txt\": is the same name, once case and Unicode normalization are ignored, as \"caf\u00e9.txt\""}, nil},
	{"final-sigma-clash", func() []byte {
		s1 := ent{name: "\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c3.txt", body: "sigma"}
		s2 := ent{name: "\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c2.txt", body: "final sigma"}
		return mkzip(listed(nil, a, s1, s2), a, s1, s2)
	}, Limits{}, []string{"entry \"\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c2.txt\": name is the same name, once case and Unicode normalization are ignored, as \"\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c3.txt\"",
		"manifest.json: files[2].path \"\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c2.txt\": is the same name, once case and Unicode normalization are ignored, as \"\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c3.txt\""}, nil},
	{"name-too-long", func() []byte {
		long := ent{name: "b/" + strings.Repeat("x", 256) + ".txt", body: "long"}
		return mkzip(listed(nil, a, long), a, long)
	}, Limits{}, []string{"entry \"b/" + strings.Repeat("x", 256) + ".txt\": unsafe name: has a path component of 260 bytes, more than the 255 a file system allows",
		"manifest.json: files[1].path \"b/" + strings.Repeat("x", 98) + "\"...: unsafe path: has a path component of 260 bytes, more than the 255 a file system allows"}, nil},
	{"file-and-folder", func() []byte {
		f := ent{name: "b", body: "b is a file"}
		return mkzip(listed(nil, a, b, f), a, b, f)
	}, Limits{}, []string{`manifest.json: files[1].path "b/b.txt": its folder "b" is listed as a file`}, ErrInvalidManifest},
	{"schema-version-mismatch", func() []byte {
		m1 := ent{name: "migrations/0001_init.up.sql", body: "create table posts (id int);"}
		m2 := ent{name: "migrations/0002_slug.up.sql", body: "alter table posts add slug text;"}
		return mkzip(listed(func(m *Manifest) { m.Database = &Database{SchemaVersion: 1} }, a, m1, m2), a, m1, m2)
	}, Limits{}, []string{`manifest.json: database.schema_version 1, but the highest migration is "migrations/0002_slug.up.sql"`}, ErrMismatch},
	{"bad-migrations", func() []byte {
		// A gap and a README are fine (golang-migrate allows them); two
		// migrations with one version are not.
		m1 := ent{name: "migrations/0001_init.up.sql", body: "create table posts (id int);"}
		m3 := ent{name: "migrations/0003_tags.up.sql", body: "create table tags (id int);"}
		g3 := ent{name: "migrations/3_tags.sql", body: "-- +goose Up\ncreate table tags (id int);"}
		r := ent{name: "migrations/README", body: "read me"}
		return mkzip(listed(func(m *Manifest) { m.Database = &Database{SchemaVersion: 3} }, m1, m3, g3, r), m1, m3, g3, r)
	}, Limits{}, []string{
		`migrations "0003_tags.up.sql" and "3_tags.sql": both have version 3`,
	}, ErrMigration},
	{"many-problems", func() []byte {
		es := []ent{
			{name: "/abs", body: "x", unlisted: true},
			{name: "link", body: "x", mode: fs.ModeSymlink | 0o777, unlisted: true},
			with(a, func(e *ent) { e.flags = 1 }),
			{name: "extra", body: "x", unlisted: true},
		}
		gone := ent{name: "gone", body: "x"}
		return mkzip(listed(nil, append(es, gone)...), es...)
	}, Limits{}, []string{
		`entry "/abs": unsafe name: absolute path`,
		`entry "link": is a symlink`,
		`entry "a.txt": is encrypted`,
		`entry "extra": not listed in manifest.json files`,
		`entry "gone": listed in manifest.json files but not in the zip`,
	}, nil},
}

// goodZips must open and verify without a problem.
var goodZips = []struct {
	name string
	gen  func() []byte
}{
	{"good", func() []byte { return mkzip(listed(nil, good...), good...) }},
	{"good-folders", func() []byte {
		es := []ent{{name: "b/"}, {name: "b/c/"}, a, b, {name: "b/c/d.txt", body: "d", method: zip.Deflate}, {name: "empty/"}}
		return mkzip(listed(nil, es...), es...)
	}},
	{"good-empty-files", func() []byte {
		es := []ent{{name: "empty"}, {name: "empty-deflated", method: zip.Deflate}, {name: "ünïcödé/ファイル.txt", body: "utf-8"}}
		return mkzip(listed(nil, es...), es...)
	}},
	{"good-migrations", func() []byte {
		es := []ent{
			{name: "migrations/0001_init.up.sql", body: "create table posts (id int);"},
			{name: "migrations/0001_init.down.sql", body: "drop table posts;"},
			{name: "migrations/0002_slug.up.sql", body: "alter table posts add slug text;"},
			{name: "templates/migrations/x.sql", body: "not a migration"},
		}
		return mkzip(listed(func(m *Manifest) { m.Database = &Database{SchemaVersion: 2, Tables: []string{"posts"}} }, es...), es...)
	}},
	{"good-big", func() []byte {
		var text strings.Builder
		for i := range 200000 {
			fmt.Fprintf(&text, "%d\n", i*i)
		}
		e := ent{name: "big.txt", body: text.String(), method: zip.Deflate}
		return mkzip(listed(nil, a, e), a, e)
	}},
}

func corpusPath(name string) string { return filepath.Join("testdata", "zips", name+".zip") }

// TestGenerateCorpus rewrites testdata/zips with -update; without, it
// checks every case has its file.
func TestGenerateCorpus(t *testing.T) {
	type gen struct {
		name string
		gen  func() []byte
	}
	var all []gen
	for _, c := range zipCases {
		all = append(all, gen{c.name, c.gen})
	}
	for _, c := range goodZips {
		all = append(all, gen{c.name, c.gen})
	}
	if *update {
		if err := os.MkdirAll(filepath.Join("testdata", "zips"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range all {
		data := g.gen()
		if *update {
			if err := os.WriteFile(corpusPath(g.name), data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := os.Stat(corpusPath(g.name)); err != nil {
			t.Errorf("%v: run go test -run TestGenerateCorpus -update", err)
		}
	}
}

func TestOpenZipBad(t *testing.T) {
	if len(zipCases) < 25 {
		t.Fatalf("only %d bad zips", len(zipCases))
	}
	for _, c := range zipCases {
		t.Run(c.name, func(t *testing.T) {
			path := corpusPath(c.name)
			z, err := OpenZip(path, c.lim)
			if err == nil {
				z.Close()
				t.Fatal("no error")
			}
			if z != nil {
				t.Error("a *Zip returned with an error")
			}
			var want []string
			for _, w := range c.want {
				want = append(want, path+": "+w)
			}
			if got := lines(err); !slices.Equal(got, want) {
				t.Fatalf("problems:\n got %q\nwant %q", got, want)
			}
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var p *Problem
				if !errors.As(e, &p) || p.Zip != path {
					t.Errorf("%v: not a *Problem naming the zip", e)
				}
				if c.is != nil && !errors.Is(e, c.is) {
					t.Errorf("%v: does not wrap %v", e, c.is)
				}
			}
			// The same bytes in memory give the same problems, named after
			// the name given.
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = NewZip(bytes.NewReader(data), int64(len(data)), "mem.zip", c.lim)
			for i, l := range lines(err) {
				if i < len(c.want) && l != "mem.zip: "+c.want[i] {
					t.Errorf("NewZip: %q, want %q", l, "mem.zip: "+c.want[i])
				}
			}
		})
	}
}

func TestOpenZipGood(t *testing.T) {
	for _, c := range goodZips {
		t.Run(c.name, func(t *testing.T) {
			z, err := OpenZip(corpusPath(c.name), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			defer z.Close()
			if z.Manifest == nil || z.Manifest.Pack != "blog" || z.Path != corpusPath(c.name) {
				t.Errorf("got %+v", z)
			}
			if err := z.Verify(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func FuzzZip(f *testing.F) {
	files, err := filepath.Glob("testdata/zips/*.zip")
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 64<<10 {
			continue // large inputs slow the fuzzer down to a crawl
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxTotalSize: 4 << 20}
		z, err := NewZip(bytes.NewReader(data), int64(len(data)), "fuzz.zip", lim)
		if err != nil {
			if z != nil {
				t.Fatal("a *Zip with an error")
			}
			for _, l := range lines(err) {
				if !strings.HasPrefix(l, "fuzz.zip: ") || strings.Contains(l, "\n") {
					t.Fatalf("bad problem line %q", l)
				}
			}
			return
		}
		if err := z.Verify(); err != nil {
			for _, l := range lines(err) {
				if !strings.HasPrefix(l, "fuzz.zip: ") || strings.Contains(l, "\n") {
					t.Fatalf("bad problem line %q", l)
				}
			}
		}
		z.Close()
	})
}
