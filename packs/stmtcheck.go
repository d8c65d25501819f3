package packs

import (
	"fmt"
	"strings"

	"github.com/upkeep/upkeep/internal/sqlsplit"
)

// What a pack's migration may not do, checked on every statement of every
// file before any of them runs:
//
//   - control the transaction: the run is one transaction where DDL is
//     transactional, and upkeep's bookkeeping is part of it. BEGIN, START
//     TRANSACTION, COMMIT and END, in any spelling (with WORK, TRANSACTION,
//     a name, modes, AND [NO] CHAIN), only ask for what the run already does
//     and are skipped (on MySQL, where each statement commits on its own,
//     they run as written); everything that ends, rolls back, splits or hands
//     over a transaction is refused: ROLLBACK (but ROLLBACK TO a savepoint)
//     and ABORT in every form, PREPARE TRANSACTION, COMMIT/ROLLBACK
//     PREPARED, XA, and MySQL's SET autocommit / completion_type. A file may
//     use savepoints of its own: it runs inside one of upkeep's, and one that
//     releases or rolls back past it is refused after the file;
//   - reach outside the database: SQLite's ATTACH, DETACH and VACUUM INTO;
//   - name upkeep's own tables (upkeep_*), anywhere in the statement, even
//     in a string (SQLite takes a string as a table name, and PostgreSQL
//     runs strings as SQL in DO blocks).
//
// The statement check gives the message; the backends add what they can
// enforce below it (SQLite's authorizer, see guard.go) and a check after
// each file that the run's transaction is still the one upkeep opened.

// tokKind is the kind of a lexical token of a statement.
type tokKind int

const (
	tokWord   tokKind = iota // keyword or bare identifier, upper-cased in up
	tokQuoted                // quoted identifier: "x", `x`, [x]
	tokString                // string literal, dollar-quoted body included
	tokOther                 // number, operator, punctuation
)

type token struct {
	kind tokKind
	text string // the identifier or string content, unquoted
	up   string // for words: the keyword it is (see keywords), else text
}

// keywords are the words the checks look for, as up holds them: a word
// that is one of them in any case is that keyword upper-cased. Other words
// keep their spelling in up, so that lexing a statement does not copy
// every identifier.
var keywords = []string{
	"ABORT", "ATTACH", "AUTOCOMMIT", "BEGIN", "COMMIT", "COMPLETION_TYPE",
	"CREATE", "DETACH", "END", "EVENT", "FUNCTION", "INTO", "NOT",
	"PREPARE", "PREPARED", "PROCEDURE", "RELEASE", "ROLLBACK", "SET",
	"START", "TO", "TRANSACTION", "TRIGGER", "VACUUM", "WORK", "XA",
}

// keyword returns the keyword that w is, upper-cased, or w.
func keyword(w string) string {
	for _, k := range keywords {
		if len(k) == len(w) && strings.EqualFold(k, w) {
			return k
		}
	}
	return w
}

// lex splits one statement into tokens, dropping white space and comments,
// and appends them to out. MySQL's executable comments (/*! ... */, /*M!
// ... */) are code to MySQL, so their content is lexed as code.
// Unterminated quotes end at the end of the text: sqlsplit has refused
// those already.
func lex(out []token, src string, f sqlsplit.Flavor) []token {
	execComment := 0 // open MySQL executable comments
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && strings.HasPrefix(src[i:], "--"), c == '#' && f == sqlsplit.MySQL:
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '*' && execComment > 0 && strings.HasPrefix(src[i:], "*/"):
			execComment--
			i += 2
		case c == '/' && strings.HasPrefix(src[i:], "/*"):
			if f == sqlsplit.MySQL && (strings.HasPrefix(src[i:], "/*!") || strings.HasPrefix(src[i:], "/*M!")) {
				i += strings.Index(src[i:], "!") + 1
				for i < len(src) && src[i] >= '0' && src[i] <= '9' {
					i++
				}
				execComment++
				continue
			}
			depth := 0
			for i < len(src) {
				if strings.HasPrefix(src[i:], "/*") {
					depth++
					i += 2
					if f != sqlsplit.Postgres && depth > 1 {
						depth = 1 // only PostgreSQL nests block comments
					}
					continue
				}
				if strings.HasPrefix(src[i:], "*/") {
					depth--
					i += 2
					if depth == 0 {
						break
					}
					continue
				}
				i++
			}
		case c == '\'' || (c == '"' && f == sqlsplit.MySQL):
			s, n := quoted(src[i:], c, f == sqlsplit.MySQL)
			out = append(out, token{kind: tokString, text: s})
			i += n
		case c == '"' || c == '`':
			s, n := quoted(src[i:], c, false)
			out = append(out, token{kind: tokQuoted, text: s})
			i += n
		case c == '[' && f == sqlsplit.SQLite:
			j := strings.IndexByte(src[i+1:], ']')
			if j < 0 {
				j = len(src) - i - 1
			}
			out = append(out, token{kind: tokQuoted, text: src[i+1 : i+1+j]})
			i += j + 2
		case c == '$' && f == sqlsplit.Postgres && dollarTag(src[i:]) != "":
			tag := dollarTag(src[i:])
			body := src[i+len(tag):]
			end := strings.Index(body, tag)
			if end < 0 {
				end = len(body)
				i = len(src)
			} else {
				i += len(tag) + end + len(tag)
			}
			out = append(out, token{kind: tokString, text: body[:end]})
		case isWordStart(c):
			j := i + 1
			for j < len(src) && isWordPart(src[j]) {
				j++
			}
			w := src[i:j]
			out = append(out, token{kind: tokWord, text: w, up: keyword(w)})
			i = j
		default:
			out = append(out, token{kind: tokOther, text: src[i : i+1]})
			i++
		}
	}
	return out
}

func isWordStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isWordPart(c byte) bool { return isWordStart(c) || c >= '0' && c <= '9' || c == '$' }

// quoted reads the quoted text at the start of s (opened by q, which a
// doubled q escapes; with backslash, a backslash escapes the next byte too)
// and returns its content and length.
func quoted(s string, q byte, backslash bool) (string, int) {
	var b strings.Builder
	i := 1
	for i < len(s) {
		c := s[i]
		switch {
		case backslash && c == '\\' && i+1 < len(s):
			b.WriteByte(s[i+1])
			i += 2
		case c == q && i+1 < len(s) && s[i+1] == q:
			b.WriteByte(q)
			i += 2
		case c == q:
			return b.String(), i + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), len(s)
}

// dollarTag returns the PostgreSQL dollar-quote tag ($$ or $name$) at the
// start of s, or "".
func dollarTag(s string) string {
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == '$' {
			return s[:i+1]
		}
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 || i > 1 && c >= '0' && c <= '9') {
			return ""
		}
	}
	return ""
}

// stmtRule is what the runner does with one statement.
type stmtRule int

const (
	runIt  stmtRule = iota
	skipIt          // transaction control that the run already does
)

// checkStatement decides whether statement s of a migration file runs, is
// skipped (BEGIN/COMMIT that only ask for the run's own transaction), or is
// refused (a *RefusedError without Pack and File, which the caller adds).
func checkStatement(f sqlsplit.Flavor, s sqlsplit.Statement) (stmtRule, error) {
	return checkTokens(f, s, lex(nil, s.Text, f))
}

