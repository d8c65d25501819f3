package signing

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"aead.dev/minisign"
)

// maxSigFileSize caps what is read of a .minisig file: minisign's are a few
// hundred bytes, its comments at most a few kilobytes.
const maxSigFileSize = 64 << 10

// State is what Check found out about a file's signature.
type State string

const (
	// Unsigned: there is no NAME.minisig beside the file.
	Unsigned State = "unsigned"
	// Valid: the signature was made by a trusted key and matches the file.
	Valid State = "valid"
	// Invalid: the signature is malformed, does not match the file, or
	// cannot be checked (a legacy signature of a file over MaxLegacySize).
	Invalid State = "invalid"
	// Untrusted: the signature is well formed but names a key that is not
	// trusted (whether it matches the file was not checked: no key to
	// check it with).
	Untrusted State = "untrusted"
	// Unverified: the file is signed, but no key is trusted, so nothing was
	// checked beyond the signature's format.
	Unverified State = "unverified"
	// Unreadable: the signature or the file could not be read.
	Unreadable State = "unreadable"
)

// Result is what Check found out about a file's signature.
type Result struct {
	State State
	// KeyID is the ID of the key the signature names (as FormatKeyID
	// writes it), or "" when there is no well-formed signature. It is only
	// proven when State is Valid.
	KeyID string
	// Refused is true when at least one key is trusted and State is not
	// Valid: the file must not be installed.
	Refused bool
	// Problem is one line naming the file and saying what is wrong, or ""
	// when nothing is (Valid, and Unsigned or Unverified with no key
	// trusted).
	Problem string
	// TrustedComment is the signature's trusted comment (minisign's is
	// "timestamp:UNIX\tfile:NAME\thashed") when State is Valid.
	TrustedComment string
}

// Err returns nil unless the file is refused, and then an error whose text
// is Problem and that wraps ErrRefused.
func (r Result) Err() error {
	if !r.Refused {
		return nil
	}
	return &refusedError{problem: r.Problem}
}

type refusedError struct{ problem string }

func (e *refusedError) Error() string { return e.problem }
func (e *refusedError) Unwrap() error { return ErrRefused }

// Check checks the signature path+".minisig" of the file at path against
// the trusted keys. See State for the outcomes. Pre-hashed signatures are
// checked by streaming the file; legacy ones by reading it whole, up to
// MaxLegacySize. A nil Keyring trusts no key.
func (k *Keyring) Check(path string) Result {
	return k.CheckFile(nil, path)
}

// CheckFile is [Keyring.Check] of a file already open: the signature at
// path+".minisig" is checked against what f holds (nil: open path). A
// caller that goes on reading f reads what was verified, even if path is
// replaced meanwhile.
func (k *Keyring) CheckFile(f *os.File, path string) Result {
	res := k.check(f, path)
	res.Refused = k.Len() > 0 && res.State != Valid
	return res
}

func (k *Keyring) check(open *os.File, path string) Result {
	name := filepath.Base(path)
	sigPath := path + SigExt
	sigName := name + SigExt
	n := k.Len()

	raw, err := readSigFile(sigPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		res := Result{State: Unsigned}
		if n > 0 {
			res.Problem = fmt.Sprintf("%s: not signed, and %s", name, keysTrusted(n))
		}
		return res
	case errors.Is(err, errTooLarge):
		return Result{State: Invalid, Problem: fmt.Sprintf("%s: not a minisign signature (over %d KiB)", sigName, maxSigFileSize>>10)}
	case err != nil:
		return Result{State: Unreadable, Problem: fmt.Sprintf("%s: cannot read: %s", sigName, ioReason(err))}
	}
	var sig minisign.Signature
	if err := sig.UnmarshalText(raw); err != nil {
		return Result{State: Invalid, Problem: fmt.Sprintf("%s: malformed signature (%v)", sigName, err)}
	}
	res := Result{KeyID: FormatKeyID(sig.KeyID)}
	if n == 0 {
		res.State = Unverified
		return res
	}
	tk, ok := k.keys[sig.KeyID]
	if !ok {
		res.State = Untrusted
		res.Problem = fmt.Sprintf("%s: signed by key %s, which is not trusted", sigName, res.KeyID)
		return res
	}

	var f io.Reader
	if open != nil {
		info, err := open.Stat()
		if err != nil {
			res.State = Unreadable
			res.Problem = fmt.Sprintf("%s: cannot read: %s", name, ioReason(err))
			return res
		}
		f = io.NewSectionReader(open, 0, info.Size())
	} else {
		file, err := os.Open(path)
		if err != nil {
			res.State = Unreadable
			res.Problem = fmt.Sprintf("%s: cannot read: %s", name, ioReason(err))
			return res
		}
		defer file.Close()
		f = file
	}
	var match bool
	if sig.Algorithm == minisign.HashEdDSA {
		r := minisign.NewReader(f)
		if _, err := io.Copy(io.Discard, r); err != nil {
			res.State = Unreadable
			res.Problem = fmt.Sprintf("%s: cannot read: %s", name, ioReason(err))
			return res
		}
		match = r.Verify(tk.key, raw)
	} else {
		maxLegacy := k.maxLegacy
		if maxLegacy == 0 {
			maxLegacy = MaxLegacySize
		}
		data, err := readCapped(f, maxLegacy)
		if errors.Is(err, errTooLarge) {
			res.State = Invalid
			res.Problem = fmt.Sprintf("%s: legacy signature (minisign -l) of a file over %d MiB, too large to check; sign it again without -l",
				sigName, maxLegacy>>20)
			return res
		}
		if err != nil {
			res.State = Unreadable
			res.Problem = fmt.Sprintf("%s: cannot read: %s", name, ioReason(err))
			return res
		}
		match = minisign.Verify(tk.key, data, raw)
	}
	if !match {
		res.State = Invalid
		if !commentMatches(tk.key, sig) {
			res.Problem = fmt.Sprintf("%s: trusted comment does not match the signature (signature file altered?)", sigName)
		} else {
			res.Problem = fmt.Sprintf("%s: signature does not match (file changed after signing?)", name)
		}
		return res
	}
	res.State = Valid
	res.TrustedComment = sig.TrustedComment
	return res
}

// readSigFile reads a signature file, up to maxSigFileSize.
func readSigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readCapped(f, maxSigFileSize)
}

// commentMatches reports whether the trusted comment of sig is signed by
// key. Check uses it only to say which part of a bad signature is bad.
func commentMatches(key minisign.PublicKey, sig minisign.Signature) bool {
	raw, err := base64.StdEncoding.DecodeString(key.String())
	if err != nil || len(raw) != 10+ed25519.PublicKeySize {
		return false
	}
	msg := append(sig.Signature[:], sig.TrustedComment...)
	return ed25519.Verify(ed25519.PublicKey(raw[10:]), msg, sig.CommentSignature[:])
}

// keysTrusted says how many keys are trusted, for problems.
func keysTrusted(n int) string {
	if n == 1 {
		return "1 key is trusted"
	}
	return fmt.Sprintf("%d keys are trusted", n)
}

// ioReason is the reason of an I/O error without the path, which the
// problem names already.
func ioReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
