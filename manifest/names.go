package manifest

import (
	"fmt"
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// nameMax is the longest file name (one path component), in bytes, that
// the usual file systems store (NAME_MAX on Linux, and ext4, XFS, APFS).
const nameMax = 255

// unsafePath says why name is not a safe, local, slash-separated path of a
// file inside a pack, or returns "" when it is one. The rules are those of
// filepath.IsLocal on a slash path, a little stricter: no absolute path or
// drive letter, no backslash, no control character, no empty, "." or ".."
// component (so no leading, doubled or trailing slash).
func unsafePath(name string) string {
	switch {
	case name == "":
		return "empty name"
	case strings.HasPrefix(name, "/"):
		return "absolute path"
	case len(name) >= 2 && name[1] == ':' && isASCIILetter(name[0]):
		return "starts with a drive letter"
	case strings.ContainsRune(name, '\\'):
		return "contains a backslash"
	case strings.ContainsFunc(name, isControl):
		return "contains a control character"
	}
	for c := range strings.SplitSeq(name, "/") {
		switch c {
		case "":
			return "has an empty path component"
		case ".":
			return `has a "." path component`
		case "..":
			return `has a ".." path component`
		}
		if len(c) > nameMax {
			return fmt.Sprintf("has a path component of %d bytes, more than the %d a file system allows", len(c), nameMax)
		}
	}
	return ""
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// foldName is the key under which two names collide on a file system that
// ignores case (NTFS, APFS and HFS+ by default) or Unicode normalization
// (APFS, HFS+): full Unicode case folding (so σ and ς, ß and ss meet) of
// the NFC form (so "café" precomposed and decomposed meet).
func foldName(name string) string {
	// An ASCII name is its own NFC form, and full case folding maps only
	// A-Z of ASCII (to a-z): lowering those is the same fold, without the
	// two normalizations and the caser (most of a pack's load time).
	ascii, upper := true, false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 0x80 {
			ascii = false
			break
		}
		upper = upper || 'A' <= c && c <= 'Z'
	}
	if ascii {
		if !upper {
			return name
		}
		b := []byte(name)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
	}
	return norm.NFC.String(cases.Fold().String(norm.NFC.String(name)))
}

// clashWhy says how two names with the same [foldName] differ.
func clashWhy(a, b string) string {
	//lint:ignore SA6005 EqualFold would call σ and ς a case difference; the message must not
	if strings.ToLower(a) == strings.ToLower(b) {
		return "differs only by case from"
	}
	return "is the same name, once case and Unicode normalization are ignored, as"
}

// ValidPackName reports whether s is a pack name: lowercase letters, digits,
// '-' and '_', starting with a letter, at most 64 characters.
func ValidPackName(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validIdent reports whether s is a plain SQL identifier: letters, digits
// and '_', not starting with a digit, at most 64 characters.
func validIdent(s string) bool {
	if s == "" || len(s) > 64 || '0' <= s[0] && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isASCIILetter(c) || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ValidSHA256 reports whether s is 64 lowercase hex digits.
func ValidSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// parseMode parses an octal mode string of 1 to 4 digits, like "0644", in
// 0 to 0777.
func parseMode(s string) (uint32, bool) {
	if s == "" || len(s) > 4 {
		return 0, false
	}
	var v uint32
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v*8 + uint32(c-'0')
	}
	return v, v <= 0o777
}
