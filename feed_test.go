package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFeedEndToEnd publishes the examples as a feed with the built binary,
// serves it over HTTP, fetches it into a root and installs it; then
// publishes a newer blog, which a start with --fetch-updates brings and
// installs.
func TestFeedEndToEnd(t *testing.T) {
	work := t.TempDir()
	zips := filepath.Join(work, "zips")
	feedDir := filepath.Join(work, "feed")
	root := filepath.Join(work, "root")
	os.MkdirAll(zips, 0o755)
	initRoot(t, root)
	run(t, work, "keys", "generate", "--unencrypted", "--name", "publisher").want(t, 0, nil, nil)
	key := filepath.Join(work, "publisher.key")
	packExample(t, "core", filepath.Join(zips, "core-2.1.0.zip"), "--sign", key)
	packExample(t, "blog", filepath.Join(zips, "blog-1.4.0.zip"))

	run(t, work, "feed", "build", zips, "-o", feedDir, "--sign", key, "--expires", "2d", "--app", "demo").want(t, 0,
		[]string{"wrote " + feedDir + "/index.json: app demo, serial 1, 2 updates", "blog 1.4.0  blog-1.4.0.zip"}, nil)
	for _, f := range []string{"index.json.minisig", "blog-1.4.0.zip.minisig", "core-2.1.0.zip.minisig"} {
		if _, err := os.Stat(filepath.Join(feedDir, f)); err != nil {
			t.Fatalf("feed build did not write %s: %v", f, err)
		}
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(feedDir)))
	defer srv.Close()

	// A root that trusts no key refuses the feed, and says how to fix it.
	run(t, root, "feed", "fetch", "--feed", srv.URL+"/").want(t, 1, nil,
		[]string{"this root trusts no key", "upkeep: hint: trust the feed's public key: upkeep keys trust FILE.pub"})
	run(t, root, "keys", "trust", filepath.Join(work, "publisher.pub")).want(t, 0, nil, nil)
	// Nothing installed and no --pack: nothing to fetch.
	run(t, root, "feed", "fetch", "--feed", srv.URL+"/").want(t, 0, []string{"serial 1", "nothing new for this root"}, nil)
	run(t, root, "feed", "fetch", "--feed", srv.URL+"/", "--pack", "core", "--pack", "blog").want(t, 0,
		[]string{"fetched blog-1.4.0.zip: blog 1.4.0", "fetched core-2.1.0.zip: core 2.1.0"}, nil)
	for _, f := range []string{"blog-1.4.0.zip", "blog-1.4.0.zip.minisig", "core-2.1.0.zip", "core-2.1.0.zip.minisig"} {
		sameFile(t, filepath.Join(root, "Updates_Pending", f), filepath.Join(feedDir, f))
	}
	run(t, root, "--check-updates").want(t, 3, nil, nil)
	run(t, root, "--install-updates", "--migrate-db").want(t, 0, nil, nil)
	if data, err := os.ReadFile(filepath.Join(root, "packs", "blog", "manifest.json")); err != nil || !strings.Contains(string(data), `"version": "1.4.0"`) {
		t.Fatalf("blog not installed: %v %s", err, data)
	}

	// Publish blog 1.5.0: the serial goes up.
	src := filepath.Join(work, "blog-src")
	copyTree(t, filepath.Join("examples", "blog"), src)
	m, _ := os.ReadFile(filepath.Join(src, "manifest.json"))
	os.WriteFile(filepath.Join(src, "manifest.json"), []byte(strings.Replace(string(m), `"1.4.0"`, `"1.5.0"`, 1)), 0o644)
	r := run(t, ".", "pack", src, "-o", filepath.Join(zips, "blog-1.5.0.zip"))
	r.want(t, 0, nil, nil)
	index1, _ := os.ReadFile(filepath.Join(feedDir, "index.json"))
	sig1, _ := os.ReadFile(filepath.Join(feedDir, "index.json.minisig"))
	run(t, work, "feed", "build", zips, "-o", feedDir, "--sign", key).want(t, 0, []string{"app demo, serial 2, 3 updates"}, nil)

	// A start with --fetch-updates and UPKEEP_FEED fetches it and installs it.
	os.Setenv("UPKEEP_FEED", srv.URL+"/index.json")
	defer os.Unsetenv("UPKEEP_FEED")
	run(t, root, "--fetch-updates", "--install-updates", "--migrate-db").want(t, 0, nil, []string{"fetched blog-1.5.0.zip: blog 1.5.0"})
	if data, _ := os.ReadFile(filepath.Join(root, "packs", "blog", "manifest.json")); !strings.Contains(string(data), `"version": "1.5.0"`) {
		t.Fatalf("blog 1.5.0 not installed: %s", data)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "Updates_Pending")); len(entries) != 1 || entries[0].Name() != ".incoming" {
		t.Fatalf("Updates_Pending holds %v, want only the empty .incoming", entries)
	}
	state, err := os.ReadFile(filepath.Join(root, ".upkeep", "feed.json"))
	if err != nil || !strings.Contains(string(state), `"serial": 2`) || !strings.Contains(string(state), srv.URL+"/index.json") {
		t.Fatalf(".upkeep/feed.json: %v\n%s", err, state)
	}

	// The old index replayed is refused as a rollback; a start warns and
	// goes on.
	os.WriteFile(filepath.Join(feedDir, "index.json"), index1, 0o644)
	os.WriteFile(filepath.Join(feedDir, "index.json.minisig"), sig1, 0o644)
	run(t, root, "feed", "fetch").want(t, 1, nil, []string{"serial 1 is lower than serial 2 accepted at", "refused as a rollback"})
	run(t, root, "--fetch-updates").want(t, 0, nil, []string{"upkeep: warning: fetch: feed " + srv.URL + "/index.json: serial 1 is lower than serial 2"})
}

func sameFile(t *testing.T, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(x) != string(y) {
		t.Fatalf("%s and %s differ", a, b)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
