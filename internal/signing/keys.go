package signing

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"aead.dev/minisign"

	"github.com/upkeep/upkeep/internal/atomicfile"
)

// maxKeyFileSize caps what is read of a key file: a minisign key file is a
// few hundred bytes.
const maxKeyFileSize = 16 << 10

// FormatKeyID formats a key ID the way the minisign tool shows it:
// upper-case hex digits without leading zeros (minisign prints the key's
// number with "%" PRIX64, so about one key in sixteen has 15 digits).
func FormatKeyID(id uint64) string { return fmt.Sprintf("%X", id) }

// ParseKeyID reads a key ID as FormatKeyID writes it, or with leading
// zeros (as upkeep wrote it before), in upper or lower case.
func ParseKeyID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 16, 64)
	if err != nil || s == "" || len(s) > 16 {
		return 0, fmt.Errorf("%q is not a key ID (up to 16 hex digits, as keys list shows them)", s)
	}
	return id, nil
}

// GenerateKey writes a new minisign key pair: the public key to pubPath
// (mode 0644) and the secret key to secPath (mode 0600). The secret key is
// encrypted with password when it is not empty, and stored unencrypted
// otherwise (like minisign -G -W). It never overwrites a file: when either
// exists it returns an error wrapping ErrKeyExists that names the file.
// It returns the key ID.
func GenerateKey(pubPath, secPath string, password string) (keyID string, err error) {
	if filepath.Clean(pubPath) == filepath.Clean(secPath) {
		return "", fmt.Errorf("generate key: public and secret key paths are the same: %s", pubPath)
	}
	for _, p := range []string{secPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", fmt.Errorf("generate key: %s: %w", p, ErrKeyExists)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("generate key: %w", err)
		}
	}

	pub, sec, err := minisign.GenerateKey(nil)
	if err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	var secText []byte
	if password != "" {
		secText, err = minisign.EncryptKey(password, sec)
	} else {
		secText, err = sec.MarshalText()
	}
	if err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	secText = append(secText, '\n')
	pubText := publicKeyText(pub)

	if err := writeNewFile(secPath, secText, 0o600); err != nil {
		return "", fmt.Errorf("generate key: write secret key: %w", err)
	}
	if err := writeNewFile(pubPath, pubText, 0o644); err != nil {
		os.Remove(secPath) // we just made it; a secret key without its public key helps nobody
		return "", fmt.Errorf("generate key: write public key: %w", err)
	}
	return FormatKeyID(pub.ID()), nil
}

// publicKeyText is the public key file the minisign tool writes.
func publicKeyText(pub minisign.PublicKey) []byte {
	return []byte("untrusted comment: minisign public key " + FormatKeyID(pub.ID()) + "\n" + pub.String() + "\n")
}

// writeNewFile creates path, which must not exist, with data and mode perm
// (whatever the umask), and syncs it. On failure it removes what it made.
func writeNewFile(path string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w", path, ErrKeyExists)
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return err
	}
	atomicfile.SyncDir(filepath.Dir(path)) // best effort: the file is there either way
	return nil
}

// readKeyFile reads a key file, refusing files too large to be one.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readCapped(f, maxKeyFileSize)
	if errors.Is(err, errTooLarge) {
		return nil, fmt.Errorf("%s: %w: file is over %d bytes", path, ErrMalformedKey, maxKeyFileSize)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// parsePublicKey reads a public key in the minisign format: an optional
// "untrusted comment:" line and the base64 key. name is used in errors.
func parsePublicKey(name string, data []byte) (minisign.PublicKey, error) {
	var pub minisign.PublicKey
	if looksLikeSecretKey(data) {
		return pub, fmt.Errorf("%s: %w: it is a secret key; use its public key (.pub) instead", name, ErrMalformedKey)
	}
	if err := pub.UnmarshalText(bytes.TrimSpace(data)); err != nil {
		return pub, fmt.Errorf("%s: %w: %s", name, ErrMalformedKey, strings.TrimPrefix(err.Error(), "minisign: "))
	}
	return pub, nil
}

// readPublicKey reads and parses a public key file.
func readPublicKey(path string) (minisign.PublicKey, []byte, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return minisign.PublicKey{}, nil, err
	}
	pub, err := parsePublicKey(path, data)
	return pub, data, err
}

