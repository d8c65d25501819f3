package manifest

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sourceTree writes a pack's source folder and returns its path.
func sourceTree(t *testing.T, manifest string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	writeTree(t, dir, map[string]string{
		FileName:                        manifest,
		"migrations/0001_init.up.sql":   "create table posts (id int);\n",
		"migrations/0001_init.down.sql": "drop table posts;\n",
		"migrations/0002_slug.up.sql":   "alter table posts add slug text;\n",
		"templates/post.html":           strings.Repeat("<p>{{.Body}}</p>\n", 500),
		"static/logo.bin":               randomBytes(20000, 3),
		"static/empty.css":              "",
		"bin/run":                       "#!/bin/sh\nexec blog\n",
		"ünï/名前.txt":                    "unicode names\n",
		".git/HEAD":                     "ref: refs/heads/main\n",
		"sub/.svn/entries":              "x",
		".DS_Store":                     "junk",
		"static/Thumbs.db":              "junk",
		"docs/manifest.json":            "a nested manifest.json is a plain file",
	})
	if err := os.Chmod(filepath.Join(dir, "bin/run"), 0o750); err != nil {
		t.Fatal(err)
	}
	return dir
}

const sourceManifest = `{"format": 1, "pack": "blog", "version": "1.4.0", "upgrades_from": ">= 1.2",
	"database": {"tables": ["posts"], "changes": "Adds posts.slug."}}`

func TestBuild(t *testing.T) {
	dir := sourceTree(t, sourceManifest)
	var first, second bytes.Buffer
	m, err := Build(dir, &first)
	if err != nil {
		t.Fatal(err)
	}
	// Same content elsewhere, with other times and permissions: same bytes.
	other := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(other, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	later := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	filepath.WalkDir(other, func(p string, d fs.DirEntry, err error) error {
		os.Chtimes(p, later, later)
		return nil
	})
	os.Chmod(filepath.Join(other, "bin/run"), 0o700)
	os.Chmod(filepath.Join(other, "static/logo.bin"), 0o600)
	if _, err := Build(other, &second); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatal("two builds of the same content differ")
	}

	if m.SchemaVersion() != 2 || m.Database.Changes != "Adds posts.slug." || m.UpgradesFrom != ">= 1.2" {
		t.Errorf("manifest %+v", m)
	}
	var paths []string
	for _, f := range m.Files {
		paths = append(paths, f.Path+" "+f.Mode)
	}
	want := []string{
		"bin/run 0755",
		"docs/manifest.json 0644",
		"migrations/0001_init.down.sql 0644",
		"migrations/0001_init.up.sql 0644",
		"migrations/0002_slug.up.sql 0644",
		"static/empty.css 0644",
		"static/logo.bin 0644",
		"templates/post.html 0644",
		"ünï/名前.txt 0644",
	}
	if !slices.Equal(paths, want) {
		t.Errorf("files:\n got %q\nwant %q", paths, want)
	}

	// The zip: manifest.json first, then the files in order, fixed times,
	// normalized modes, stored when deflate does not help.
	path := filepath.Join(t.TempDir(), "blog.zip")
	if err := os.WriteFile(path, first.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !f.Modified.Equal(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) && !f.Modified.Equal(time.Date(2000, 1, 1, 0, 0, 0, 0, time.Local)) {
			t.Errorf("%s: time %v", f.Name, f.Modified)
		}
		wantMode := fs.FileMode(0o644)
		if f.Name == "bin/run" {
			wantMode = 0o755
		}
		if f.Mode() != wantMode {
			t.Errorf("%s: mode %v, want %v", f.Name, f.Mode(), wantMode)
		}
		switch f.Name {
		case "static/logo.bin", "static/empty.css", FileName: // the manifest is stored: scans read it
			if f.Method != zip.Store {
				t.Errorf("%s: method %d, want store", f.Name, f.Method)
			}
		case "templates/post.html":
			if f.Method != zip.Deflate {
				t.Errorf("%s: method %d, want deflate", f.Name, f.Method)
			}
		}
	}
	if names[0] != FileName || !slices.Equal(names[1:], filePaths(m)) {
		t.Errorf("entries %q", names)
	}

	z, err := OpenZip(path, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if err := z.Verify(); err != nil {
		t.Fatal(err)
	}
	if z.Manifest.SchemaVersion() != 2 {
		t.Errorf("schema version %d", z.Manifest.SchemaVersion())
	}

	if unzip, err := exec.LookPath("unzip"); err == nil || os.Getenv("UPKEEP_TEST_REQUIRE") != "" {
		if err != nil {
			t.Fatal("unzip is needed (UPKEEP_TEST_REQUIRE is set)")
		}
		if out, err := exec.Command(unzip, "-t", path).CombinedOutput(); err != nil {
			t.Fatalf("unzip -t: %v\n%s", err, out)
		}
	}
}

// filePaths returns the paths of m.Files.
func filePaths(m *Manifest) []string {
	var out []string
	for _, f := range m.Files {
		out = append(out, f.Path)
	}
	return out
}

func TestBuildSchemaVersionGiven(t *testing.T) {
	dir := sourceTree(t, `{"format":1,"pack":"blog","version":"1.4.0","database":{"schema_version":2}}`)
	var buf bytes.Buffer
	m, err := Build(dir, &buf)
	if err != nil || m.SchemaVersion() != 2 {
		t.Fatalf("%v, %v", m, err)
	}
	// No database section: made from the migrations.
	dir = sourceTree(t, `{"format":1,"pack":"blog","version":"1.4.0"}`)
	m, err = Build(dir, &buf)
	if err != nil || m.SchemaVersion() != 2 || m.Database.Tables != nil {
		t.Fatalf("%v, %v", m, err)
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		want   []string // without the "DIR: " prefix
		is     error
	}{
		{"symlink", func(t *testing.T, dir string) {
			if err := os.Symlink("/etc/passwd", filepath.Join(dir, "static/passwd")); err != nil {
				t.Skip(err)
			}
		}, []string{`entry "static/passwd": is a symlink; upkeep pack packs only regular files`}, ErrBuild},
		{"schema-version-disagrees", func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{FileName: `{"format":1,"pack":"blog","version":"1.4.0","database":{"schema_version":5}}`})
		}, []string{`manifest.json: database.schema_version 5, but the highest migration is "migrations/0002_slug.up.sql" (version 2)`}, ErrBuild},
		{"schema-version-without-migrations", func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{FileName: `{"format":1,"pack":"blog","version":"1.4.0","database":{"schema_version":5}}`})
			os.RemoveAll(filepath.Join(dir, "migrations"))
		}, []string{`manifest.json: database.schema_version 5, but there are no migrations in migrations/`}, ErrBuild},
		{"files-in-source", func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{FileName: `{"format":1,"pack":"blog","version":"1.4.0","files":[]}`})
		}, []string{`manifest.json: files is computed by upkeep pack; remove it`}, ErrInvalidManifest},
		{"bad-source-manifest", func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{FileName: `{"format":1,"pack":"Blog","version":"1.4.0","author":"me"}`})
		}, []string{
			`manifest.json: unknown field "author"`,
			`manifest.json: pack "Blog": not a valid pack name (lowercase letters, digits, '-' and '_', starting with a letter, at most 64 characters)`,
		}, ErrInvalidManifest},
		{"bad-migrations", func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{"migrations/0004_x.up.sql": "", "migrations/4_y.up.sql": "", "migrations/notes.txt": ""})
		}, []string{
			`migrations "0004_x.up.sql" and "4_y.up.sql": both have version 4`,
		}, ErrMigration},
		{"case-duplicates", func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{"static/LOGO.bin": "x"})
			if _, err := os.Stat(filepath.Join(dir, "static/logo.bin")); err != nil {
				t.Fatal(err)
			}
			if data, _ := os.ReadFile(filepath.Join(dir, "static/logo.bin")); string(data) == "x" {
				t.Skip("case-insensitive file system")
			}
		}, []string{`entry "static/logo.bin": name differs only by case from "static/LOGO.bin"`}, ErrBuild},
		{"backslash", func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{`static/a\b`: "x"})
		}, []string{`entry "static/a\\b": unsafe name: contains a backslash`}, ErrBuild},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := sourceTree(t, sourceManifest)
			tt.change(t, dir)
			var buf bytes.Buffer
			m, err := Build(dir, &buf)
			var want []string
			for _, w := range tt.want {
				want = append(want, dir+": "+w)
			}
			if got := lines(err); !slices.Equal(got, want) {
				t.Fatalf("got  %q\nwant %q", got, want)
			}
			if m != nil || !errors.Is(err, tt.is) {
				t.Errorf("got %v, %v; want %v", m, err, tt.is)
			}
		})
	}
}

