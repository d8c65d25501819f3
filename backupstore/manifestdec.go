package backupstore

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf8"
)

// recordReader reads the records of backup.json's "files" list, from just
// after its '[' to its ']', without encoding/json's reflection: a backup
// of 100,000 files has 100,000 of them, and the next backup reads them all
// while it scans the root. A record in the form appendRecord writes (any
// spacing and key order) is parsed here; any other (an escape in a string,
// an unknown key, a null, a number in another form) goes to
// json.Unmarshal, so the result is always encoding/json's.
type recordReader struct {
	r      *bufio.Reader
	buf    []byte
	intern map[string]string // types, modes and backup IDs repeat: one string each
	n      int               // records read
}

// next reads the next record into f and reports whether there was one:
// false at the list's ']'.
func (rr *recordReader) next(f *File) (bool, error) {
	c, err := skipSpace(rr.r)
	if err != nil {
		return false, err
	}
	if c == ']' {
		return false, nil
	}
	if rr.n > 0 {
		if c != ',' {
			return false, fmt.Errorf("record %d: %q where a ',' or ']' belongs", rr.n+1, c)
		}
		if c, err = skipSpace(rr.r); err != nil {
			return false, err
		}
	}
	if c != '{' {
		return false, fmt.Errorf("record %d is not an object", rr.n+1)
	}
	rr.n++
	if err := rr.object(); err != nil {
		return false, fmt.Errorf("record %d: %w", rr.n, err)
	}
	*f = File{}
	if !parseRecord(rr.buf, f) {
		*f = File{}
		if err := json.Unmarshal(rr.buf, f); err != nil {
			return false, fmt.Errorf("record %d: %w", rr.n, err)
		}
	}
	f.Type, f.Mode, f.Backup = rr.one(f.Type), rr.one(f.Mode), rr.one(f.Backup)
	return true, nil
}

func (rr *recordReader) one(s string) string {
	if v, ok := rr.intern[s]; ok {
		return v
	}
	rr.intern[s] = s
	return s
}

// object reads the rest of an object whose '{' was read into rr.buf.
func (rr *recordReader) object() error {
	rr.buf = append(rr.buf[:0], '{')
	depth, inString, escaped := 1, false, false
	for {
		chunk, err := rr.r.ReadSlice('}')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		start := len(rr.buf)
		rr.buf = append(rr.buf, chunk...)
		for _, c := range rr.buf[start:] {
			switch {
			case escaped:
				escaped = false
			case inString:
				switch c {
				case '\\':
					escaped = true
				case '"':
					inString = false
				}
			case c == '"':
				inString = true
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// skipSpace returns the next byte that is not JSON white space.
func skipSpace(r *bufio.Reader) (byte, error) {
	for {
		c, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			return c, nil
		}
	}
}

// parseRecord parses one record, a whole object in b, into f. It reports
// false for anything it does not know, and json.Unmarshal takes over.
func parseRecord(b []byte, f *File) bool {
	p := recordParser{b: b, i: 1}
	p.space()
	if p.peek() == '}' {
		return p.i == len(b)-1
	}
	for {
		key, ok := p.str()
		if !ok {
			return false
		}
		p.space()
		if p.peek() != ':' {
			return false
		}
		p.i++
		p.space()
		switch string(key) {
		case "path":
			ok = p.strTo(&f.Path)
		case "type":
			ok = p.strTo(&f.Type)
		case "mode":
			ok = p.strTo(&f.Mode)
		case "sha256":
			ok = p.strTo(&f.SHA256)
		case "target":
			ok = p.strTo(&f.Target)
		case "backup":
			ok = p.strTo(&f.Backup)
		case "modified":
			start := p.i
			if _, ok = p.str(); ok {
				ok = f.Modified.UnmarshalJSON(b[start:p.i]) == nil
			}
		case "size":
			f.Size, ok = p.int()
		case "ctime_ns":
			f.CTime, ok = p.int()
		case "inode":
			var n int64
			if n, ok = p.int(); ok && n >= 0 {
				f.Inode = uint64(n)
			} else {
				ok = false // a negative or overlong inode: encoding/json decides
			}
		default:
			return false
		}
		if !ok {
			return false
		}
		p.space()
		switch p.peek() {
		case ',':
			p.i++
			p.space()
		case '}':
			return p.i == len(b)-1
		default:
			return false
		}
	}
}

type recordParser struct {
	b []byte
	i int
}

func (p *recordParser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *recordParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\n', '\r', '\t':
			p.i++
		default:
			return
		}
	}
}

// str reads a string without escapes and returns its bytes.
func (p *recordParser) str() ([]byte, bool) {
	if p.peek() != '"' {
		return nil, false
	}
	start := p.i + 1
	end := bytes.IndexByte(p.b[start:], '"')
	if end < 0 {
		return nil, false
	}
	s := p.b[start : start+end]
	ascii := true
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return nil, false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(s) {
		return nil, false // encoding/json replaces invalid UTF-8
	}
	p.i = start + end + 1
	return s, true
}

func (p *recordParser) strTo(dst *string) bool {
	s, ok := p.str()
	if ok {
		*dst = string(s)
	}
	return ok
}

// int reads an integer in JSON's plain form (no fraction, no exponent)
// that fits an int64; others are left to encoding/json.
func (p *recordParser) int() (int64, bool) {
	neg := p.peek() == '-'
	if neg {
		p.i++
	}
	digits := p.i
	var n uint64 // 19 digits fit
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		n = n*10 + uint64(p.b[p.i]-'0')
		p.i++
	}
	if d := p.i - digits; d == 0 || d > 19 || (p.b[digits] == '0' && d > 1) || n > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}
