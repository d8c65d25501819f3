package signing

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"aead.dev/minisign"
)

// MaxLegacySize is the largest file whose legacy (non-pre-hashed, minisign
// -l) signature Check verifies: such a signature needs the whole file in
// memory. Pre-hashed signatures have no limit.
const MaxLegacySize = 256 << 20

// Keyring is a set of trusted public keys, made by LoadKeyring. It is not
// changed after that, so it is safe for concurrent use. A nil Keyring
// trusts no key.
type Keyring struct {
	keys      map[uint64]trustedKey
	maxLegacy int64 // MaxLegacySize; tests lower it
}

type trustedKey struct {
	key     minisign.PublicKey
	file    string // where it was read from
	comment string // the file's untrusted comment
}

// KeyInfo describes a trusted key, for `keys list`.
type KeyInfo struct {
	ID      string // as FormatKeyID writes it
	Comment string // the untrusted comment of its file ("minisign public key ID" for minisign's)
	File    string // the file it was read from
}

// LoadKeyring reads the trusted public keys: every *.pub file in trustedDir
// (a missing trustedDir, or "", holds none) and every file in extra (as
// given with --trusted-key). A file that is not a valid public key is an
// error naming it; so are two different keys with the same key ID. The same
// key found twice counts once.
func LoadKeyring(trustedDir string, extra []string) (*Keyring, error) {
	k := &Keyring{keys: map[uint64]trustedKey{}, maxLegacy: MaxLegacySize}
	var files []string
	if trustedDir != "" {
		entries, err := os.ReadDir(trustedDir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("load trusted keys: %w", err)
		}
		for _, e := range entries {
			if filepath.Ext(e.Name()) == ".pub" && !e.IsDir() {
				files = append(files, filepath.Join(trustedDir, e.Name()))
			}
		}
	}
	files = append(files, extra...)
	for _, file := range files {
		if err := k.add(file); err != nil {
			return nil, fmt.Errorf("load trusted keys: %w", err)
		}
	}
	return k, nil
}

func (k *Keyring) add(file string) error {
	pub, data, err := readPublicKey(file)
	if err != nil {
		return err
	}
	comment := ""
	if first, _, _ := bytes.Cut(data, []byte("\n")); bytes.HasPrefix(first, []byte("untrusted comment:")) {
		comment = strings.TrimSpace(string(first[len("untrusted comment:"):]))
	}
	if old, ok := k.keys[pub.ID()]; ok {
		if old.key.Equal(pub) {
			return nil
		}
		return fmt.Errorf("%s and %s: key ID %s: %w", old.file, file, FormatKeyID(pub.ID()), ErrKeyConflict)
	}
	k.keys[pub.ID()] = trustedKey{key: pub, file: file, comment: comment}
	return nil
}

// Len returns the number of trusted keys.
func (k *Keyring) Len() int {
	if k == nil {
		return 0
	}
	return len(k.keys)
}

// IDs returns the IDs of the trusted keys, sorted, as FormatKeyID writes
// them.
func (k *Keyring) IDs() []string {
	ids := make([]string, 0, k.Len())
	if k != nil {
		for id := range k.keys {
			ids = append(ids, FormatKeyID(id))
		}
	}
	slices.Sort(ids)
	return ids
}

// Keys describes the trusted keys, sorted by ID.
func (k *Keyring) Keys() []KeyInfo {
	keys := make([]KeyInfo, 0, k.Len())
	if k != nil {
		for id, tk := range k.keys {
			keys = append(keys, KeyInfo{ID: FormatKeyID(id), Comment: tk.comment, File: tk.file})
		}
	}
	slices.SortFunc(keys, func(a, b KeyInfo) int { return strings.Compare(a.ID, b.ID) })
	return keys
}
