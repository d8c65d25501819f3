package manifest

import (
	"fmt"
	"strings"
)

// GooseFile is a goose migration file (VERSION_name.sql) split as goose
// splits it: the Up and Down sections, each a list of chunks of SQL.
type GooseFile struct {
	Up   []GooseChunk
	Down []GooseChunk
	// HasDown is true when the file has a "-- +goose Down" section.
	HasDown bool
	// NoTransaction is set by "-- +goose NO TRANSACTION": the file runs
	// outside any transaction (PostgreSQL's CREATE INDEX CONCURRENTLY).
	NoTransaction bool
}

// GooseChunk is SQL of one section: a block between "-- +goose
// StatementBegin" and "-- +goose StatementEnd", which is one statement
// whatever its semicolons, or the text between such blocks, which holds
// statements ended by semicolons.
type GooseChunk struct {
	Text  string
	Line  int  // 1-based line of the file where the chunk starts
	Whole bool // a StatementBegin/End block: one statement
}

// NoTransactionMarker, on a line of its own in a golang-migrate file
// (VERSION_name.up.sql or .down.sql), makes the file run outside the run's
// transaction, as goose's "-- +goose NO TRANSACTION" does for goose files.
// golang-migrate reads it as a comment.
const NoTransactionMarker = "-- +upkeep NO TRANSACTION"

// HasNoTransactionMarker reports whether text has [NoTransactionMarker] on
// a line of its own.
func HasNoTransactionMarker(text string) bool {
	for line := range strings.Lines(text) {
		if strings.EqualFold(strings.TrimSpace(line), NoTransactionMarker) {
			return true
		}
	}
	return false
}

// GooseMarkerLine returns the 1-based line of the first goose annotation
// ("-- +goose ...") in text, 0 when there is none. Such a line in a
// golang-migrate file is a goose file renamed by mistake: run as it is, its
// Up and Down sections would run together.
func GooseMarkerLine(text string) int {
	n := 0
	for line := range strings.Lines(text) {
		n++
		if isGooseAnnotation(line) {
			return n
		}
	}
	return 0
}

func isGooseAnnotation(line string) bool {
	t := strings.TrimSpace(line)
	rest, ok := strings.CutPrefix(t, "--")
	return ok && strings.HasPrefix(strings.TrimSpace(rest), "+goose")
}

// ParseGoose splits a goose file as goose does: "-- +goose Up" starts the
// Up section (and must come before any SQL), "-- +goose Down" the Down
// section, "-- +goose StatementBegin" / "StatementEnd" enclose a statement
// that holds semicolons, "-- +goose NO TRANSACTION" runs it outside a
// transaction. Annotations are case-sensitive, as goose's. file names it
// in errors.
func ParseGoose(file, text string) (*GooseFile, error) {
	g := &GooseFile{}
	const (
		none = iota
		up
		down
	)
	section := none
	var (
		buf        strings.Builder
		bufLine    int
		inBlock    bool
		blockStart int
	)
	flush := func(whole bool) {
		s := buf.String()
		buf.Reset()
		if strings.TrimSpace(s) == "" {
			return
		}
		if whole {
			s = strings.TrimSpace(s)
			s = strings.TrimSpace(strings.TrimSuffix(s, ";"))
		}
		c := GooseChunk{Text: s, Line: bufLine, Whole: whole}
		if section == up {
			g.Up = append(g.Up, c)
		} else {
			g.Down = append(g.Down, c)
		}
	}
	n := 0
	for line := range strings.Lines(text) {
		n++
		if isGooseAnnotation(line) {
			cmd := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "--")), "+goose"))
			switch cmd {
			case "Up":
				if section != none || inBlock {
					return nil, fmt.Errorf("%s line %d: a second \"-- +goose Up\"", file, n)
				}
				section = up
			case "Down":
				if inBlock {
					return nil, fmt.Errorf("%s line %d: \"-- +goose Down\" inside a StatementBegin block (opened line %d)", file, n, blockStart)
				}
				if section != up {
					return nil, fmt.Errorf("%s line %d: \"-- +goose Down\" before \"-- +goose Up\"", file, n)
				}
				flush(false)
				section, g.HasDown = down, true
			case "StatementBegin":
				if section == none {
					return nil, fmt.Errorf("%s line %d: StatementBegin before \"-- +goose Up\"", file, n)
				}
				if inBlock {
					return nil, fmt.Errorf("%s line %d: StatementBegin inside the block opened line %d", file, n, blockStart)
				}
				flush(false)
				inBlock, blockStart = true, n
			case "StatementEnd":
				if !inBlock {
					return nil, fmt.Errorf("%s line %d: StatementEnd without StatementBegin", file, n)
				}
				flush(true)
				inBlock = false
			case "NO TRANSACTION":
				g.NoTransaction = true
			case "ENVSUB ON", "ENVSUB OFF":
				return nil, fmt.Errorf("%s line %d: %s: upkeep does not substitute environment variables in migrations", file, n, cmd)
			default:
				return nil, fmt.Errorf("%s line %d: unknown goose annotation %q", file, n, strings.TrimSpace(line))
			}
			continue
		}
		if section == none {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "--") {
				return nil, fmt.Errorf("%s line %d: SQL before \"-- +goose Up\"", file, n)
			}
			continue
		}
		if buf.Len() == 0 {
			bufLine = n
		}
		buf.WriteString(line)
	}
	if inBlock {
		return nil, fmt.Errorf("%s: the StatementBegin of line %d has no StatementEnd", file, blockStart)
	}
	if section == none {
		return nil, fmt.Errorf("%s: no \"-- +goose Up\" annotation: not a goose migration", file)
	}
	flush(false)
	return g, nil
}