// checkTokens is checkStatement on the tokens of s.
func checkTokens(f sqlsplit.Flavor, s sqlsplit.Statement, toks []token) (stmtRule, error) {
	refuse := func(why string) (stmtRule, error) {
		return runIt, &RefusedError{Line: s.Line, Statement: s.FirstLine(), Reason: why}
	}
	for _, t := range toks {
		if name := upkeepName(t); name != "" {
			return refuse(fmt.Sprintf("it names %s, one of upkeep's own tables; a migration may only touch its pack's tables", name))
		}
	}
	word := func(i int) string {
		n := 0
		for _, t := range toks {
			if t.kind == tokOther && (t.text == ";" || t.text == "(" || t.text == ",") {
				continue
			}
			if n == i {
				if t.kind == tokWord {
					return t.up
				}
				return ""
			}
			n++
		}
		return ""
	}
	const ends = "a migration cannot end, roll back or split the transaction upkeep runs it in"
	// Where DDL is transactional the run is one transaction, which is what
	// a file that wraps itself in BEGIN ... COMMIT asks for: skipped. On
	// MySQL each statement commits on its own, and a file's BEGIN ... COMMIT
	// makes its DML one transaction, as written: run (the check after the
	// file makes sure it did not leave one open).
	wrap := skipIt
	if f == sqlsplit.MySQL {
		wrap = runIt
	}
	switch word(0) {
	case "BEGIN":
		if f == sqlsplit.MySQL && word(1) == "NOT" {
			// MariaDB's compound statement BEGIN NOT ATOMIC ... END: a
			// block of code, checked for transaction control inside.
			return checkBody(toks, refuse)
		}
		return wrap, nil
	case "START":
		if word(1) == "TRANSACTION" {
			return wrap, nil
		}
	case "COMMIT", "END":
		if word(1) == "PREPARED" {
			return refuse(ends)
		}
		for _, t := range toks {
			if t.kind == tokWord && t.up == "RELEASE" {
				return refuse("COMMIT ... RELEASE ends the session that holds upkeep's migration lock")
			}
		}
		return wrap, nil
	case "ROLLBACK":
		if word(1) == "TO" || (word(1) == "TRANSACTION" || word(1) == "WORK") && word(2) == "TO" {
			// Back to a savepoint of the file's own: the transaction
			// goes on. Each file runs inside a savepoint of upkeep's, so
			// one that reaches past it is caught after the file.
			return runIt, nil
		}
		return refuse(ends)
	case "ABORT", "XA":
		return refuse(ends)
	case "PREPARE":
		if word(1) == "TRANSACTION" {
			return refuse(ends)
		}
	case "SET":
		if f == sqlsplit.MySQL {
			for _, t := range toks {
				if t.kind == tokWord && (t.up == "AUTOCOMMIT" || t.up == "COMPLETION_TYPE") {
					return refuse(ends)
				}
			}
		}
	case "ATTACH", "DETACH":
		if f == sqlsplit.SQLite {
			what := "attaches a database file"
			if word(0) == "DETACH" {
				what = "detaches a database"
			}
			return refuse(what + "; a migration may not reach outside the application's database")
		}
	case "VACUUM":
		if f == sqlsplit.SQLite {
			for _, t := range toks {
				if t.kind == tokWord && t.up == "INTO" {
					return refuse("VACUUM INTO writes a database file; a migration may not write outside the application's database")
				}
			}
		}
	case "CREATE":
		if f == sqlsplit.MySQL {
			for _, t := range toks {
				if t.kind == tokWord && (t.up == "PROCEDURE" || t.up == "FUNCTION" || t.up == "TRIGGER" || t.up == "EVENT") {
					return checkBody(toks, refuse)
				}
			}
		}
	}
	return runIt, nil
}

// checkBody refuses a MySQL block of code (a compound statement, a stored
// routine, trigger or event) that controls transactions: called later,
// inside a run or not, it would commit or roll back what it should not.
func checkBody(toks []token, refuse func(string) (stmtRule, error)) (stmtRule, error) {
	for i, t := range toks {
		if t.kind != tokWord {
			continue
		}
		next := ""
		if i+1 < len(toks) && toks[i+1].kind == tokWord {
			next = toks[i+1].up
		}
		switch {
		case t.up == "COMMIT", t.up == "ROLLBACK" && next != "TO", t.up == "XA",
			t.up == "START" && next == "TRANSACTION", t.up == "AUTOCOMMIT", t.up == "COMPLETION_TYPE":
			return refuse("its body controls transactions (" + t.up + "); a migration cannot end, roll back or split the transaction upkeep runs it in")
		}
	}
	return runIt, nil
}

// upkeepName returns the upkeep_* name that token t holds, or "": a word
// or quoted identifier that is one, or such a name inside a string.
func upkeepName(t token) string {
	switch t.kind {
	case tokWord, tokQuoted:
		if len(t.text) >= 7 && strings.EqualFold(t.text[:7], "upkeep_") {
			return t.text
		}
	case tokString:
		lower := strings.ToLower(t.text)
		for off := 0; ; {
			i := strings.Index(lower[off:], "upkeep_")
			if i < 0 {
				return ""
			}
			i += off
			if i == 0 || !isWordPart(lower[i-1]) {
				j := i + 7
				for j < len(lower) && isWordPart(lower[j]) {
					j++
				}
				return t.text[i:j]
			}
			off = i + 7
		}
	}
	return ""
}

// checkStatements checks every statement of a migration file of pack
// (split by [checkMigration]) before any of them runs, and returns the
// statements with those to skip marked.
func checkStatements(f sqlsplit.Flavor, pack, file string, stmts []sqlsplit.Statement) ([]sqlsplit.Statement, []bool, error) {
	skip := make([]bool, len(stmts))
	var toks []token // one buffer for every statement's tokens
	for i, s := range stmts {
		toks = lex(toks[:0], s.Text, f)
		rule, err := checkTokens(f, s, toks)
		if err != nil {
			re := err.(*RefusedError)
			re.Pack, re.File = pack, file
			return nil, nil, re
		}
		skip[i] = rule == skipIt
	}
	return stmts, skip, nil
}
