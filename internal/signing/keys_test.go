package signing

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"aead.dev/minisign"
	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/scrypt"
)

var keyIDPattern = regexp.MustCompile(`^([1-9A-F][0-9A-F]{0,15}|0)$`)

func TestFormatKeyID(t *testing.T) {
	for id, want := range map[uint64]string{
		0:                  "0",
		0xabc:              "ABC",
		0x0243C464DA907826: "243C464DA907826",
		0x488890E2F4C33E14: "488890E2F4C33E14",
	} {
		if got := FormatKeyID(id); got != want {
			t.Errorf("FormatKeyID(%#x) = %q, want %q", id, got, want)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pub, sec, id := newKey(t, dir, "upkeep")
	if !keyIDPattern.MatchString(id) {
		t.Errorf("key ID %q is not 16 upper-case hex digits", id)
	}
	for path, mode := range map[string]os.FileMode{pub: 0o644, sec: 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), st.Mode().Perm(), mode)
		}
	}

	pubText := readFile(t, pub)
	if want := "untrusted comment: minisign public key " + id + "\n"; !strings.HasPrefix(pubText, want) {
		t.Errorf("public key file starts %q, want %q", pubText, want)
	}
	pk, err := minisign.PublicKeyFromFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	secText := readFile(t, sec)
	if minisign.IsEncrypted([]byte(secText)) {
		t.Error("secret key generated without password is encrypted")
	}
	sk, err := readSecretKey(sec, "")
	if err != nil {
		t.Fatal(err)
	}
	if !sk.Public().(minisign.PublicKey).Equal(pk) {
		t.Error("secret key does not match public key")
	}
	if FormatKeyID(pk.ID()) != id {
		t.Errorf("public key ID %X, GenerateKey said %s", pk.ID(), id)
	}
}

func TestGenerateKeyRefusesToOverwrite(t *testing.T) {
	t.Parallel()
	for _, existing := range []string{"k.pub", "k.key"} {
		t.Run(existing, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			old := writeFile(t, dir, existing, "precious\n")
			_, err := GenerateKey(filepath.Join(dir, "k.pub"), filepath.Join(dir, "k.key"), "")
			if !errors.Is(err, ErrKeyExists) {
				t.Fatalf("err = %v, want ErrKeyExists", err)
			}
			if !strings.Contains(err.Error(), old) {
				t.Errorf("error %q does not name %s", err, old)
			}
			if readFile(t, old) != "precious\n" {
				t.Error("existing file was changed")
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("GenerateKey left %d files, want only the existing one", len(entries))
			}
		})
	}
	t.Run("same path", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "k")
		if _, err := GenerateKey(p, p, ""); err == nil {
			t.Fatal("GenerateKey with the same path for both keys succeeded")
		}
	})
}

