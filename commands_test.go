package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requireTool skips the test when tool is missing, unless
// UPKEEP_TEST_REQUIRE=1, which makes that a failure.
func requireTool(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("UPKEEP_TEST_REQUIRE") == "1" {
			t.Fatalf("%s is not installed and UPKEEP_TEST_REQUIRE=1", tool)
		}
		t.Skipf("%s is not installed", tool)
	}
}

func TestPackIsDeterministicAndVerifies(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.zip"), filepath.Join(dir, "b.zip")
	packExample(t, "blog", a)
	packExample(t, "blog", b)
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if len(da) == 0 || !bytes.Equal(da, db) {
		t.Fatalf("two packs of the same folder differ (%d and %d bytes)", len(da), len(db))
	}
	r := run(t, ".", "updates", "verify", a)
	r.want(t, 0, []string{a + ": ok: blog 1.4.0, 5 files match their size and sha256; signature unsigned"}, nil)

	// The manifest inside lists every file and the schema version.
	zr, err := zip.OpenReader(a)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if zr.File[0].Name != "manifest.json" {
		t.Errorf("first entry %s, want manifest.json", zr.File[0].Name)
	}
	f, _ := zr.File[0].Open()
	var m struct {
		Database struct {
			SchemaVersion int `json:"schema_version"`
		}
		Files []struct{ Path string }
	}
	if err := json.NewDecoder(f).Decode(&m); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range m.Files {
		paths = append(paths, f.Path)
	}
	want := "migrations/0001_create_posts.down.sql migrations/0001_create_posts.up.sql migrations/0002_add_tags.down.sql migrations/0002_add_tags.up.sql templates/post.html"
	if strings.Join(paths, " ") != want || m.Database.SchemaVersion != 2 {
		t.Errorf("files %v, schema %d; want %s and 2", paths, m.Database.SchemaVersion, want)
	}
}

func TestPackRefusesBadSource(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "manifest.json"), []byte(`{"format": 1, "pack": "Blog", "version": "1.0.0"}`), 0o644)
	out := filepath.Join(t.TempDir(), "out.zip")
	r := run(t, ".", "pack", src, "-o", out)
	r.want(t, 1, nil, []string{`upkeep: error: `, `pack "Blog"`})
	if _, err := os.Stat(out); err == nil {
		t.Error("a zip was written for a bad source")
	}
}

func TestUpdatesListShowVerify(t *testing.T) {
	root := t.TempDir()
	pend := filepath.Join(root, "Updates_Pending")
	os.MkdirAll(pend, 0o755)
	packExample(t, "core", filepath.Join(pend, "core.zip"))
	packExample(t, "blog", filepath.Join(pend, "blog.zip"))

	r := run(t, root, "updates", "list")
	r.want(t, 0, []string{"FILE", "core.zip  ready   core  -          2.1.0", "blog.zip  ready   blog  -          1.4.0"}, nil)
	if strings.Index(r.stdout, "core.zip") > strings.Index(r.stdout, "blog.zip") {
		t.Errorf("core must be listed before blog, which requires it:\n%s", r.stdout)
	}

	r = run(t, ".", "updates", "show", "blog.zip", "--root", root)
	r.want(t, 0, []string{"2. blog.zip: ready", "Requires: core >= 2.0, < 3.0"}, nil)

	// Damage one byte of a payload file: the scan does not read payloads,
	// verify does, and names the entry.
	bad := filepath.Join(pend, "blog.zip")
	data, _ := os.ReadFile(bad)
	i := bytes.Index(data, []byte("<article>"))
	if i < 0 {
		// Deflated: damage the last byte of the first payload's data instead.
		i = bytes.Index(data, []byte("templates/post.html")) + len("templates/post.html") + 2
	}
	data[i] ^= 0xff
	os.WriteFile(bad, data, 0o644)
	r = run(t, root, "updates", "verify", "blog.zip")
	r.want(t, 1, nil, []string{"upkeep: error: updates: verification failed", "blog.zip", "templates/post.html"})

	r = run(t, root, "updates", "verify", "nothing.zip")
	r.want(t, 1, nil, []string{"upkeep: error: nothing.zip: updates: no such update zip"})
}

// A zip written by the zip tool, with its directory entries, is as good as
// one written by upkeep pack.
func TestZipToolZip(t *testing.T) {
	requireTool(t, "zip")
	requireTool(t, "unzip")
	work := t.TempDir()
	built := filepath.Join(work, "core.zip")
	packExample(t, "core", built)
	tree := filepath.Join(work, "tree")
	if out, err := exec.Command("unzip", "-q", built, "-d", tree).CombinedOutput(); err != nil {
		t.Fatalf("unzip: %v\n%s", err, out)
	}
	root := t.TempDir()
	rezipped := filepath.Join(root, "Updates_Pending", "core-by-zip.zip")
	os.MkdirAll(filepath.Dir(rezipped), 0o755)
	cmd := exec.Command("zip", "-q", "-r", rezipped, ".")
	cmd.Dir = tree
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zip: %v\n%s", err, out)
	}
	r := run(t, root, "updates", "verify", "core-by-zip.zip")
	r.want(t, 0, []string{"core-by-zip.zip: ok: core 2.1.0"}, nil)
	r = run(t, root)
	r.want(t, 3, []string{"1. core-by-zip.zip: ready"}, nil)

	// The zip tool storing a symlink (-y) makes the zip invalid.
	os.Symlink("/etc/passwd", filepath.Join(tree, "templates", "evil.html"))
	os.Remove(rezipped)
	cmd = exec.Command("zip", "-q", "-r", "-y", rezipped, ".")
	cmd.Dir = tree
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zip: %v\n%s", err, out)
	}
	r = run(t, root)
	r.want(t, 3, []string{"core-by-zip.zip: invalid", "templates/evil.html"}, nil)
}

