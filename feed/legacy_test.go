package feed

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/upkeep/upkeep/internal/signing"
)

// minisignTool runs the minisign tool (scripts/test.sh installs it); the
// test skips without it, and fails then with UPKEEP_TEST_REQUIRE=1.
func minisignTool(t *testing.T, args ...string) {
	t.Helper()
	path, err := exec.LookPath("minisign")
	if err != nil {
		if os.Getenv("UPKEEP_TEST_REQUIRE") == "1" {
			t.Fatal("minisign is not on PATH and UPKEEP_TEST_REQUIRE=1 (apt-get install -y minisign)")
		}
		t.Skip("minisign is not on PATH (apt-get install -y minisign)")
	}
	if out, err := exec.Command(path, args...).CombinedOutput(); err != nil {
		t.Fatalf("minisign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// legacyFixture is blogFixture re-signed by a publisher who uses the
// minisign tool in legacy mode (minisign -S -l: Ed25519 over the file
// itself, not over its BLAKE2b-512): index.json and the zip get new
// signatures, and the root trusts only that publisher's key.
func legacyFixture(t *testing.T) (fx *feedFixture, sec string) {
	fx = blogFixture(t)
	dir := t.TempDir()
	pub, sec := filepath.Join(dir, "minisign.pub"), filepath.Join(dir, "minisign.key")
	minisignTool(t, "-G", "-W", "-p", pub, "-s", sec)
	for _, f := range []string{IndexName, "blog-1.1.0.zip"} {
		minisignTool(t, "-S", "-l", "-s", sec, "-m", filepath.Join(fx.dir, f))
		sig, err := os.ReadFile(filepath.Join(fx.dir, f+signing.SigExt))
		must(t, err)
		// The signature line starts with the algorithm: "Ed" is legacy.
		raw, err := base64.StdEncoding.DecodeString(strings.Split(string(sig), "\n")[1])
		if err != nil || string(raw[:2]) != "Ed" {
			t.Fatalf("minisign -l wrote %q, want a legacy (Ed) signature", sig)
		}
	}
	trusted, err := os.ReadDir(fx.root.Trusted())
	must(t, err)
	for _, e := range trusted {
		must(t, os.Remove(filepath.Join(fx.root.Trusted(), e.Name())))
	}
	_, err = signing.Trust(pub, fx.root.Trusted())
	must(t, err)
	return fx, sec
}

// A feed whose index and zip carry legacy signatures (minisign -l) is
// fetched: both are checked, the zip's as its bytes arrive, and the
// legacy .minisig lands beside the zip, where a scan checks it again.
func TestFetchLegacySignatures(t *testing.T) {
	fx, _ := legacyFixture(t)
	res, err := Fetch(context.Background(), fx.opts(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Fetched) != 1 || res.Fetched[0].File != "blog-1.1.0.zip" {
		t.Fatalf("fetched %+v, want blog-1.1.0.zip", res.Fetched)
	}
	wantFetched(t, fx, "blog-1.1.0.zip")
	k, err := signing.LoadKeyring(fx.root.Trusted(), nil)
	must(t, err)
	if r := k.Check(filepath.Join(fx.root.Pending(), "blog-1.1.0.zip")); r.State != signing.Valid {
		t.Fatalf("the fetched zip's signature: %+v, want valid", r)
	}
}

// Legacy signatures that do not match are refused as prehashed ones are:
// the zip's .minisig signs other bytes (nothing lands in Updates_Pending),
// or the index changed after it was signed (nothing is downloaded).
func TestFetchRefusesWrongLegacySignatures(t *testing.T) {
	t.Run("zip", func(t *testing.T) {
		fx, sec := legacyFixture(t)
		other := filepath.Join(t.TempDir(), "other")
		must(t, os.WriteFile(other, []byte("not the zip"), 0o644))
		minisignTool(t, "-S", "-l", "-s", sec, "-m", other)
		data, err := os.ReadFile(other + signing.SigExt)
		must(t, err)
		must(t, os.WriteFile(filepath.Join(fx.dir, "blog-1.1.0.zip"+signing.SigExt), data, 0o644))
		_, err = Fetch(context.Background(), fx.opts(t))
		if !errors.Is(err, ErrDownload) || !strings.Contains(err.Error(), "blog-1.1.0.zip: signature does not match") {
			t.Fatalf("err %v, want the zip refused for its signature", err)
		}
		wantNothing(t, fx)
	})
	t.Run("index", func(t *testing.T) {
		fx, _ := legacyFixture(t)
		path := filepath.Join(fx.dir, IndexName)
		data, err := os.ReadFile(path)
		must(t, err)
		must(t, os.WriteFile(path, []byte(strings.Replace(string(data), `"app": "myapp"`, `"app": "myapq"`, 1)), 0o644))
		_, err = Fetch(context.Background(), fx.opts(t))
		if !errors.Is(err, ErrIndexRefused) || !strings.Contains(err.Error(), "signature does not match") {
			t.Fatalf("err %v, want the index refused for its signature", err)
		}
		if n := len(fx.srv.requests(".zip")); n != 0 {
			t.Fatalf("%d requests for the zip after the index was refused", n)
		}
	})
}
