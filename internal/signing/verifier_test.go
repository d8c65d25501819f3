package signing

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestExpectStreamsAndAgreesWithCheck(t *testing.T) {
	dir := t.TempDir()
	pub, sec, id := newKey(t, dir, "good")
	otherPub, otherSec, _ := newKey(t, dir, "other")
	_ = otherPub
	content := strings.Repeat("zip bytes ", 10000)
	path := writeFile(t, dir, "a.zip", content)
	if _, err := SignFileAt(sec, "", path, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	sig, _ := os.ReadFile(path + SigExt)
	k := keyring(t, pub)

	v := k.Expect("a.zip", sig)
	if v.Decided() {
		t.Fatal("a trusted signature is decided before any byte")
	}
	for i := 0; i < len(content); i += 777 {
		v.Write([]byte(content[i:min(i+777, len(content))]))
	}
	if res := v.Result(); res.State != Valid || res.KeyID != id || res.Refused || !strings.Contains(res.TrustedComment, "timestamp:1700000000") {
		t.Fatalf("streamed result %+v, want valid by %s", res, id)
	}
	if res := k.Check(path); res.State != Valid {
		t.Fatalf("Check disagrees: %+v", res)
	}

	bad := []byte(content)
	bad[5000] ^= 1
	if res := k.CheckBytes("a.zip", bad, sig); res.State != Invalid || !res.Refused || res.Problem != "a.zip: signature does not match (file changed after signing?)" {
		t.Fatalf("flipped byte: %+v", res)
	}
	if res := k.CheckBytes("a.zip", []byte(content), nil); res.State != Unsigned || !res.Refused || res.Problem != "a.zip: not signed, and 1 key is trusted" {
		t.Fatalf("unsigned: %+v", res)
	}
	if res := k.CheckBytes("a.zip", []byte(content), []byte("garbage")); res.State != Invalid || !res.Refused || !strings.HasPrefix(res.Problem, "a.zip.minisig: malformed signature") {
		t.Fatalf("garbage: %+v", res)
	}
	other := writeFile(t, dir, "b.zip", content)
	SignFile(otherSec, "", other)
	otherSig, _ := os.ReadFile(other + SigExt)
	if v := k.Expect("a.zip", otherSig); !v.Decided() || v.Result().State != Untrusted || !strings.Contains(v.Result().Problem, "which is not trusted") || !v.Result().Refused {
		t.Fatalf("untrusted key: %+v", v.Result())
	}
	if res := (*Keyring)(nil).CheckBytes("a.zip", []byte(content), sig); res.State != Unverified || res.Refused {
		t.Fatalf("no key trusted: %+v", res)
	}
}

func TestSignFileAtIsReproducible(t *testing.T) {
	dir := t.TempDir()
	_, sec, _ := newKey(t, dir, "k")
	path := writeFile(t, dir, "index.json", "{}")
	at := time.Unix(1800000000, 0)
	SignFileAt(sec, "", path, at)
	first := readFile(t, path+SigExt)
	SignFileAt(sec, "", path, at)
	if second := readFile(t, path+SigExt); first != second {
		t.Fatalf("two signatures of the same file at the same time differ:\n%s\n%s", first, second)
	}
}