// looksLikeSecretKey reports whether data is a minisign secret key file.
func looksLikeSecretKey(data []byte) bool {
	text := data
	if first, rest, ok := bytes.Cut(data, []byte("\n")); ok && bytes.HasPrefix(first, []byte("untrusted comment:")) {
		if bytes.Contains(first, []byte("secret key")) {
			return true
		}
		text = rest
	}
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(text)))
	return err == nil && len(raw) == 158 // the size of a minisign secret key
}

// readSecretKey reads the secret key file secPath, decrypting it with
// password when it is encrypted.
func readSecretKey(secPath, password string) (minisign.PrivateKey, error) {
	data, err := readKeyFile(secPath)
	if err != nil {
		return minisign.PrivateKey{}, err
	}
	if minisign.IsEncrypted(data) {
		if password == "" {
			return minisign.PrivateKey{}, fmt.Errorf("%s: %w", secPath, ErrPasswordNeeded)
		}
		key, err := minisign.DecryptKey(password, data)
		if err != nil {
			return minisign.PrivateKey{}, fmt.Errorf("%s: %w", secPath, ErrWrongPassword)
		}
		return key, nil
	}
	var key minisign.PrivateKey
	if err := key.UnmarshalText(bytes.TrimSpace(data)); err != nil {
		if _, perr := parsePublicKey(secPath, data); perr == nil {
			return key, fmt.Errorf("%s: %w: it is a public key; sign with its secret key (the .key file keys generate wrote beside it)", secPath, ErrMalformedKey)
		}
		return key, fmt.Errorf("%s: %w: %s", secPath, ErrMalformedKey, strings.TrimPrefix(err.Error(), "minisign: "))
	}
	return key, nil
}

// Trust checks that pubFile is a minisign public key and copies it into
// trustedDir as KEYID.pub, creating trustedDir when needed. Trusting a key
// that is already trusted does nothing. It returns the key ID.
func Trust(pubFile, trustedDir string) (keyID string, err error) {
	pub, data, err := readPublicKey(pubFile)
	if err != nil {
		return "", fmt.Errorf("trust key: %w", err)
	}
	keyID = FormatKeyID(pub.ID())
	dest := filepath.Join(trustedDir, keyID+".pub")
	if old, _, err := readPublicKey(dest); err == nil {
		if old.Equal(pub) {
			return keyID, nil
		}
		return "", fmt.Errorf("trust key %s: %s holds a different key with the same ID: %w", pubFile, dest, ErrKeyConflict)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("trust key %s: %w", pubFile, err)
	}
	if err := os.MkdirAll(trustedDir, 0o755); err != nil {
		return "", fmt.Errorf("trust key %s: %w", pubFile, err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	if err := writeFileAtomic(dest, data, 0o644); err != nil {
		return "", fmt.Errorf("trust key %s: %w", pubFile, err)
	}
	return keyID, nil
}

// Untrust removes from trustedDir every public key file (*.pub) whose key
// has the ID id (as FormatKeyID or ParseKeyID writes it), and returns the
// files removed. A key no file holds is an error wrapping ErrNotTrusted.
func Untrust(trustedDir, id string) (removed []string, err error) {
	want, err := ParseKeyID(id)
	if err != nil {
		return nil, fmt.Errorf("untrust key: %w", err)
	}
	entries, err := os.ReadDir(trustedDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("untrust key: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".pub" {
			continue
		}
		file := filepath.Join(trustedDir, e.Name())
		pub, _, err := readPublicKey(file)
		if err != nil || pub.ID() != want {
			continue
		}
		if err := os.Remove(file); err != nil {
			return removed, fmt.Errorf("untrust key %s: %w", FormatKeyID(want), err)
		}
		removed = append(removed, file)
	}
	if len(removed) == 0 {
		return nil, fmt.Errorf("untrust key %s: %w", FormatKeyID(want), ErrNotTrusted)
	}
	atomicfile.SyncDir(trustedDir)
	return removed, nil
}

// IsEncryptedKey reports whether the file secPath holds an encrypted
// minisign secret key (false when it cannot be read).
func IsEncryptedKey(secPath string) bool {
	data, err := readKeyFile(secPath)
	return err == nil && minisign.IsEncrypted(data)
}
