package feed

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-version"

	"github.com/upkeep/upkeep/internal/signing"
)

const goodIndex = `{"json_format": 1, "app": "myapp", "serial": 42, "issued_at": "2026-12-01T10:00:00Z",
 "expires": "2026-12-15T10:00:00Z",
 "updates": [{"pack": "blog", "version": "1.4.0", "url": "blog-1.4.0.zip", "size": 123456,
              "sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "upgrades_from": ">= 1.2", "requires": {"core": ">= 2.0"},
              "whats_new": "Tags.", "database": {"schema_version": 7, "changes": "Adds tags."}}]}`

func TestParseGood(t *testing.T) {
	ix, err := Parse("index.json", []byte(goodIndex))
	if err != nil {
		t.Fatal(err)
	}
	e := ix.Updates[0]
	if ix.Serial != 42 || ix.App != "myapp" || !ix.Expires.Equal(time.Date(2026, 12, 15, 10, 0, 0, 0, time.UTC)) ||
		e.FileName() != "blog-1.4.0.zip" || e.Requires["core"] != ">= 2.0" || e.Database.SchemaVersion != 7 {
		t.Fatalf("parsed %+v", ix)
	}
	// What Marshal writes, Parse reads back the same.
	again, err := Parse("index.json", ix.Marshal())
	if err != nil || string(again.Marshal()) != string(ix.Marshal()) {
		t.Fatalf("round trip: %v\n%s", err, again.Marshal())
	}
}

