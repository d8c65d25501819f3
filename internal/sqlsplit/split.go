// Package sqlsplit splits a file of SQL statements into single statements,
// so that every database driver can run them one at a time (the MySQL driver
// without multiStatements, and upkeep's progress tracking, both need that).
//
// It understands, per flavor, what may hide a semicolon: quoted strings and
// identifiers, line and block comments, PostgreSQL dollar quoting and nested
// block comments, MySQL backslash escapes and the client's DELIMITER
// command, and the BEGIN ... END body of a SQLite trigger.
package sqlsplit

import (
	"fmt"
	"strings"
)

// Flavor is the SQL dialect whose lexical rules apply.
type Flavor int

// The flavors upkeep's backends speak.
const (
	SQLite Flavor = iota
	Postgres
	MySQL
)

// Statement is one statement of a file.
type Statement struct {
	Text string // without the terminating delimiter, trimmed; leading comments included
	Line int    // 1-based line of the file where the statement's code starts
	// First is the first line of the statement's code (after any leading
	// comments), trimmed, for messages.
	First string
}

// FirstLine returns the first line of the statement's code, for messages.
func (s Statement) FirstLine() string {
	if s.First != "" {
		return s.First
	}
	for _, l := range strings.Split(s.Text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// Split splits src into statements. Statements that hold only comments and
// white space are dropped. An unterminated string, quoted identifier, block
// comment or dollar-quoted body is an error naming the line where it starts.
func Split(src string, f Flavor) ([]Statement, error) {
	var (
		out       []Statement
		start     = 0 // byte offset where the current statement starts
		line      = 1
		delim     = ";"
		hasCode   = false // the current statement holds more than comments
		startLine = 1
		codeStart = 0 // byte offset where the current statement's code starts
		// SQLite triggers: words seen at the start of the statement and
		// BEGIN/END depth inside a trigger body.
		words     []string
		depth     = 0
		inTrigger = false
	)
	emit := func(end int) {
		if text := strings.TrimSpace(src[start:end]); hasCode && text != "" {
			first := src[codeStart:end]
			if j := strings.IndexByte(first, '\n'); j >= 0 {
				first = first[:j]
			}
			out = append(out, Statement{Text: text, Line: startLine, First: strings.TrimSpace(first)})
		}
		hasCode = false
		words = words[:0]
		depth = 0
		inTrigger = false
	}
	i := 0
	markCode := func() {
		if !hasCode {
			hasCode = true
			startLine = line
			codeStart = i
		}
	}
	n := len(src)
	for i < n {
		c := src[i]
		// MySQL client DELIMITER command, at the start of a line.
		if f == MySQL && !hasCode && atLineStart(src, i) && hasPrefixFold(src[i:], "delimiter ") {
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = n - i
			}
			d := strings.TrimSpace(src[i+len("delimiter ") : i+end])
			if d == "" {
				return nil, fmt.Errorf("line %d: DELIMITER without a delimiter", line)
			}
			delim = d
			i += end
			start = i
			continue
		}
		switch {
		case c == '\n':
			line++
			i++
		case c == '-' && i+1 < n && src[i+1] == '-' && (f != MySQL || i+2 >= n || isSpace(src[i+2])):
			i = skipLine(src, i)
		case c == '#' && f == MySQL:
			i = skipLine(src, i)
		case c == '/' && i+1 < n && src[i+1] == '*':
			l0 := line
			j, nl, ok := skipBlockComment(src, i, f == Postgres)
			if !ok {
				return nil, fmt.Errorf("line %d: unterminated block comment", l0)
			}
			// MySQL executable comments /*! ... */ are code.
			if f == MySQL && i+2 < n && src[i+2] == '!' {
				markCode()
			}
			line += nl
			i = j
		case c == '\'' || c == '"' || (c == '`' && f != Postgres) || (c == '[' && f == SQLite):
			markCode()
			l0 := line
			closing := c
			if c == '[' {
				closing = ']'
			}
			backslash := f == MySQL && c != '`'
			if f == Postgres && c == '\'' && i > 0 && (src[i-1] == 'E' || src[i-1] == 'e') && (i < 2 || !isIdent(src[i-2])) {
				backslash = true
			}
			j, nl, ok := skipQuoted(src, i+1, closing, backslash)
			if !ok {
				return nil, fmt.Errorf("line %d: unterminated quoted text starting with %c", l0, c)
			}
			line += nl
			i = j
		case c == '$' && f == Postgres && (i == 0 || !isIdent(src[i-1])):
			tag, ok := dollarTag(src[i:])
			if !ok {
				markCode()
				i++
				continue
			}
			markCode()
			l0 := line
			end := strings.Index(src[i+len(tag):], tag)
			if end < 0 {
				return nil, fmt.Errorf("line %d: unterminated dollar-quoted text %s", l0, tag)
			}
			body := src[i : i+len(tag)+end+len(tag)]
			line += strings.Count(body, "\n")
			i += len(body)
		case strings.HasPrefix(src[i:], delim) && (depth == 0 || delim != ";"):
			emit(i)
			i += len(delim)
			start = i
		case isIdentStart(c):
			markCode()
			j := i
			for j < n && isIdent(src[j]) {
				j++
			}
			if f == SQLite {
				w := strings.ToUpper(src[i:j])
				if len(words) < 4 {
					words = append(words, w)
					if w == "TRIGGER" && len(words) >= 2 && words[0] == "CREATE" {
						inTrigger = true
					}
				}
				if inTrigger {
					switch w {
					case "BEGIN", "CASE":
						depth++
					case "END":
						if depth > 0 {
							depth--
						}
					}
				}
			}
			i = j
		default:
			if !isSpace(c) {
				markCode()
			}
			i++
		}
	}
	emit(n)
	return out, nil
}

func atLineStart(s string, i int) bool {
	for j := i - 1; j >= 0; j-- {
		switch s[j] {
		case '\n':
			return true
		case ' ', '\t', '\r':
		default:
			return false
		}
	}
	return true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func skipLine(s string, i int) int {
	j := strings.IndexByte(s[i:], '\n')
	if j < 0 {
		return len(s)
	}
	return i + j // the newline itself is counted by the caller
}

// skipBlockComment returns the offset after the comment starting at i, the
// newlines in it, and false when it does not end.
func skipBlockComment(s string, i int, nested bool) (int, int, bool) {
	depth := 0
	nl := 0
	for j := i; j < len(s); j++ {
		switch {
		case s[j] == '\n':
			nl++
		case s[j] == '/' && j+1 < len(s) && s[j+1] == '*':
			if depth == 0 || nested {
				depth++
			}
			j++
		case s[j] == '*' && j+1 < len(s) && s[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1, nl, true
			}
		}
	}
	return len(s), nl, false
}

// skipQuoted returns the offset after the closing quote of text that starts
// at i (after the opening quote). A doubled closing quote is part of the
// text; with backslash, so is a backslash-escaped character.
func skipQuoted(s string, i int, q byte, backslash bool) (int, int, bool) {
	nl := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '\n':
			nl++
		case '\\':
			if backslash && j+1 < len(s) {
				if s[j+1] == '\n' {
					nl++
				}
				j++
			}
		case q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1, nl, true
		}
	}
	return len(s), nl, false
}

// dollarTag returns the tag ($$ or $name$) that s starts with.
func dollarTag(s string) (string, bool) {
	for j := 1; j < len(s); j++ {
		c := s[j]
		if c == '$' {
			return s[:j+1], true
		}
		if !(isIdentStart(c) || (j > 1 && c >= '0' && c <= '9')) {
			return "", false
		}
	}
	return "", false
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isIdent(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') || c == '$' }
