package signing

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"hash"

	"aead.dev/minisign"
	"golang.org/x/crypto/blake2b"
)

// Verifier checks a signature against bytes written to it as they arrive,
// so that a download is verified without reading the file again. Make one
// with [Keyring.Expect]; it is not safe for concurrent use.
type Verifier struct {
	name, sigName string
	raw           []byte
	sig           minisign.Signature
	key           minisign.PublicKey
	res           Result        // set when the outcome is known before any byte
	hash          hash.Hash     // BLAKE2b-512 of the bytes, for a pre-hashed signature
	legacy        *bytes.Buffer // the bytes, for a legacy signature
	maxLegacy     int64
	tooLarge      bool
}

// Expect parses sig, the text of name's signature (name.minisig), and
// checks that it is well formed and made by a trusted key. The returned
// Verifier takes the bytes of name with Write; its Result says whether they
// match. When the outcome is known from the signature alone (unsigned,
// malformed, untrusted key, no key trusted) Result returns it whatever is
// written, and Write discards the bytes. A nil or empty sig means
// unsigned.
func (k *Keyring) Expect(name string, sig []byte) *Verifier {
	v := &Verifier{name: name, sigName: name + SigExt, raw: sig}
	n := k.Len()
	if len(sig) == 0 {
		v.res = Result{State: Unsigned}
		if n > 0 {
			v.res.Problem = fmt.Sprintf("%s: not signed, and %s", name, keysTrusted(n))
		}
		return v.refuse(k)
	}
	if len(sig) > maxSigFileSize {
		v.res = Result{State: Invalid, Problem: fmt.Sprintf("%s: not a minisign signature (over %d KiB)", v.sigName, maxSigFileSize>>10)}
		return v.refuse(k)
	}
	if err := v.sig.UnmarshalText(sig); err != nil {
		v.res = Result{State: Invalid, Problem: fmt.Sprintf("%s: malformed signature (%v)", v.sigName, err)}
		return v.refuse(k)
	}
	keyID := FormatKeyID(v.sig.KeyID)
	if n == 0 {
		v.res = Result{State: Unverified, KeyID: keyID}
		return v.refuse(k)
	}
	tk, ok := k.keys[v.sig.KeyID]
	if !ok {
		v.res = Result{State: Untrusted, KeyID: keyID, Problem: fmt.Sprintf("%s: signed by key %s, which is not trusted", v.sigName, keyID)}
		return v.refuse(k)
	}
	v.key = tk.key
	if v.sig.Algorithm == minisign.HashEdDSA {
		v.hash, _ = blake2b.New512(nil)
	} else {
		v.legacy = &bytes.Buffer{}
		v.maxLegacy = k.maxLegacy
		if v.maxLegacy == 0 {
			v.maxLegacy = MaxLegacySize
		}
	}
	return v
}

func (v *Verifier) refuse(k *Keyring) *Verifier {
	v.res.Refused = k.Len() > 0 && v.res.State != Valid
	return v
}

// Decided reports whether the outcome is known without the file's bytes:
// Result returns the same whatever is written.
func (v *Verifier) Decided() bool { return v.res.State != "" }

// Write adds p to the bytes checked. It never fails.
func (v *Verifier) Write(p []byte) (int, error) {
	switch {
	case v.hash != nil:
		v.hash.Write(p)
	case v.legacy != nil && !v.tooLarge:
		if int64(v.legacy.Len()+len(p)) > v.maxLegacy {
			v.tooLarge = true
			v.legacy = &bytes.Buffer{}
		} else {
			v.legacy.Write(p)
		}
	}
	return len(p), nil
}

// Reset forgets the bytes written so far.
func (v *Verifier) Reset() {
	if v.hash != nil {
		v.hash.Reset()
	}
	if v.legacy != nil {
		v.legacy.Reset()
	}
	v.tooLarge = false
}

// Result says whether the signature matches the bytes written so far.
func (v *Verifier) Result() Result {
	if v.Decided() {
		return v.res
	}
	res := Result{KeyID: FormatKeyID(v.sig.KeyID)}
	var match bool
	switch {
	case v.hash != nil:
		match = verifyPrehashed(v.key, v.hash.Sum(nil), v.sig)
	case v.tooLarge:
		res.State, res.Refused = Invalid, true
		res.Problem = fmt.Sprintf("%s: legacy signature (minisign -l) of a file over %d MiB, too large to check; sign it again without -l",
			v.sigName, v.maxLegacy>>20)
		return res
	default:
		match = minisign.Verify(v.key, v.legacy.Bytes(), v.raw)
	}
	if !match {
		res.State, res.Refused = Invalid, true
		if !commentMatches(v.key, v.sig) {
			res.Problem = fmt.Sprintf("%s: trusted comment does not match the signature (signature file altered?)", v.sigName)
		} else {
			res.Problem = fmt.Sprintf("%s: signature does not match (file changed after signing?)", v.name)
		}
		return res
	}
	res.State = Valid
	res.TrustedComment = v.sig.TrustedComment
	return res
}

// CheckBytes checks sig, the text of name's signature, against data held
// in memory. See [Keyring.Check] for the outcomes.
func (k *Keyring) CheckBytes(name string, data, sig []byte) Result {
	v := k.Expect(name, sig)
	v.Write(data)
	return v.Result()
}

// verifyPrehashed checks a pre-hashed (HashEdDSA) signature against the
// BLAKE2b-512 digest of the file, as minisign.Reader.Verify does with the
// digest it computes itself.
func verifyPrehashed(key minisign.PublicKey, digest []byte, sig minisign.Signature) bool {
	raw, err := base64.StdEncoding.DecodeString(key.String())
	if err != nil || len(raw) != 10+ed25519.PublicKeySize || sig.KeyID != key.ID() {
		return false
	}
	pub := ed25519.PublicKey(raw[10:])
	if !ed25519.Verify(pub, digest, sig.Signature[:]) {
		return false
	}
	msg := append(sig.Signature[:], sig.TrustedComment...)
	return ed25519.Verify(pub, msg, sig.CommentSignature[:])
}
