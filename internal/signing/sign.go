package signing

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"aead.dev/minisign"
)

// SigExt is the extension of a signature file: NAME.zip is signed in
// NAME.zip.minisig.
const SigExt = ".minisig"

// SignFile signs the file at path with the secret key in secPath (decrypted
// with password when it is encrypted) and writes the signature to
// path+".minisig", replacing any older one atomically. The file is streamed,
// never held in memory: the signature is pre-hashed (HashEdDSA), as minisign
// 0.10 and later make by default. Its trusted comment is
// "timestamp:UNIX\tfile:NAME\thashed", like minisign's.
func SignFile(secPath, password, path string) (sigPath string, err error) {
	return SignFileAt(secPath, password, path, time.Now())
}

// SignFileAt is [SignFile] with the timestamp of the trusted comment given:
// signing the same file with the same key at the same time gives the same
// signature (Ed25519 is deterministic), so builds can be reproducible.
func SignFileAt(secPath, password, path string, at time.Time) (sigPath string, err error) {
	key, err := readSecretKey(secPath, password)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return "", fmt.Errorf("sign: %w", err)
	} else if !st.Mode().IsRegular() {
		return "", fmt.Errorf("sign %s: not a regular file", path)
	}

	r := minisign.NewReader(f)
	if _, err := io.Copy(io.Discard, r); err != nil {
		return "", fmt.Errorf("sign: read %s: %w", path, err)
	}
	trusted := fmt.Sprintf("timestamp:%d\tfile:%s\thashed", at.Unix(), oneLine(filepath.Base(path)))
	untrusted := "signature from minisign secret key " + FormatKeyID(key.ID())
	sig := r.SignWithComments(key, trusted, untrusted)

	sigPath = path + SigExt
	if err := writeFileAtomic(sigPath, sig, 0o644); err != nil {
		return "", fmt.Errorf("sign %s: write %s: %w", path, sigPath, err)
	}
	return sigPath, nil
}

// oneLine replaces the control characters of s (a file name may hold a
// newline) so that s fits on the one line of a comment.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