// TestEncryptedKey costs two scrypt runs at minisign's settings (1 GiB
// each; over 30 s each under -race), so -short skips it. The cheap
// TestWrongPassword covers the rest of encrypted keys.
func TestEncryptedKey(t *testing.T) {
	if testing.Short() {
		t.Skip("scrypt at minisign's settings is slow; skipped with -short")
	}
	if raceEnabled {
		// Under the race detector scrypt takes minutes and gigabytes, and
		// finds nothing: scripts/test.sh runs this test without it.
		t.Skip("scrypt at minisign's settings under -race; run without -race (scripts/test.sh does)")
	}
	dir := t.TempDir()
	pub := filepath.Join(dir, "enc.pub")
	sec := filepath.Join(dir, "enc.key")
	id, err := GenerateKey(pub, sec, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !minisign.IsEncrypted([]byte(readFile(t, sec))) {
		t.Fatal("secret key generated with a password is not encrypted")
	}
	zip := writeFile(t, dir, "blog-1.4.0.zip", "zip bytes")
	_, err = SignFile(sec, "", zip)
	if !errors.Is(err, ErrPasswordNeeded) || !strings.Contains(err.Error(), sec) {
		t.Errorf("sign without password: err = %v, want ErrPasswordNeeded naming %s", err, sec)
	}
	if _, err := SignFile(sec, "correct horse", zip); err != nil {
		t.Fatal(err)
	}
	if res := keyring(t, pub).Check(zip); res.State != Valid || res.KeyID != id {
		t.Errorf("Check = %+v, want valid by %s", res, id)
	}

	// minisign decrypts our encrypted secret key (password on stdin).
	t.Run("minisign", func(t *testing.T) {
		other := writeFile(t, dir, "other.zip", "other")
		out, err := minisignInput(t, "correct horse\n", "-S", "-s", sec, "-m", other)
		if err != nil {
			t.Fatalf("minisign -S with our encrypted key: %v\n%s", err, out)
		}
		if res := keyring(t, pub).Check(other); res.State != Valid || res.KeyID != id {
			t.Errorf("Check = %+v, want valid by %s", res, id)
		}
	})
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pub, sec := cheapEncryptedKey(t, dir, "pw")
	zip := writeFile(t, dir, "a.zip", "a")

	_, err := SignFile(sec, "", zip)
	if !errors.Is(err, ErrPasswordNeeded) || !strings.Contains(err.Error(), sec) {
		t.Errorf("no password: err = %v, want ErrPasswordNeeded naming %s", err, sec)
	}
	_, err = SignFile(sec, "wrong", zip)
	if !errors.Is(err, ErrWrongPassword) || !strings.Contains(err.Error(), sec) {
		t.Errorf("wrong password: err = %v, want ErrWrongPassword naming %s", err, sec)
	}
	if _, err := os.Stat(zip + SigExt); err == nil {
		t.Error("a signature was written without the right password")
	}
	if _, err := SignFile(sec, "pw", zip); err != nil {
		t.Fatal(err)
	}
	if res := keyring(t, pub).Check(zip); res.State != Valid {
		t.Errorf("Check = %+v, want valid", res)
	}
}

// cheapEncryptedKey writes a key pair whose secret key is encrypted the
// minisign way, but with scrypt parameters low enough for tests
// (opslimit 2^15, memlimit 16 MiB: N=1024, r=8, p=1).
func cheapEncryptedKey(t *testing.T, dir, password string) (pubPath, secPath string) {
	t.Helper()
	pub, sec, err := minisign.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := sec.MarshalText()
	_, b64, _ := strings.Cut(string(text), "\n")
	raw, _ := base64.StdEncoding.DecodeString(b64) // unencrypted: salt, limits and checksum are zero
	const ops, mem = 1 << 15, 16 << 20
	binary.LittleEndian.PutUint16(raw[2:], 0x6353) // "Sc": scrypt
	rand.Read(raw[6:38])
	binary.LittleEndian.PutUint64(raw[38:], ops)
	binary.LittleEndian.PutUint64(raw[46:], mem)
	msg := append([]byte{0x45, 0x64}, raw[54:126]...) // "Ed" || key ID || secret key
	sum := blake2b.Sum256(msg)
	copy(raw[126:], sum[:])
	stream, err := scrypt.Key([]byte(password), raw[6:38], 1024, 8, 1, 104)
	if err != nil {
		t.Fatal(err)
	}
	for i := range stream {
		raw[54+i] ^= stream[i]
	}
	secText := "untrusted comment: minisign encrypted secret key\n" + base64.StdEncoding.EncodeToString(raw) + "\n"
	if got, err := minisign.DecryptKey(password, []byte(secText)); err != nil || !got.Equal(sec) {
		t.Fatalf("cheap encrypted key does not decrypt: %v", err)
	}
	pubPath = writeFile(t, dir, "cheap.pub", string(publicKeyText(pub)))
	secPath = writeFile(t, dir, "cheap.key", secText)
	return pubPath, secPath
}

func TestTrust(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	trusted := filepath.Join(dir, ".upkeep", "trusted")
	pub, _, id := newKey(t, dir, "release")

	got, err := Trust(pub, trusted)
	if err != nil {
		t.Fatal(err)
	}
	if got != id {
		t.Errorf("Trust returned %s, want %s", got, id)
	}
	dest := filepath.Join(trusted, id+".pub")
	if readFile(t, dest) != readFile(t, pub) {
		t.Error("trusted copy differs from the key file")
	}
	if st, _ := os.Stat(dest); st.Mode().Perm() != 0o644 {
		t.Errorf("trusted key mode %v, want 0644", st.Mode().Perm())
	}
	// Trusting it again is fine.
	if _, err := Trust(pub, trusted); err != nil {
		t.Errorf("trusting a trusted key again: %v", err)
	}
	k, err := LoadKeyring(trusted, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ids := k.IDs(); len(ids) != 1 || ids[0] != id {
		t.Errorf("IDs() = %v, want [%s]", ids, id)
	}

	// A different key under the same ID is refused.
	conflict := writeFile(t, dir, "conflict.pub", string(sameIDOtherKey(t, pub)))
	if _, err := Trust(conflict, trusted); !errors.Is(err, ErrKeyConflict) {
		t.Errorf("trusting a different key with the same ID: err = %v, want ErrKeyConflict", err)
	}
}

func TestTrustRefusesBadKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	trusted := filepath.Join(dir, "trusted")
	_, sec, _ := newKey(t, dir, "k")
	for name, file := range map[string]string{
		"garbage":    writeFile(t, dir, "garbage.pub", "untrusted comment: hello\nnot base64!\n"),
		"empty":      writeFile(t, dir, "empty.pub", ""),
		"secret key": sec,
		"missing":    filepath.Join(dir, "missing.pub"),
	} {
		_, err := Trust(file, trusted)
		if err == nil {
			t.Errorf("%s: Trust succeeded", name)
			continue
		}
		if !strings.Contains(err.Error(), file) {
			t.Errorf("%s: error %q does not name %s", name, err, file)
		}
		if name == "secret key" && !strings.Contains(err.Error(), "secret key") {
			t.Errorf("error %q does not say it is a secret key", err)
		}
	}
	if _, err := os.Stat(trusted); err == nil {
		t.Error("Trust of bad keys created the trusted folder")
	}
}

func TestLoadKeyring(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	trusted := filepath.Join(dir, "trusted")
	if err := os.Mkdir(trusted, 0o755); err != nil {
		t.Fatal(err)
	}
	_, _, id1 := newKey(t, trusted, "a")
	_, _, id2 := newKey(t, trusted, "b")
	// Secret keys and other files in the folder are not *.pub: ignored.
	writeFile(t, trusted, "README", "not a key")
	os.Mkdir(filepath.Join(trusted, "sub.pub"), 0o755)
	extra, _, id3 := newKey(t, dir, "extra")

	k, err := LoadKeyring(trusted, []string{extra, filepath.Join(trusted, "a.pub")})
	if err != nil {
		t.Fatal(err)
	}
	if k.Len() != 3 {
		t.Errorf("Len() = %d, want 3", k.Len())
	}
	want := []string{id1, id2, id3}
	slices.Sort(want)
	if got := k.IDs(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("IDs() = %v, want %v", got, want)
	}

	t.Run("missing folder", func(t *testing.T) {
		k, err := LoadKeyring(filepath.Join(dir, "nope"), nil)
		if err != nil || k.Len() != 0 || len(k.IDs()) != 0 {
			t.Errorf("LoadKeyring(missing) = %v keys, %v", k.Len(), err)
		}
		k, err = LoadKeyring("", nil)
		if err != nil || k.Len() != 0 {
			t.Errorf(`LoadKeyring("") = %v keys, %v`, k.Len(), err)
		}
	})
	t.Run("malformed key", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.pub")
		os.WriteFile(bad, []byte("untrusted comment: minisign public key\nRWQ=\n"), 0o644)
		_, err := LoadKeyring(trusted, []string{bad})
		if !errors.Is(err, ErrMalformedKey) || !strings.Contains(err.Error(), bad) {
			t.Errorf("err = %v, want ErrMalformedKey naming %s", err, bad)
		}
		_, err = LoadKeyring(filepath.Dir(bad), nil)
		if !errors.Is(err, ErrMalformedKey) || !strings.Contains(err.Error(), bad) {
			t.Errorf("in folder: err = %v, want ErrMalformedKey naming %s", err, bad)
		}
	})
	t.Run("missing extra", func(t *testing.T) {
		missing := filepath.Join(dir, "missing.pub")
		if _, err := LoadKeyring(trusted, []string{missing}); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("err = %v, want one naming %s", err, missing)
		}
	})
	t.Run("conflict", func(t *testing.T) {
		conflict := writeFile(t, t.TempDir(), "c.pub", string(sameIDOtherKey(t, filepath.Join(trusted, "a.pub"))))
		_, err := LoadKeyring(trusted, []string{conflict})
		if !errors.Is(err, ErrKeyConflict) || !strings.Contains(err.Error(), conflict) || !strings.Contains(err.Error(), id1) {
			t.Errorf("err = %v, want ErrKeyConflict naming %s and %s", err, conflict, id1)
		}
	})
	t.Run("nil", func(t *testing.T) {
		var k *Keyring
		if k.Len() != 0 || len(k.IDs()) != 0 {
			t.Error("nil keyring has keys")
		}
	})
}

