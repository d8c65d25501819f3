package manifest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// needZip returns the path of the zip command, skipping the test when it is
// missing, unless UPKEEP_TEST_REQUIRE is set.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("UPKEEP_TEST_REQUIRE") != "" {
			t.Fatalf("%s is needed (UPKEEP_TEST_REQUIRE is set): %v", name, err)
		}
		t.Skipf("%s not found: %v", name, err)
	}
	return path
}

// run runs a command in dir, failing the test on error.
func run(t *testing.T, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
}

// writeTree writes files (path: content) under dir.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestZipTool checks zips made by the real zip command-line tool.
func TestZipTool(t *testing.T) {
	zipCmd := needTool(t, "zip")
	a := ent{name: "a.txt", body: "hello\n"}
	d := ent{name: "docs/readme.md", body: "# Blog\n"}
	tests := []struct {
		name  string
		build func(t *testing.T, dir string) // makes dir/out.zip
		want  []string
		is    error
	}{
		{"good-recursive-with-folders", func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{FileName: listed(nil, a, d), "a.txt": a.body, "docs/readme.md": d.body})
			run(t, dir, zipCmd, "-q", "-r", "out.zip", FileName, "a.txt", "docs")
		}, nil, nil},
		{"unlisted", func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{FileName: listed(nil, a), "a.txt": a.body, "docs/readme.md": d.body})
			run(t, dir, zipCmd, "-q", "-r", "out.zip", FileName, "a.txt", "docs")
		}, []string{`entry "docs/readme.md": not listed in manifest.json files`}, ErrMismatch},
		{"symlink", func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{FileName: listed(nil, a), "a.txt": a.body})
			if err := os.Symlink("/etc/passwd", filepath.Join(dir, "passwd")); err != nil {
				t.Skip("cannot make a symlink:", err)
			}
			run(t, dir, zipCmd, "-q", "-y", "out.zip", FileName, "a.txt", "passwd")
		}, []string{`entry "passwd": is a symlink`}, ErrUnsafeEntry},
		{"encrypted", func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{FileName: listed(nil, a), "a.txt": a.body})
			run(t, dir, zipCmd, "-q", "out.zip", FileName)
			run(t, dir, zipCmd, "-q", "-P", "secret", "out.zip", "a.txt")
		}, []string{`entry "a.txt": is encrypted`}, ErrUnsafeEntry},
		{"bzip2", func(t *testing.T, dir string) {
			a := ent{name: "a.txt", body: strings.Repeat("hello\n", 1000)}
			writeTree(t, dir, map[string]string{FileName: listed(nil, a), "a.txt": a.body})
			run(t, dir, zipCmd, "-q", "out.zip", FileName)
			run(t, dir, zipCmd, "-q", "-Z", "bzip2", "out.zip", "a.txt")
		}, []string{`entry "a.txt": uses compression method 12 (bzip2); only store (0) and deflate (8) are supported`}, ErrUnsafeEntry},
		{"missing", func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{FileName: listed(nil, a, d), "a.txt": a.body})
			run(t, dir, zipCmd, "-q", "out.zip", FileName, "a.txt")
		}, []string{`entry "docs/readme.md": listed in manifest.json files but not in the zip`}, ErrMismatch},
		{"no-manifest", func(t *testing.T, dir string) {
			writeTree(t, dir, map[string]string{"a.txt": a.body})
			run(t, dir, zipCmd, "-q", "out.zip", "a.txt")
		}, []string{"no manifest.json in the zip"}, ErrNoManifest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.build(t, dir)
			path := filepath.Join(dir, "out.zip")
			z, err := OpenZip(path, DefaultLimits())
			var want []string
			for _, w := range tt.want {
				want = append(want, path+": "+w)
			}
			if got := lines(err); !slices.Equal(got, want) {
				t.Fatalf("problems:\n got %q\nwant %q", got, want)
			}
			if err != nil {
				if !errors.Is(err, tt.is) {
					t.Errorf("%v is not %v", err, tt.is)
				}
				return
			}
			defer z.Close()
			if err := z.Verify(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestZipToolTruncated checks that a zip cut short, as while it is being
// copied, is ErrNotZip.
func TestZipToolTruncated(t *testing.T) {
	zipCmd := needTool(t, "zip")
	dir := t.TempDir()
	a := ent{name: "a.txt", body: "hello\n"}
	writeTree(t, dir, map[string]string{FileName: listed(nil, a), "a.txt": a.body})
	run(t, dir, zipCmd, "-q", "out.zip", FileName, "a.txt")
	path := filepath.Join(dir, "out.zip")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 10, len(data) / 2, len(data) - 1} {
		if err := os.WriteFile(path, data[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenZip(path, DefaultLimits()); !errors.Is(err, ErrNotZip) {
			t.Errorf("first %d of %d bytes: %v, want ErrNotZip", n, len(data), err)
		}
	}
}
