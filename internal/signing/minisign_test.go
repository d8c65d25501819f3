package signing

// Interoperability with the minisign tool (minisign 0.11, Debian package
// minisign). These tests skip when minisign is not on PATH, and fail then
// when UPKEEP_TEST_REQUIRE=1.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"aead.dev/minisign"
)

// needMinisign returns the path of the minisign tool, or skips the test.
func needMinisign(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("minisign")
	if err != nil {
		if os.Getenv("UPKEEP_TEST_REQUIRE") == "1" {
			t.Fatal("minisign is not on PATH and UPKEEP_TEST_REQUIRE=1 (install it: apt-get install -y minisign)")
		}
		t.Skip("minisign is not on PATH (apt-get install -y minisign)")
	}
	return path
}

// runMinisign runs the minisign tool with args, no input, and fails the
// test when it fails.
func runMinisign(t *testing.T, args ...string) string {
	t.Helper()
	out, err := minisignCmd(t, args...)
	if err != nil {
		t.Fatalf("minisign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func minisignCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return minisignInput(t, "", args...)
}

// minisignInput runs the minisign tool with args and input on stdin (where
// it reads passwords when stdin is not a terminal).
func minisignInput(t *testing.T, input string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, needMinisign(t), args...)
	cmd.Stdin = strings.NewReader(input) // not a terminal: minisign reads passwords here
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

// TestMinisignSignsWeVerify: keys from minisign -G, signatures from
// minisign -S (pre-hashed) and minisign -S -l (legacy), checked by Check.
func TestMinisignSignsWeVerify(t *testing.T) {
	needMinisign(t)
	t.Parallel()
	dir := t.TempDir()
	pub := filepath.Join(dir, "minisign.pub")
	sec := filepath.Join(dir, "minisign.key")
	runMinisign(t, "-G", "-W", "-p", pub, "-s", sec)

	// The key ID we show is the one minisign writes in the key's comment.
	pk, err := minisign.PublicKeyFromFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	id := FormatKeyID(pk.ID())
	if first, _, _ := strings.Cut(readFile(t, pub), "\n"); first != "untrusted comment: minisign public key "+id {
		t.Errorf("minisign's public key comment %q, our key ID %s", first, id)
	}
	k, err := LoadKeyring(filepath.Join(dir, "trusted"), []string{pub})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Trust(pub, filepath.Join(dir, "trusted")); err != nil || got != id {
		t.Errorf("Trust(minisign key) = %s, %v; want %s", got, err, id)
	}

	for _, tc := range []struct {
		name   string
		legacy bool
	}{{"prehashed", false}, {"legacy", true}} {
		t.Run(tc.name, func(t *testing.T) {
			zip := writeFile(t, dir, "blog-"+tc.name+".zip", strings.Repeat(tc.name, 50000))
			args := []string{"-S", "-s", sec, "-m", zip}
			if tc.legacy {
				args = []string{"-S", "-l", "-s", sec, "-m", zip}
			}
			runMinisign(t, args...)
			sig, err := minisign.SignatureFromFile(zip + SigExt)
			if err != nil {
				t.Fatal(err)
			}
			if wantAlg := map[bool]uint16{false: minisign.HashEdDSA, true: minisign.EdDSA}[tc.legacy]; sig.Algorithm != wantAlg {
				t.Fatalf("minisign made algorithm %#x, want %#x", sig.Algorithm, wantAlg)
			}
			res := k.Check(zip)
			if res.State != Valid || res.KeyID != id || res.Refused || res.Problem != "" {
				t.Errorf("Check = %+v, want valid by %s", res, id)
			}

			// Changed after signing: invalid.
			writeFile(t, dir, filepath.Base(zip), strings.Repeat(tc.name, 50000)+"!")
			res = k.Check(zip)
			if res.State != Invalid || !res.Refused || !strings.Contains(res.Problem, "signature does not match") {
				t.Errorf("tampered: Check = %+v, want invalid", res)
			}
		})
	}

	// Our SignFile reads minisign's unencrypted secret key, and minisign
	// verifies the result.
	t.Run("our signature with minisign's key", func(t *testing.T) {
		zip := writeFile(t, dir, "ours.zip", "ours")
		if _, err := SignFile(sec, "", zip); err != nil {
			t.Fatal(err)
		}
		runMinisign(t, "-V", "-H", "-p", pub, "-m", zip)
	})
}

// TestWeSignMinisignVerifies: keys from GenerateKey and signatures from
// SignFile, checked by minisign -V (with -H: they must be pre-hashed).
func TestWeSignMinisignVerifies(t *testing.T) {
	needMinisign(t)
	t.Parallel()
	dir := t.TempDir()
	pub, sec, id := newKey(t, dir, "upkeep")
	zip := writeFile(t, dir, "blog-1.4.0.zip", strings.Repeat("zip ", 300000))
	if _, err := SignFile(sec, "", zip); err != nil {
		t.Fatal(err)
	}
	out := runMinisign(t, "-V", "-H", "-p", pub, "-m", zip)
	if !strings.Contains(out, "file:blog-1.4.0.zip") {
		t.Errorf("minisign -V did not print our trusted comment:\n%s", out)
	}
	// minisign shows the same key ID when given our key as a string.
	pk, _ := minisign.PublicKeyFromFile(pub)
	runMinisign(t, "-V", "-P", pk.String(), "-m", zip)
	if FormatKeyID(pk.ID()) != id {
		t.Errorf("key ID %s, GenerateKey said %s", FormatKeyID(pk.ID()), id)
	}

	// minisign refuses what we would refuse.
	writeFile(t, dir, "blog-1.4.0.zip", "changed")
	if out, err := minisignCmd(t, "-V", "-p", pub, "-m", zip); err == nil {
		t.Errorf("minisign verified a changed file:\n%s", out)
	}

	// minisign signs with our unencrypted secret key, and we verify that.
	other := writeFile(t, dir, "other.zip", "other")
	runMinisign(t, "-S", "-s", sec, "-m", other)
	if res := keyring(t, pub).Check(other); res.State != Valid || res.KeyID != id {
		t.Errorf("Check(minisign signature with our key) = %+v, want valid by %s", res, id)
	}
}
