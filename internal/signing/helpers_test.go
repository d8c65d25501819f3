package signing

import (
	"os"
	"path/filepath"
	"testing"
)

// newKey generates an unencrypted key pair NAME.pub / NAME.key in dir.
func newKey(t testing.TB, dir, name string) (pub, sec, id string) {
	t.Helper()
	pub = filepath.Join(dir, name+".pub")
	sec = filepath.Join(dir, name+".key")
	id, err := GenerateKey(pub, sec, "")
	if err != nil {
		t.Fatal(err)
	}
	return pub, sec, id
}

// writeFile writes a file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// keyring loads a keyring of the given public key files.
func keyring(t *testing.T, pubs ...string) *Keyring {
	t.Helper()
	k, err := LoadKeyring("", pubs)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