func TestParseBad(t *testing.T) {
	for _, tc := range []struct {
		name, from, to string
		want           []string
	}{
		{"not json", goodIndex, `{"json_format": 1,`, []string{"index.json: not valid JSON: unexpected end of data"}},
		{"trailing", goodIndex, goodIndex + " {}", []string{"index.json: unexpected data after the JSON object"}},
		{"unknown field", `"app": "myapp"`, `"app": "myapp", "signature": "x"`, []string{`index.json: unknown field "signature"`}},
		{"repeated key", `"serial": 42`, `"serial": 42, "serial": 43`, []string{`index.json: key "serial" appears twice`}},
		{"format", `"json_format": 1`, `"json_format": 2`, []string{"index.json: json_format: 2: not supported (this upkeep reads format 1)"}},
		{"serial float and bad time", `"serial": 42, "issued_at": "2026-12-01T10:00:00Z"`, `"serial": 4.5, "issued_at": "yesterday"`, []string{
			"index.json: serial: got number 4.5, want an integer",
			`index.json: issued_at: "yesterday": not a time like "2026-12-01T10:00:00Z" (RFC 3339)`}},
		{"expires before issued", `"expires": "2026-12-15T10:00:00Z"`, `"expires": "2026-11-15T10:00:00Z"`, []string{"index.json: expires: 2026-11-15T10:00:00Z: not after issued_at 2026-12-01T10:00:00Z"}},
		{"one error per problem in an entry", `"pack": "blog", "version": "1.4.0", "url": "blog-1.4.0.zip", "size": 123456,
              "sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"`,
			`"pack": "Blog", "version": "one", "url": "../x/", "size": -1, "sha256": "ABC"`, []string{
				`index.json: updates[0].pack: "Blog": not a valid pack name`,
				`index.json: updates[0].version: "one": not a valid version`,
				`index.json: updates[0].url: "../x/": names no file`,
				`index.json: updates[0].size: -1: must be 1 or more`,
				`index.json: updates[0].sha256: "ABC": not a sha256`}},
		{"url scheme", `"url": "blog-1.4.0.zip"`, `"url": "file:///etc/blog.zip"`, []string{`index.json: updates[0].url: "file:///etc/blog.zip": scheme "file" not supported`}},
		{"not a zip", `"url": "blog-1.4.0.zip"`, `"url": "blog.tar"`, []string{`index.json: updates[0].url: "blog.tar": the file name "blog.tar" does not end in .zip`}},
		{"bad constraint", `"upgrades_from": ">= 1.2"`, `"upgrades_from": "about 1"`, []string{`index.json: updates[0].upgrades_from: "about 1": not a valid version constraint`}},
		{"requires itself", `{"core": ">= 2.0"}`, `{"blog": ">= 2.0", "core": 2}`, []string{
			`index.json: updates[0].requires["blog"]: a pack cannot require itself`,
			`index.json: updates[0].requires["core"]: got number 2, want a string`}},
		{"updates not a list", `"updates": [`, `"updates": 3, "x": [`, []string{`index.json: unknown field "x"`, "index.json: updates: got number 3, want an array"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := strings.Replace(goodIndex, tc.from, tc.to, 1)
			if tc.from == goodIndex {
				data = tc.to
			}
			_, err := Parse("index.json", []byte(data))
			if !errors.Is(err, ErrInvalidIndex) {
				t.Fatalf("err %v, want ErrInvalidIndex", err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(lines), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("problem %d:\n got %s\nwant %s...", i, lines[i], w)
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(goodIndex))
	f.Add([]byte(`{"updates": [{}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := Parse("index.json", data)
		if err == nil {
			if _, err := Parse("index.json", ix.Marshal()); err != nil {
				t.Fatalf("what Parse accepts, Marshal writes unreadably: %v", err)
			}
		}
	})
}

func TestSelect(t *testing.T) {
	ix := &Index{Updates: []Entry{
		{Pack: "core", Version: "2.0.0"},
		{Pack: "core", Version: "3.0.0", UpgradesFrom: ">= 2.5"},
		{Pack: "blog", Version: "1.0.0"},
		{Pack: "blog", Version: "1.5.0", Requires: map[string]string{"core": ">= 2.0"}},
		{Pack: "blog", Version: "2.0.0", Requires: map[string]string{"core": ">= 3.0"}},
		{Pack: "shop", Version: "1.0.0", Requires: map[string]string{"core": ">= 2.0"}},
		{Pack: "wiki", Version: "0.9.0"},
	}}
	v := func(s string) *version.Version { return version.Must(version.NewVersion(s)) }
	names := func(es []Entry) string {
		var s []string
		for _, e := range es {
			s = append(s, e.Pack+" "+e.Version)
		}
		return strings.Join(s, ", ")
	}
	// core 1.0 installed: 3.0 upgrades from 2.5 only, so 2.0; blog 2.0
	// needs core 3.0, which this fetch does not bring: 1.5.
	chosen, skipped, err := Select(ix, map[string]*version.Version{"core": v("1.0"), "blog": v("1.0.0"), "wiki": v("1.0")}, nil)
	if err != nil || names(chosen) != "blog 1.5.0, core 2.0.0" {
		t.Fatalf("chosen %s, %v", names(chosen), err)
	}
	if len(skipped) != 2 || !strings.Contains(skipped[0].Reason+skipped[1].Reason, "upgrades core from >= 2.5 only, and 1.0 is installed") ||
		!strings.Contains(skipped[0].Reason+skipped[1].Reason, "requires core >= 3.0, and core 2.0.0 would be there") {
		t.Fatalf("skipped %+v", skipped)
	}
	// core 2.6: 3.0 comes, and so blog 2.0 with it; shop only when named;
	// wiki 0.9 would be a downgrade.
	chosen, _, _ = Select(ix, map[string]*version.Version{"core": v("2.6"), "blog": v("1.0.0"), "wiki": v("1.0")}, []string{"shop"})
	if names(chosen) != "blog 2.0.0, core 3.0.0, shop 1.0.0" {
		t.Fatalf("chosen %s", names(chosen))
	}
	if _, _, err := Select(ix, nil, []string{"forum"}); err == nil || err.Error() != "the feed offers no pack forum" {
		t.Fatalf("err %v", err)
	}
}

// resign writes ix as the feed's index, signed with k.
func resign(t *testing.T, dir string, ix *Index, k keys) {
	t.Helper()
	path := filepath.Join(dir, IndexName)
	must(t, os.WriteFile(path, ix.Marshal(), 0o644))
	if _, err := signing.SignFile(k.sec, "", path); err != nil {
		t.Fatal(err)
	}
}

func readIndex(t *testing.T, dir string) *Index {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, IndexName))
	must(t, err)
	ix, err := Parse(IndexName, data)
	must(t, err)
	return ix
}

func TestFetchRefusesIndexes(t *testing.T) {
	refused := func(t *testing.T, fx *feedFixture, opts FetchOptions, want string) {
		t.Helper()
		_, err := Fetch(context.Background(), opts)
		var re *RefusedError
		if !errors.As(err, &re) || !errors.Is(err, ErrIndexRefused) || !strings.Contains(err.Error(), want) {
			t.Fatalf("err %v, want refused: %s", err, want)
		}
		wantNothing(t, fx)
		if n := len(fx.srv.requests(".zip")); n != 0 {
			t.Fatalf("%d zip requests after a refused index", n)
		}
	}
	t.Run("unsigned", func(t *testing.T) {
		fx := blogFixture(t)
		os.Remove(filepath.Join(fx.dir, "index.json.minisig"))
		refused(t, fx, fx.opts(t), "index.json: not signed, and 1 key is trusted")
	})
	t.Run("untrusted key", func(t *testing.T) {
		fx := blogFixture(t)
		resign(t, fx.dir, readIndex(t, fx.dir), newKeys(t, "mallory"))
		refused(t, fx, fx.opts(t), "which is not trusted")
	})
	t.Run("no trusted key", func(t *testing.T) {
		fx := blogFixture(t)
		opts := fx.opts(t)
		opts.Keys = nil
		_, err := Fetch(context.Background(), opts)
		var re *RefusedError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), "trusts no key") || re.Hint != "trust the feed's public key: upkeep keys trust FILE.pub" {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("altered after signing", func(t *testing.T) {
		fx := blogFixture(t)
		path := filepath.Join(fx.dir, IndexName)
		data, _ := os.ReadFile(path)
		must(t, os.WriteFile(path, []byte(strings.Replace(string(data), `"serial": 1`, `"serial": 9`, 1)), 0o644))
		refused(t, fx, fx.opts(t), "index.json: signature does not match")
	})
	t.Run("expired", func(t *testing.T) {
		fx := blogFixture(t)
		opts := fx.opts(t)
		opts.Now = func() time.Time { return time.Now().Add(15 * 24 * time.Hour) }
		refused(t, fx, opts, "expired at")
		opts.AllowExpired = true
		if _, err := Fetch(context.Background(), opts); err != nil {
			t.Fatalf("--allow-expired: %v", err)
		}
		wantFetched(t, fx, "blog-1.1.0.zip")
	})
	t.Run("replayed lower serial", func(t *testing.T) {
		fx := blogFixture(t)
		old := readIndex(t, fx.dir)
		newer := *old
		newer.Serial = 2
		resign(t, fx.dir, &newer, fx.key)
		opts := fx.opts(t)
		opts.Installed = nil // fetch nothing: only the index matters here
		if _, err := Fetch(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		resign(t, fx.dir, old, fx.key)
		refused(t, fx, opts, "serial 1 is lower than serial 2 accepted at")
	})
	t.Run("same serial other content", func(t *testing.T) {
		fx := blogFixture(t)
		opts := fx.opts(t)
		opts.Installed = nil
		if _, err := Fetch(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		// The same index again is fine.
		if _, err := Fetch(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		ix := readIndex(t, fx.dir)
		ix.Updates[0].WhatsNew = "Something else."
		resign(t, fx.dir, ix, fx.key)
		refused(t, fx, opts, "serial 1 was accepted before with other content")
	})
}

func TestFetchRefusesAZipWhoseManifestDisagrees(t *testing.T) {
	fx := newFixture(t, []zipSpec{{pack: "blog", version: "1.2.0", payload: 1000}}, zipSpec{pack: "blog", version: "1.0.0", payload: 10})
	ix := readIndex(t, fx.dir)
	ix.Updates[0].Version = "1.3.0" // the zip is 1.2.0, its size and sha256 right
	resign(t, fx.dir, ix, fx.key)
	_, err := Fetch(context.Background(), fx.opts(t))
	if !errors.Is(err, ErrDownload) || !strings.Contains(err.Error(), `its manifest disagrees with the index: version "1.2.0" (the index says "1.3.0")`) {
		t.Fatalf("err %v", err)
	}
	wantNothing(t, fx)
	if left, _ := os.ReadDir(fx.root.Incoming()); len(left) > 0 {
		t.Fatalf(".incoming holds %v", left)
	}
}

func TestFetchRefusesAnUnsignedZip(t *testing.T) {
	fx := blogFixture(t)
	os.Remove(filepath.Join(fx.dir, "blog-1.1.0.zip.minisig"))
	_, err := Fetch(context.Background(), fx.opts(t))
	if !errors.Is(err, ErrDownload) || !strings.Contains(err.Error(), "blog-1.1.0.zip: not signed, and 1 key is trusted; not downloaded") {
		t.Fatalf("err %v", err)
	}
	if n := len(fx.srv.requests(".zip")); n != 0 {
		t.Fatalf("the unsigned zip was downloaded (%d requests)", n)
	}
	wantNothing(t, fx)
}

func TestFetchNewPacksOnlyWhenNamed(t *testing.T) {
	fx := newFixture(t, []zipSpec{{pack: "blog", version: "1.1.0", payload: 100}, {pack: "shop", version: "1.0.0", payload: 100}},
		zipSpec{pack: "blog", version: "1.0.0", payload: 10})
	if _, err := Fetch(context.Background(), fx.opts(t)); err != nil {
		t.Fatal(err)
	}
	wantFetched(t, fx, "blog-1.1.0.zip")
	opts := fx.opts(t)
	opts.Packs = []string{"shop"}
	if _, err := Fetch(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	wantFetched(t, fx, "blog-1.1.0.zip", "shop-1.0.0.zip")
}

func TestBuild(t *testing.T) {
	k := newKeys(t, "publisher")
	zips := t.TempDir()
	makeZip(t, zips, zipSpec{pack: "blog", version: "1.10.0", payload: 100, requires: map[string]string{"core": ">= 2.0"}})
	makeZip(t, zips, zipSpec{pack: "blog", version: "1.9.0", payload: 100})
	makeZip(t, zips, zipSpec{pack: "core", version: "2.0.0", payload: 100, upgradesFrom: ">= 1.0"})
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	build := func(out string) *Index {
		ix, err := Build(BuildOptions{ZipDir: zips, OutDir: out, SignKey: k.sec, Now: at, Expiry: 48 * time.Hour, App: "myapp"})
		if err != nil {
			t.Fatal(err)
		}
		return ix
	}
	a, b := t.TempDir(), t.TempDir()
	ix := build(a)
	build(b)
	if ix.Serial != 1 || len(ix.Updates) != 3 || ix.Updates[0].Version != "1.9.0" || ix.Updates[1].Version != "1.10.0" ||
		ix.Updates[1].Requires["core"] != ">= 2.0" || ix.Updates[2].UpgradesFrom != ">= 1.0" || !ix.Expires.Equal(at.Add(48*time.Hour)) {
		t.Fatalf("index %+v", ix)
	}
	// Reproducible: the same zips at the same time give the same bytes.
	for _, name := range []string{"index.json", "index.json.minisig", "blog-1.9.0.zip", "blog-1.9.0.zip.minisig"} {
		sameBytes(t, filepath.Join(a, name), filepath.Join(b, name))
	}
	keys, _ := signing.LoadKeyring("", []string{k.pub})
	for _, name := range []string{"index.json", "blog-1.10.0.zip", "core-2.0.0.zip"} {
		if res := keys.Check(filepath.Join(a, name)); res.State != signing.Valid {
			t.Fatalf("%s: %+v", name, res)
		}
	}
	// Again into the same folder: the serial goes up.
	if ix := build(a); ix.Serial != 2 {
		t.Fatalf("serial %d, want 2", ix.Serial)
	}
	// Two zips of one version, and a broken zip: one error each.
	makeZip(t, zips, zipSpec{pack: "core", version: "2.0.0", payload: 7})
	os.Rename(filepath.Join(zips, "core-2.0.0.zip"), filepath.Join(zips, "z-core.zip"))
	makeZip(t, zips, zipSpec{pack: "core", version: "2.0.0", payload: 7})
	must(t, os.WriteFile(filepath.Join(zips, "broken.zip"), []byte("not a zip"), 0o644))
	_, err := Build(BuildOptions{ZipDir: zips, OutDir: a})
	if !errors.Is(err, ErrBuild) || !strings.Contains(err.Error(), "broken.zip: not a zip file") || !strings.Contains(err.Error(), "z-core.zip: core 2.0.0 again (also in core-2.0.0.zip); keep one") {
		t.Fatalf("err %v", err)
	}
	if ix := readIndex(t, a); ix.Serial != 2 {
		t.Fatalf("a failed build changed the index: serial %d", ix.Serial)
	}
}
