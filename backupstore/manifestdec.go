package backupstore

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/upkeep/upkeep/internal/fastjson"
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
	s := fastjson.Scanner{Data: b}
	return s.Object(func(key []byte) bool {
		switch string(key) {
		case "path":
			return plain(&s, &f.Path)
		case "type":
			return plain(&s, &f.Type)
		case "mode":
			return plain(&s, &f.Mode)
		case "sha256":
			return plain(&s, &f.SHA256)
		case "target":
			return plain(&s, &f.Target)
		case "backup":
			return plain(&s, &f.Backup)
		case "modified":
			s.Space()
			start := s.I
			_, ok := s.Bytes()
			return ok && f.Modified.UnmarshalJSON(b[start:s.I]) == nil
		case "size":
			var ok bool
			f.Size, ok = s.Int64()
			return ok
		case "ctime_ns":
			var ok bool
			f.CTime, ok = s.Int64()
			return ok
		case "inode":
			n, ok := s.Int64()
			f.Inode = uint64(n)
			return ok && n >= 0 // a negative or overlong inode: encoding/json decides
		}
		return false
	}) && s.End()
}

// plain reads a string written without escapes into dst.
func plain(s *fastjson.Scanner, dst *string) bool {
	v, ok := s.Bytes()
	*dst = string(v)
	return ok
}
