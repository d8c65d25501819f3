package signing

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"aead.dev/minisign"
)

func TestSignAndCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pub, sec, id := newKey(t, dir, "release")
	zip := writeFile(t, dir, "blog-1.4.0.zip", strings.Repeat("zip bytes ", 100000))

	sigPath, err := SignFile(sec, "", zip)
	if err != nil {
		t.Fatal(err)
	}
	if sigPath != zip+".minisig" {
		t.Errorf("sigPath = %s, want %s.minisig", sigPath, zip)
	}
	sig, err := minisign.SignatureFromFile(sigPath)
	if err != nil {
		t.Fatal(err)
	}
	if sig.Algorithm != minisign.HashEdDSA {
		t.Errorf("signature algorithm %#x, want HashEdDSA (pre-hashed)", sig.Algorithm)
	}
	if st, _ := os.Stat(sigPath); st.Mode().Perm() != 0o644 {
		t.Errorf("signature mode %v, want 0644", st.Mode().Perm())
	}

	res := keyring(t, pub).Check(zip)
	want := Result{State: Valid, KeyID: id, TrustedComment: sig.TrustedComment}
	if res != want {
		t.Errorf("Check = %+v, want %+v", res, want)
	}
	if !strings.Contains(res.TrustedComment, "file:blog-1.4.0.zip") {
		t.Errorf("trusted comment %q does not name the file", res.TrustedComment)
	}
	if res.Err() != nil {
		t.Errorf("Err() = %v for a valid signature", res.Err())
	}

	// Signing again replaces the signature and leaves no temporary file.
	if _, err := SignFile(sec, "", zip); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("folder holds %v, want the key pair, the zip and its signature", names)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pub, sec, id := newKey(t, dir, "release")
	otherPub, otherSec, otherID := newKey(t, dir, "other")
	trusted := keyring(t, pub)
	none := keyring(t)
	both := keyring(t, pub, otherPub)

	signed := func(name, content, secPath string) string {
		t.Helper()
		p := writeFile(t, dir, name, content)
		if _, err := SignFile(secPath, "", p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := signed("good-1.0.0.zip", "good", sec)
	byOther := signed("blog-1.4.0.zip", "other", otherSec)
	tampered := signed("tampered.zip", "original", sec)
	writeFile(t, dir, "tampered.zip", "changed!")
	comment := signed("comment.zip", "comment", sec)
	text := readFile(t, comment+SigExt)
	writeFile(t, dir, "comment.zip.minisig", strings.Replace(text, "file:comment.zip", "file:evil.zip", 1))
	unsigned := writeFile(t, dir, "unsigned.zip", "no signature")
	malformed := writeFile(t, dir, "malformed.zip", "x")
	writeFile(t, dir, "malformed.zip.minisig", "this is not a signature\n")
	huge := writeFile(t, dir, "huge.zip", "x")
	writeFile(t, dir, "huge.zip.minisig", strings.Repeat("x", maxSigFileSize+1))
	missing := signed("missing.zip", "gone", sec)
	os.Remove(missing)
	legacy := writeFile(t, dir, "legacy.zip", "legacy signed")
	sk, _ := readSecretKey(sec, "")
	writeFile(t, dir, "legacy.zip.minisig", string(minisign.Sign(sk, []byte("legacy signed"))))
	legacyBad := writeFile(t, dir, "legacy-bad.zip", "legacy changed")
	writeFile(t, dir, "legacy-bad.zip.minisig", string(minisign.Sign(sk, []byte("legacy signed"))))

	tests := []struct {
		name    string
		k       *Keyring
		path    string
		state   State
		keyID   string
		refused bool
		problem string // "" means none
	}{
		{"valid", trusted, good, Valid, id, false, ""},
		{"valid among two", both, byOther, Valid, otherID, false, ""},
		{"untrusted key", trusted, byOther, Untrusted, otherID, true,
			"blog-1.4.0.zip.minisig: signed by key " + otherID + ", which is not trusted"},
		{"tampered", trusted, tampered, Invalid, id, true,
			"tampered.zip: signature does not match (file changed after signing?)"},
		{"trusted comment edited", trusted, comment, Invalid, id, true,
			"comment.zip.minisig: trusted comment does not match the signature (signature file altered?)"},
		{"unsigned, one key", trusted, unsigned, Unsigned, "", true,
			"unsigned.zip: not signed, and 1 key is trusted"},
		{"unsigned, two keys", both, unsigned, Unsigned, "", true,
			"unsigned.zip: not signed, and 2 keys are trusted"},
		{"unsigned, no key", none, unsigned, Unsigned, "", false, ""},
		{"unsigned, nil keyring", nil, unsigned, Unsigned, "", false, ""},
		{"signed, no key", none, good, Unverified, id, false, ""},
		{"tampered, no key", none, tampered, Unverified, id, false, ""},
		{"malformed", trusted, malformed, Invalid, "", true,
			"malformed.zip.minisig: malformed signature (minisign: invalid signature)"},
		{"malformed, no key", none, malformed, Invalid, "", false,
			"malformed.zip.minisig: malformed signature (minisign: invalid signature)"},
		{"huge signature file", trusted, huge, Invalid, "", true,
			"huge.zip.minisig: not a minisign signature (over 64 KiB)"},
		{"file gone", trusted, missing, Unreadable, id, true,
			"missing.zip: cannot read: no such file or directory"},
		{"legacy", trusted, legacy, Valid, id, false, ""},
		{"legacy tampered", trusted, legacyBad, Invalid, id, true,
			"legacy-bad.zip: signature does not match (file changed after signing?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.k.Check(tt.path)
			if res.State != tt.state || res.KeyID != tt.keyID || res.Refused != tt.refused || res.Problem != tt.problem {
				t.Errorf("Check(%s) =\n  %+v\nwant state %s, key %q, refused %v, problem %q",
					filepath.Base(tt.path), res, tt.state, tt.keyID, tt.refused, tt.problem)
			}
			if err := res.Err(); (err != nil) != tt.refused {
				t.Errorf("Err() = %v, refused %v", err, tt.refused)
			} else if err != nil && (!errors.Is(err, ErrRefused) || err.Error() != tt.problem) {
				t.Errorf("Err() = %q, want %q wrapping ErrRefused", err, tt.problem)
			}
			if res.State != Valid && res.TrustedComment != "" {
				t.Errorf("TrustedComment %q given for state %s", res.TrustedComment, res.State)
			}
		})
	}
}