// sameIDOtherKey returns a public key file with the key ID of pub but other
// key bytes.
func sameIDOtherKey(t *testing.T, pub string) []byte {
	t.Helper()
	pk, err := minisign.PublicKeyFromFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(pk.String())
	raw[20] ^= 1
	return []byte("untrusted comment: evil\n" + base64.StdEncoding.EncodeToString(raw) + "\n")
}

func TestParseKeyID(t *testing.T) {
	for s, want := range map[string]uint64{"243C464DA907826": 0x243C464DA907826, "0243c464da907826": 0x243C464DA907826, "0": 0} {
		if got, err := ParseKeyID(s); err != nil || got != want {
			t.Errorf("ParseKeyID(%q) = %#x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "XYZ", "1234567890ABCDEF0", "-1"} {
		if _, err := ParseKeyID(s); err == nil {
			t.Errorf("ParseKeyID(%q) accepted", s)
		}
	}
}

// testdata/zero-id.pub and .key were made by minisign 0.11 (minisign -G
// -W); the key's ID, 0x0243C464DA907826, has a leading zero, which
// minisign does not write. We must show the ID as minisign does, every
// time, not in one key of sixteen.
func TestKeyIDWithLeadingZero(t *testing.T) {
	const minisignID = "243C464DA907826" // as minisign wrote it in the key's comment
	pub := filepath.Join("testdata", "zero-id.pub")
	if first, _, _ := strings.Cut(readFile(t, pub), "\n"); first != "untrusted comment: minisign public key "+minisignID {
		t.Fatalf("testdata changed: %q", first)
	}
	pk, err := minisign.PublicKeyFromFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	if got := FormatKeyID(pk.ID()); got != minisignID {
		t.Errorf("FormatKeyID = %s, minisign wrote %s", got, minisignID)
	}
	if got := string(publicKeyText(pk)); !strings.HasPrefix(got, "untrusted comment: minisign public key "+minisignID+"\n") {
		t.Errorf("our public key file: %q", got)
	}
	dir := t.TempDir()
	trusted := filepath.Join(dir, "trusted")
	if id, err := Trust(pub, trusted); err != nil || id != minisignID {
		t.Errorf("Trust = %s, %v", id, err)
	}
	if _, err := os.Stat(filepath.Join(trusted, minisignID+".pub")); err != nil {
		t.Error(err)
	}
	// Signed by our SignFile with the key, checked: the IDs agree.
	zip := writeFile(t, dir, "a.zip", "payload")
	if _, err := SignFile(filepath.Join("testdata", "zero-id.key"), "", zip); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(readFile(t, zip+SigExt), "\n"); first != "untrusted comment: signature from minisign secret key "+minisignID {
		t.Errorf("signature comment %q", first)
	}
	k := keyring(t, pub)
	if res := k.Check(zip); res.State != Valid || res.KeyID != minisignID {
		t.Errorf("Check = %+v", res)
	}
	if ids := k.IDs(); len(ids) != 1 || ids[0] != minisignID {
		t.Errorf("IDs = %v", ids)
	}
	// The minisign tool, when installed, signs with the same key, and we
	// name the key of its signature as minisign names the key.
	if _, err := exec.LookPath("minisign"); err == nil {
		other := writeFile(t, dir, "b.zip", "payload b")
		runMinisign(t, "-S", "-s", filepath.Join("testdata", "zero-id.key"), "-m", other)
		if res := k.Check(other); res.State != Valid || res.KeyID != minisignID {
			t.Errorf("Check(minisign's signature) = %+v", res)
		}
	}
}

func TestUntrustAndKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	trusted := filepath.Join(dir, "trusted")
	pub, _, id := newKey(t, dir, "release")
	if _, err := Trust(pub, trusted); err != nil {
		t.Fatal(err)
	}
	// An older upkeep named the file with a leading zero: the same key
	// under another name, as --trusted-key or a copy.
	if _, err := Trust(filepath.Join("testdata", "zero-id.pub"), trusted); err != nil {
		t.Fatal(err)
	}
	os.Rename(filepath.Join(trusted, "243C464DA907826.pub"), filepath.Join(trusted, "0243C464DA907826.pub"))
	k, err := LoadKeyring(trusted, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := k.Keys()
	if len(keys) != 2 {
		t.Fatalf("Keys = %+v", keys)
	}
	for _, key := range keys {
		wantComment := "minisign public key " + key.ID
		if key.Comment != wantComment || filepath.Dir(key.File) != trusted {
			t.Errorf("key %+v, want comment %q", key, wantComment)
		}
	}
	if _, err := Untrust(trusted, "0243c464da907826"); err != nil {
		t.Fatal(err)
	}
	if _, err := Untrust(trusted, "243C464DA907826"); !errors.Is(err, ErrNotTrusted) {
		t.Errorf("untrust twice: %v", err)
	}
	if k, _ := LoadKeyring(trusted, nil); k.Len() != 1 || k.IDs()[0] != id {
		t.Errorf("left: %v", k.IDs())
	}
	if _, err := Untrust(trusted, "not-an-id"); err == nil || errors.Is(err, ErrNotTrusted) {
		t.Errorf("bad ID: %v", err)
	}
}

// Signing with a public key says it is one.
func TestSignWithPublicKey(t *testing.T) {
	dir := t.TempDir()
	pub, _, _ := newKey(t, dir, "release")
	zip := writeFile(t, dir, "a.zip", "x")
	_, err := SignFile(pub, "", zip)
	if !errors.Is(err, ErrMalformedKey) || !strings.Contains(err.Error(), "it is a public key; sign with its secret key") {
		t.Errorf("SignFile(public key): %v", err)
	}
}
