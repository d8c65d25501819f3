// Package textsafe makes text from update zips (file names, titles, what's
// new) safe to print on a terminal: a name or a title may hold newlines
// that forge report lines, escape sequences that drive the terminal, or
// bidirectional overrides that show text in another order than it is.
// Text output goes through it; JSON output keeps the exact text (its
// encoder escapes control characters).
package textsafe

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// unsafe reports whether r must not reach a terminal as it is: C0 and C1
// control characters and DEL, and the bidirectional marks, embeddings,
// overrides and isolates.
func unsafe(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f,
		r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Clean returns s with every unsafe character written as a Go escape
// (\n, \x1b, \u202e), so that nothing is lost and nothing acts. Bytes
// that are not UTF-8 (a lone 0x9b is CSI to some terminals) become U+FFFD.
func Clean(s string) string {
	if strings.IndexFunc(s, unsafe) < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if !unsafe(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRuneToASCII(r) // '\n', '\x1b', '\u202e'
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

// Name returns a file name as the text output shows it: as it is when it
// holds only printable characters other than quotes and backslashes, else
// quoted, with the unsafe ones escaped.
func Name(name string) string {
	if name != "" && strings.IndexFunc(name, func(r rune) bool {
		return unsafe(r) || r == '"' || r == '\\' || !unicode.IsPrint(r) && r != ' '
	}) < 0 && strings.TrimSpace(name) == name {
		return name
	}
	return fmt.Sprintf("%q", name)
}