func TestCheckLegacyTooLarge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pub, sec, id := newKey(t, dir, "k")
	sk, err := readSecretKey(sec, "")
	if err != nil {
		t.Fatal(err)
	}
	content := strings.Repeat("a", 2<<20+1)
	zip := writeFile(t, dir, "big.zip", content)
	writeFile(t, dir, "big.zip.minisig", string(minisign.Sign(sk, []byte(content))))
	k := keyring(t, pub)
	k.maxLegacy = 2 << 20
	res := k.Check(zip)
	want := Result{State: Invalid, KeyID: id, Refused: true,
		Problem: "big.zip.minisig: legacy signature (minisign -l) of a file over 2 MiB, too large to check; sign it again without -l"}
	if res != want {
		t.Errorf("Check = %+v\nwant %+v", res, want)
	}
	// Pre-hashed signatures of the same file have no limit.
	if _, err := SignFile(sec, "", zip); err != nil {
		t.Fatal(err)
	}
	if res := k.Check(zip); res.State != Valid {
		t.Errorf("pre-hashed: Check = %+v, want valid", res)
	}
}

func TestSignFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pub, sec, _ := newKey(t, dir, "k")
	zip := writeFile(t, dir, "a.zip", "a")
	for name, tc := range map[string]struct{ sec, path string }{
		"missing file":      {sec, filepath.Join(dir, "missing.zip")},
		"folder":            {sec, dir},
		"missing key":       {filepath.Join(dir, "nope.key"), zip},
		"public key as key": {pub, zip},
	} {
		if _, err := SignFile(tc.sec, "", tc.path); err == nil {
			t.Errorf("%s: SignFile succeeded", name)
		} else if !strings.Contains(err.Error(), tc.path) && !strings.Contains(err.Error(), tc.sec) {
			t.Errorf("%s: error %q names neither file", name, err)
		}
	}
	if _, err := os.Stat(zip + SigExt); err == nil {
		t.Error("a failed SignFile left a signature")
	}
}

// FuzzCheck feeds arbitrary signature files to Check: it must not panic,
// and nothing but a real signature is ever valid.
func FuzzCheck(f *testing.F) {
	dir := f.TempDir()
	pub, sec, _ := newKey(f, dir, "k")
	zip := filepath.Join(dir, "f.zip")
	os.WriteFile(zip, []byte("fuzz"), 0o644)
	if _, err := SignFile(sec, "", zip); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(zip + SigExt)
	k, err := LoadKeyring("", []string{pub})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(strings.Replace(string(good), "\n", "\r\n", -1)))
	f.Add([]byte(""))
	f.Add([]byte("untrusted comment: x\n\ntrusted comment: y\n\n"))
	f.Fuzz(func(t *testing.T, sig []byte) {
		d := t.TempDir()
		p := filepath.Join(d, "f.zip")
		os.WriteFile(p, []byte("fuzz"), 0o644)
		os.WriteFile(p+SigExt, sig, 0o644)
		res := k.Check(p)
		if res.State == Valid {
			var s minisign.Signature
			if err := s.UnmarshalText(sig); err != nil || !minisign.Verify(k.keys[s.KeyID].key, []byte("fuzz"), sig) {
				t.Fatalf("Check says valid for a signature that is not: %q", sig)
			}
		}
		if res.Refused != (res.State != Valid) {
			t.Fatalf("Refused %v for state %s", res.Refused, res.State)
		}
	})
}
