package manifest

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// fastDecode decodes a manifest that is plainly well formed: one JSON
// object, known lowercase keys each given once, values of the right types,
// no null, integers without fraction or exponent. It is about five times
// faster than encoding/json, which matters to a scan of many zips. On
// anything else it returns ok false and parse decodes the data again with
// encoding/json, which names the problem. FuzzParse checks that both agree.
func fastDecode(data []byte) (m *Manifest, info parsed, ok bool) {
	s := &scanner{data: data}
	m = &Manifest{}
	var seen uint16
	ok = s.object(func(key string) bool {
		bit, known := topKeys[key]
		if !known || seen&bit != 0 {
			return false
		}
		seen |= bit
		switch key {
		case "format":
			return s.int(&m.Format)
		case "pack":
			return s.str(&m.Pack)
		case "version":
			return s.str(&m.Version)
		case "title":
			return s.str(&m.Title)
		case "released":
			return s.str(&m.Released)
		case "whats_new":
			return s.str(&m.WhatsNew)
		case "upgrades_from":
			return s.str(&m.UpgradesFrom)
		case "requires":
			m.Requires = map[string]string{}
			return s.object(func(k string) bool {
				if _, dup := m.Requires[k]; dup {
					return false
				}
				var v string
				ok := s.str(&v)
				m.Requires[k] = v
				return ok
			})
		case "database":
			m.Database = &Database{}
			return s.database(m.Database, &info)
		case "files":
			info.filesGiven = true
			m.Files = []File{}
			return s.array(func() bool {
				m.Files = append(m.Files, File{})
				return s.file(&m.Files[len(m.Files)-1])
			})
		}
		return false
	})
	s.space()
	if !ok || s.i != len(data) {
		return nil, parsed{}, false
	}
	return m, info, true
}

var topKeys = map[string]uint16{
	"format": 1 << 0, "pack": 1 << 1, "version": 1 << 2, "title": 1 << 3, "released": 1 << 4,
	"whats_new": 1 << 5, "upgrades_from": 1 << 6, "requires": 1 << 7, "database": 1 << 8, "files": 1 << 9,
}

func (s *scanner) database(db *Database, info *parsed) bool {
	var seen uint8
	return s.object(func(key string) bool {
		var bit uint8
		switch key {
		case "schema_version":
			bit = 1
		case "tables":
			bit = 2
		case "changes":
			bit = 4
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		switch key {
		case "schema_version":
			info.schemaGiven = true
			return s.int(&db.SchemaVersion)
		case "tables":
			db.Tables = []string{}
			return s.array(func() bool {
				var t string
				ok := s.str(&t)
				db.Tables = append(db.Tables, t)
				return ok
			})
		}
		return s.str(&db.Changes)
	})
}

func (s *scanner) file(f *File) bool {
	var seen uint8
	return s.object(func(key string) bool {
		var bit uint8
		switch key {
		case "path":
			bit = 1
		case "size":
			bit = 2
		case "sha256":
			bit = 4
		case "mode":
			bit = 8
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		switch key {
		case "path":
			return s.str(&f.Path)
		case "size":
			return s.int64(&f.Size)
		case "sha256":
			return s.str(&f.SHA256)
		}
		return s.str(&f.Mode)
	})
}

// scanner reads JSON values from data at i.
type scanner struct {
	data []byte
	i    int
}

func (s *scanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips space and consumes c.
func (s *scanner) next(c byte) bool {
	s.space()
	if s.i < len(s.data) && s.data[s.i] == c {
		s.i++
		return true
	}
	return false
}

// object reads an object, calling member with each key after its colon;
// member reads the value.
func (s *scanner) object(member func(key string) bool) bool {
	if !s.next('{') {
		return false
	}
	if s.next('}') {
		return true
	}
	for {
		var key string
		if !s.str(&key) || !s.next(':') || !member(key) {
			return false
		}
		if s.next(',') {
			continue
		}
		return s.next('}')
	}
}

// array reads an array, calling elem to read each element.
func (s *scanner) array(elem func() bool) bool {
	if !s.next('[') {
		return false
	}
	if s.next(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.next(',') {
			continue
		}
		return s.next(']')
	}
}

// str reads a string. Escapes are decoded by encoding/json; invalid UTF-8,
// which encoding/json would replace, is left to it.
func (s *scanner) str(dst *string) bool {
	if !s.next('"') {
		return false
	}
	start := s.i - 1
	escaped, ascii := false, true
	for {
		if s.i >= len(s.data) {
			return false
		}
		c := s.data[s.i]
		s.i++
		switch {
		case c == '"':
			raw := s.data[start:s.i]
			if escaped {
				return json.Unmarshal(raw, dst) == nil
			}
			if !ascii && !utf8.Valid(raw) {
				return false
			}
			*dst = string(raw[1 : len(raw)-1])
			return true
		case c == '\\':
			escaped = true
			s.i++ // the escaped byte; \uXXXX digits are plain bytes
		case c < 0x20:
			return false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
}

// number reads an integer: -?(0|[1-9][0-9]*), not followed by a fraction
// or an exponent.
func (s *scanner) number() (string, bool) {
	s.space()
	start := s.i
	if s.i < len(s.data) && s.data[s.i] == '-' {
		s.i++
	}
	digits := s.i
	for s.i < len(s.data) && '0' <= s.data[s.i] && s.data[s.i] <= '9' {
		s.i++
	}
	switch {
	case s.i == digits, s.data[digits] == '0' && s.i > digits+1:
		return "", false
	case s.i < len(s.data) && (s.data[s.i] == '.' || s.data[s.i] == 'e' || s.data[s.i] == 'E'):
		return "", false
	}
	return string(s.data[start:s.i]), true
}

func (s *scanner) int(dst *int) bool {
	n, ok := s.number()
	if !ok {
		return false
	}
	v, err := strconv.ParseInt(n, 10, strconv.IntSize)
	*dst = int(v)
	return err == nil
}

func (s *scanner) int64(dst *int64) bool {
	n, ok := s.number()
	if !ok {
		return false
	}
	v, err := strconv.ParseInt(n, 10, 64)
	*dst = v
	return err == nil
}