func TestBuildThroughSymlink(t *testing.T) {
	dir := sourceTree(t, sourceManifest)
	link := filepath.Join(t.TempDir(), "current")
	if err := os.Symlink(dir, link); err != nil {
		t.Skip(err)
	}
	var viaDir, viaLink bytes.Buffer
	if _, err := Build(dir, &viaDir); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(link, &viaLink); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(viaDir.Bytes(), viaLink.Bytes()) {
		t.Error("building through a symlink to the folder gives another zip")
	}
}

func TestBuildNoManifest(t *testing.T) {
	_, err := Build(t.TempDir(), &bytes.Buffer{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v", err)
	}
}

// TestBuildLarge checks a file whose compressed form does not fit in
// memory (it spills to a temporary file) and one that deflate cannot shrink.
func TestBuildLarge(t *testing.T) {
	defer func(n int) { spillLimit = n }(spillLimit)
	spillLimit = 256 << 10
	dir := filepath.Join(t.TempDir(), "src")
	// 16 random letters: deflate saves about half, which still
	// spills; 8-bit random bytes: deflate saves nothing, stored.
	sevenBits := []byte(randomBytes(3*spillLimit, 8))
	for i := range sevenBits {
		sevenBits[i] = 'a' + sevenBits[i]&0x0f
	}
	writeTree(t, dir, map[string]string{
		FileName:     `{"format":1,"pack":"big","version":"1.0.0"}`,
		"seven.bin":  string(sevenBits),
		"random.bin": randomBytes(spillLimit+1000, 9),
	})
	path := filepath.Join(t.TempDir(), "big.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(dir, f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	z, err := OpenZip(path, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if err := z.Verify(); err != nil {
		t.Fatal(err)
	}
	for _, f := range z.r.File {
		want := map[string]uint16{FileName: zip.Store, "seven.bin": zip.Deflate, "random.bin": zip.Store}[f.Name]
		if f.Method != want {
			t.Errorf("%s: method %d, want %d", f.Name, f.Method, want)
		}
	}
}
