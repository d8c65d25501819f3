package backupstore

import (
	"bytes"
	"context"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zip"

	"github.com/upkeep/upkeep/layout"
)

// requireTool skips (or fails, with UPKEEP_TEST_REQUIRE=1) when a program
// a test needs is not installed.
func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("UPKEEP_TEST_REQUIRE") == "1" {
			t.Fatalf("%s is not installed and UPKEEP_TEST_REQUIRE=1", name)
		}
		t.Skipf("%s is not installed", name)
	}
}

// requireEnv returns a server DSN from the environment, or skips (fails
// with UPKEEP_TEST_REQUIRE=1).
func requireEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("UPKEEP_TEST_REQUIRE") == "1" {
			t.Fatalf("%s is not set and UPKEEP_TEST_REQUIRE=1", name)
		}
		t.Skipf("%s is not set", name)
	}
	return v
}

func newRoot(t *testing.T) layout.Root {
	t.Helper()
	r, err := layout.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Ensure(); err != nil {
		t.Fatal(err)
	}
	return r
}

func write(t *testing.T, root, rel string, data []byte, mode fs.FileMode) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func textBytes(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		b.WriteString("line ")
		b.WriteString(strings.Repeat("lorem ipsum ", i%7+1))
		b.WriteString("\n")
	}
	return b.Bytes()[:n]
}

// fillRoot lays down the test tree: text, random, empty, nested files,
// executable and private modes, an empty folder, symlinks (to a file, to a
// folder, dangling), and things that must not be backed up.
func fillRoot(t *testing.T, r layout.Root) {
	t.Helper()
	d := r.Dir
	write(t, d, "README.txt", []byte("hello\n"), 0o644)
	write(t, d, "empty", nil, 0o644)
	write(t, d, "bin/run.sh", []byte("#!/bin/sh\necho run\n"), 0o755)
	write(t, d, "secret.key", randomBytes(1, 100), 0o600)
	write(t, d, "packs/core/manifest.json", []byte(`{"pack":"core"}`), 0o644)
	write(t, d, "packs/core/deep/er/still/file.txt", textBytes(10000), 0o644)
	write(t, d, "packs/blog/random.bin", randomBytes(2, 300_000), 0o644)
	write(t, d, "data/uploads/a.txt", []byte("upload"), 0o644)
	write(t, d, "name with spaces & ünïcode.txt", []byte("x"), 0o644)
	if err := os.MkdirAll(filepath.Join(d, "empty-dir"), 0o750); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(d, "empty-dir"), 0o750)
	for link, target := range map[string]string{
		"current":         "packs/core",
		"bin/readme-link": "../README.txt",
		"dangling":        "does/not/exist",
	} {
		if err := os.Symlink(target, filepath.Join(d, link)); err != nil {
			t.Fatal(err)
		}
	}
	// Not backed up:
	write(t, d, layout.PendingDir+"/x.zip", []byte("pending"), 0o644)
	write(t, d, layout.InstalledDir+"/y.zip", []byte("installed"), 0o644)
	write(t, d, layout.StateDir+"/lock", []byte("lock"), 0o644)
	write(t, d, "logs/app.log", []byte("log"), 0o644)    // excluded by "*.log"
	write(t, d, "cache/tmp/junk", []byte("junk"), 0o644) // excluded by "cache/tmp"
}

// fillBig adds files larger than the pipeline's 4 MiB buffers: one that
// compresses (its buffer spills to a temp file) and one that does not (the
// writer streams it).
func fillBig(t *testing.T, r layout.Root) {
	write(t, r.Dir, "packs/blog/big-text.txt", textBytes(6<<20), 0o640)
	write(t, r.Dir, "packs/blog/big-random.bin", randomBytes(3, 5<<20), 0o644)
}

var testExclude = []string{"*.log", "cache/tmp"}

// node is one path of a tree as the tests compare it.
type node struct {
	Type    string
	Mode    fs.FileMode
	Content string // file content or symlink target
}

// readTree maps every path under dir (slash, relative) to its node,
// skipping top-level names in skip.
func readTree(t *testing.T, dir string, skip ...string) map[string]node {
	t.Helper()
	tree := map[string]node{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if slices.Contains(skip, rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n := node{Mode: info.Mode().Perm()}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			n.Type, n.Mode = TypeSymlink, 0
			n.Content, err = os.Readlink(p)
		case info.IsDir():
			n.Type = TypeDir
		default:
			n.Type = TypeFile
			var b []byte
			b, err = os.ReadFile(p)
			n.Content = string(b)
		}
		tree[rel] = n
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// diffTrees reports every difference between two trees.
func diffTrees(t *testing.T, got, want map[string]node) {
	t.Helper()
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			t.Errorf("%s: missing", p)
		case g.Type != w.Type:
			t.Errorf("%s: is a %s, want %s", p, g.Type, w.Type)
		case g.Mode != w.Mode:
			t.Errorf("%s: mode %04o, want %04o", p, g.Mode, w.Mode)
		case g.Content != w.Content:
			t.Errorf("%s: content differs (%d bytes, want %d)", p, len(g.Content), len(w.Content))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: present, should not be", p)
		}
	}
}

// unzipTo extracts a zip with the real unzip command.
func unzipTo(t *testing.T, zipPath, dir string) {
	t.Helper()
	requireTool(t, "unzip")
	out, err := exec.Command("unzip", "-q", zipPath, "-d", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("unzip %s: %v\n%s", zipPath, err, out)
	}
}

// fixedClock returns times one second apart from a fixed start.
func fixedClock() func() time.Time {
	t0 := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	return func() time.Time { t0 = t0.Add(time.Second); return t0 }
}

func create(t *testing.T, opts CreateOptions) *Backup {
	t.Helper()
	b, err := Create(context.Background(), opts)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return b
}

// backupFiles lists the names in Updates_Backups.
func backupFiles(t *testing.T, r layout.Root) []string {
	t.Helper()
	des, err := os.ReadDir(r.Backups())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range des {
		names = append(names, d.Name())
	}
	return names
}

func openZip(t *testing.T, path string) *zip.Reader {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { zr.Close() })
	return &zr.Reader
}