func TestSignedUpdates(t *testing.T) {
	work := t.TempDir()
	// Encrypted by default: without a terminal and UPKEEP_KEY_PASSWORD it
	// writes nothing and says how to give a password or opt out.
	r := run(t, work, "keys", "generate", "--name", "release")
	r.want(t, 1, nil, []string{"secret key is encrypted and needs a password", "UPKEEP_KEY_PASSWORD", "--unencrypted"})
	if _, err := os.Stat(filepath.Join(work, "release.key")); err == nil {
		t.Fatal("keys generate without a password wrote a key")
	}
	r = runEnv(t, work, []string{"UPKEEP_KEY_PASSWORD=correct horse"}, "keys", "generate", "--name", "release")
	r.want(t, 0, []string{"wrote release.pub and release.key (key ", "; encrypted: "}, nil)
	if sec, _ := os.ReadFile(filepath.Join(work, "release.key")); !strings.HasPrefix(string(sec), "untrusted comment: minisign encrypted secret key\n") {
		t.Errorf("release.key: %q", sec)
	}
	r = run(t, work, "keys", "generate", "--unencrypted", "--name", "release")
	r.want(t, 1, nil, []string{"release"})
	run(t, work, "keys", "generate", "--unencrypted", "--name", "other").want(t, 0, []string{"; unencrypted)"}, nil)

	root := t.TempDir()
	pend := filepath.Join(root, "Updates_Pending")
	os.MkdirAll(pend, 0o755)
	// The encrypted key without its password, and a public key, say so.
	r = run(t, ".", "pack", filepath.Join("examples", "core"), "-o", filepath.Join(pend, "core.zip"), "--sign", filepath.Join(work, "release.key"))
	r.want(t, 1, nil, []string{"needs a password", "upkeep: hint: give the password in UPKEEP_KEY_PASSWORD, or run on a terminal to be asked for it"})
	r = run(t, ".", "pack", filepath.Join("examples", "core"), "-o", filepath.Join(pend, "core.zip"), "--sign", filepath.Join(work, "release.pub"))
	r.want(t, 1, nil, []string{"it is a public key; sign with its secret key"})
	if _, err := os.Stat(filepath.Join(pend, "core.zip")); err == nil {
		t.Fatal("a failed pack --sign left its zip")
	}
	runEnv(t, ".", []string{"UPKEEP_KEY_PASSWORD=correct horse"}, "pack", filepath.Join("examples", "core"), "-o", filepath.Join(pend, "core.zip"), "--sign", filepath.Join(work, "release.key")).want(t, 0, nil, nil)
	packExample(t, "blog", filepath.Join(pend, "blog.zip"))
	if _, err := os.Stat(filepath.Join(pend, "core.zip.minisig")); err != nil {
		t.Fatal("pack --sign wrote no signature")
	}

	// No key trusted: signatures are not required.
	r = run(t, root)
	r.want(t, 3, []string{"1. core.zip: ready", "Signature: unverified", "2. blog.zip: ready", "Signature: unsigned"}, nil)

	// Signed by a valid key that is not trusted: "untrusted key", refused.
	r = run(t, root, "keys", "trust", filepath.Join(work, "other.pub"))
	r.want(t, 0, []string{"trusted key "}, nil)
	r = run(t, root)
	r.want(t, 3, []string{"core.zip: refused", "Signature: untrusted key ", "which is not trusted"}, nil)
	if strings.Contains(r.stdout, "invalid") {
		t.Errorf("a zip signed by an untrusted key reads invalid:\n%s", r.stdout)
	}

	r = run(t, root, "keys", "trust", filepath.Join(work, "release.pub"))
	r.want(t, 0, []string{"trusted key "}, nil)
	r = run(t, root, "keys", "list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 2 {
		t.Fatalf("keys list: %q", r.stdout)
	}
	// Each line: ID, file, (comment).
	ids := map[string]string{}
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[1], filepath.Join(root, ".upkeep", "trusted")+"/") || !strings.HasSuffix(line, "(minisign public key "+f[0]+")") {
			t.Errorf("keys list line %q", line)
			continue
		}
		pub, _ := os.ReadFile(f[1])
		for _, name := range []string{"release", "other"} {
			if mine, _ := os.ReadFile(filepath.Join(work, name+".pub")); string(mine) == string(pub) {
				ids[name] = f[0]
			}
		}
	}
	id := ids["release"]
	if id == "" || ids["other"] == "" {
		t.Fatalf("keys list %q does not name both keys", r.stdout)
	}
	r = run(t, root, "keys", "untrust", ids["other"])
	r.want(t, 0, []string{"removed " + filepath.Join(root, ".upkeep", "trusted")}, nil)
	run(t, root, "keys", "untrust", ids["other"]).want(t, 1, nil, []string{"no trusted key has this ID", "'upkeep keys list' shows the trusted keys"})

	r = run(t, root)
	r.want(t, 3, []string{"1. core.zip: ready", "Signature: valid (key " + id + ")", "blog.zip: refused"}, nil)
	if strings.Contains(r.stdout, "2. blog.zip") {
		t.Error("an unsigned zip is ready although a key is trusted")
	}

	// A zip changed after signing is refused.
	f, _ := os.OpenFile(filepath.Join(pend, "core.zip"), os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte("x"))
	f.Close()
	r = run(t, root, "updates", "verify", "core.zip")
	r.want(t, 1, nil, []string{"core.zip"})

	// Untrusting the last key: unsigned zips are ready again.
	r = run(t, root, "keys", "untrust", id)
	r.want(t, 0, []string{"No key is trusted any more"}, nil)
}
