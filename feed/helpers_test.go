package feed

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-version"

	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/manifest"
)

// zipSpec is an update zip for the tests.
type zipSpec struct {
	pack, version string
	upgradesFrom  string
	requires      map[string]string
	payload       int // bytes of random payload
}

// makeZip builds the update zip of s into dir with manifest.Build and
// returns its path.
func makeZip(t testing.TB, dir string, s zipSpec) string {
	t.Helper()
	src := t.TempDir()
	m := map[string]any{"format": 1, "pack": s.pack, "version": s.version, "title": "The " + s.pack, "whats_new": "Things."}
	if s.upgradesFrom != "" {
		m["upgrades_from"] = s.upgradesFrom
	}
	if s.requires != nil {
		m["requires"] = s.requires
	}
	data, _ := json.Marshal(m)
	must(t, os.WriteFile(filepath.Join(src, "manifest.json"), data, 0o644))
	payload := make([]byte, s.payload)
	rand.Read(payload)
	must(t, os.WriteFile(filepath.Join(src, "payload.bin"), payload, 0o644))
	path := filepath.Join(dir, s.pack+"-"+s.version+".zip")
	f, err := os.Create(path)
	must(t, err)
	if _, err := manifest.Build(src, f); err != nil {
		t.Fatal(err)
	}
	must(t, f.Close())
	return path
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// keys is a key pair for the tests.
type keys struct{ pub, sec string }

func newKeys(t testing.TB, name string) keys {
	t.Helper()
	dir := t.TempDir()
	k := keys{filepath.Join(dir, name+".pub"), filepath.Join(dir, name+".key")}
	if _, err := signing.GenerateKey(k.pub, k.sec, ""); err != nil {
		t.Fatal(err)
	}
	return k
}

// newRoot makes a root that trusts the given keys and has the given
// packs installed (each as the manifest of a zip).
func newRoot(t testing.TB, trust []keys, installed ...string) layout.Root {
	t.Helper()
	root, err := layout.Open(t.TempDir())
	must(t, err)
	must(t, root.Ensure())
	for _, k := range trust {
		if _, err := signing.Trust(k.pub, root.Trusted()); err != nil {
			t.Fatal(err)
		}
	}
	for _, zipPath := range installed {
		zr, err := zip.OpenReader(zipPath)
		must(t, err)
		rc, err := zr.Open("manifest.json")
		must(t, err)
		data, _ := io.ReadAll(rc)
		rc.Close()
		zr.Close()
		m, err := manifest.Parse(data)
		must(t, err)
		must(t, os.MkdirAll(root.Pack(m.Pack), 0o755))
		must(t, os.WriteFile(filepath.Join(root.Pack(m.Pack), "manifest.json"), data, 0o644))
	}
	return root
}

// installedOf reads the versions of the packs installed in root.
func installedOf(t testing.TB, root layout.Root) map[string]*version.Version {
	t.Helper()
	out := map[string]*version.Version{}
	entries, _ := os.ReadDir(root.Packs())
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(root.Pack(e.Name()), "manifest.json"))
		must(t, err)
		m, err := manifest.Parse(data)
		must(t, err)
		out[m.Pack] = m.SemVersion()
	}
	return out
}

// server serves a feed folder with Go's file server, through a hook that
// may misbehave; it records every request.
type server struct {
	*httptest.Server
	dir  string
	mu   sync.Mutex
	reqs []*http.Request
	hook func(w http.ResponseWriter, r *http.Request, next http.Handler) bool // true: handled
}

func newServer(t testing.TB, dir string) *server {
	s := &server{dir: dir}
	files := http.FileServer(http.Dir(dir))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Clone(context.Background()))
		hook := s.hook
		s.mu.Unlock()
		if hook != nil && hook(w, r, files) {
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) setHook(h func(w http.ResponseWriter, r *http.Request, next http.Handler) bool) {
	s.mu.Lock()
	s.hook = h
	s.mu.Unlock()
}

// requests returns the requests for paths ending in suffix.
func (s *server) requests(suffix string) []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*http.Request
	for _, r := range s.reqs {
		if strings.HasSuffix(r.URL.Path, suffix) {
			out = append(out, r)
		}
	}
	return out
}

// dropAfter serves the file at r's path from the start but closes the
// connection after n bytes of body.
func dropAfter(t testing.TB, w http.ResponseWriter, path string, n int64) {
	data, err := os.ReadFile(path)
	must(t, err)
	info, err := os.Stat(path)
	must(t, err)
	w.Header().Set("Last-Modified", info.ModTime().UTC().Format(http.TimeFormat))
	w.Header().Set("Content-Length", itoa(int64(len(data))))
	w.Header().Set("Content-Type", "application/zip")
	w.WriteHeader(http.StatusOK)
	w.Write(data[:n])
	w.(http.Flusher).Flush()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// feedFixture is a built feed served over HTTP, and a root to fetch into.
type feedFixture struct {
	key  keys
	dir  string // the feed folder
	zips string // the source zips
	srv  *server
	root layout.Root
}

// newFixture builds a signed feed of the zips and serves it; the root
// trusts the key and has installed installed.
func newFixture(t testing.TB, specs []zipSpec, installed ...zipSpec) *feedFixture {
	t.Helper()
	fx := &feedFixture{key: newKeys(t, "publisher"), dir: t.TempDir(), zips: t.TempDir()}
	for _, s := range specs {
		makeZip(t, fx.zips, s)
	}
	if _, err := Build(BuildOptions{ZipDir: fx.zips, OutDir: fx.dir, SignKey: fx.key.sec, App: "myapp"}); err != nil {
		t.Fatal(err)
	}
	var inst []string
	instDir := t.TempDir()
	for _, s := range installed {
		inst = append(inst, makeZip(t, instDir, s))
	}
	fx.root = newRoot(t, []keys{fx.key}, inst...)
	fx.srv = newServer(t, fx.dir)
	return fx
}

// opts are fetch options into the fixture's root, with quick retries.
func (fx *feedFixture) opts(t testing.TB) FetchOptions {
	k, err := signing.LoadKeyring(fx.root.Trusted(), nil)
	must(t, err)
	return FetchOptions{Root: fx.root, URL: fx.srv.URL + "/", Keys: k, Installed: installedOf(t, fx.root),
		Client: Client{StallTimeout: 2 * time.Second, Retries: 3, Backoff: 5 * time.Millisecond}}
}

// pending lists what Updates_Pending holds, but .incoming.
func pending(t testing.TB, root layout.Root) []string {
	t.Helper()
	entries, err := os.ReadDir(root.Pending())
	must(t, err)
	var out []string
	for _, e := range entries {
		if e.Name() != layout.IncomingDir {
			out = append(out, e.Name())
		}
	}
	return out
}

// sameBytes fails unless the files at a and b are identical.
func sameBytes(t testing.TB, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	must(t, err)
	y, err := os.ReadFile(b)
	must(t, err)
	if !bytes.Equal(x, y) {
		t.Fatalf("%s (%d bytes) and %s (%d bytes) differ", a, len(x), b, len(y))
	}
}
