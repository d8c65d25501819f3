package signing

import "errors"

var (
	// ErrKeyExists is returned by GenerateKey when the public or the secret
	// key file already exists: it never overwrites a key.
	ErrKeyExists = errors.New("signing: key file already exists")

	// ErrMalformedKey is returned by LoadKeyring, Trust and SignFile when a
	// file is not a minisign key of the kind expected (for example a
	// secret key where a public key belongs).
	ErrMalformedKey = errors.New("signing: not a valid minisign key")

	// ErrKeyConflict is returned by LoadKeyring and Trust when two different
	// public keys claim the same key ID.
	ErrKeyConflict = errors.New("signing: two different keys have the same key ID")

	// ErrPasswordNeeded is returned by SignFile when the secret key is
	// encrypted and no password was given, and by GenerateKey's callers
	// when none was given for a new encrypted key.
	ErrPasswordNeeded = errors.New("signing: secret key is encrypted and needs a password")

	// ErrWrongPassword is returned by SignFile when the password does not
	// decrypt the secret key.
	ErrWrongPassword = errors.New("signing: wrong password for the secret key")

	// ErrNotTrusted is returned by Untrust when no trusted key has the ID.
	ErrNotTrusted = errors.New("signing: no trusted key has this ID")

	// ErrRefused is wrapped by Result.Err when a zip is refused: at least one
	// key is trusted and the zip's signature is not valid.
	ErrRefused = errors.New("signing: refused")
)
