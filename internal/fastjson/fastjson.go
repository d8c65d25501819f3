// Package fastjson reads JSON in its plain form, fast and without
// reflection: the manifests of a scan of many zips, and the records of a
// backup.json of 100,000 files. Each method reads one value and reports
// false for anything outside the plain form (a null, a number with a
// fraction or exponent, invalid UTF-8, and so on); the caller then decodes
// the whole document with encoding/json, which takes the other forms or
// names the problem, so that the result is always encoding/json's.
package fastjson

import (
	"bytes"
	"encoding/json"
	"math"
	"unicode/utf8"
)

// Scanner reads JSON values from Data, at I.
type Scanner struct {
	Data []byte
	I    int
}

// Space skips JSON white space.
func (s *Scanner) Space() {
	for s.I < len(s.Data) {
		switch s.Data[s.I] {
		case ' ', '\t', '\n', '\r':
			s.I++
		default:
			return
		}
	}
}

// Next skips white space and consumes c.
func (s *Scanner) Next(c byte) bool {
	s.Space()
	if s.I < len(s.Data) && s.Data[s.I] == c {
		s.I++
		return true
	}
	return false
}

// End skips white space and reports whether the data ends there.
func (s *Scanner) End() bool {
	s.Space()
	return s.I == len(s.Data)
}

// Object reads an object, calling member with each key (written without
// escapes) after its colon; member reads the value.
func (s *Scanner) Object(member func(key []byte) bool) bool {
	if !s.Next('{') {
		return false
	}
	if s.Next('}') {
		return true
	}
	for {
		key, ok := s.Bytes()
		if !ok || !s.Next(':') || !member(key) {
			return false
		}
		if s.Next(',') {
			continue
		}
		return s.Next('}')
	}
}

// Array reads an array, calling elem to read each element.
func (s *Scanner) Array(elem func() bool) bool {
	if !s.Next('[') {
		return false
	}
	if s.Next(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.Next(',') {
			continue
		}
		return s.Next(']')
	}
}

// Bytes reads a string written without escapes and returns its content,
// a slice of Data.
func (s *Scanner) Bytes() ([]byte, bool) {
	s.Space()
	if s.I >= len(s.Data) || s.Data[s.I] != '"' {
		return nil, false
	}
	start := s.I + 1
	end := bytes.IndexByte(s.Data[start:], '"')
	if end < 0 {
		return nil, false
	}
	v := s.Data[start : start+end]
	ascii := true
	for _, c := range v {
		if c < 0x20 || c == '\\' {
			return nil, false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(v) {
		return nil, false // encoding/json replaces invalid UTF-8
	}
	s.I = start + end + 1
	return v, true
}

// String reads a string into dst; escapes are decoded by encoding/json.
func (s *Scanner) String(dst *string) bool {
	raw, escaped, ok := s.raw()
	switch {
	case !ok:
		return false
	case escaped:
		return json.Unmarshal(raw, dst) == nil
	}
	*dst = string(raw[1 : len(raw)-1])
	return true
}

// raw reads a string and returns it with its quotes, and whether it holds
// an escape. Invalid UTF-8, which encoding/json would replace, and control
// characters are refused.
func (s *Scanner) raw() (raw []byte, escaped, ok bool) {
	if !s.Next('"') {
		return nil, false, false
	}
	start, ascii := s.I-1, true
	for s.I < len(s.Data) {
		c := s.Data[s.I]
		s.I++
		switch {
		case c == '"':
			raw = s.Data[start:s.I]
			if !ascii && !utf8.Valid(raw) {
				return nil, false, false
			}
			return raw, escaped, true
		case c == '\\':
			escaped = true
			s.I++ // the escaped byte; \uXXXX digits are plain bytes
		case c < 0x20:
			return nil, false, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false, false
}

// Int64 reads an integer, -?(0|[1-9][0-9]*) not followed by a fraction or
// an exponent, that fits an int64.
func (s *Scanner) Int64() (int64, bool) {
	s.Space()
	neg := s.I < len(s.Data) && s.Data[s.I] == '-'
	if neg {
		s.I++
	}
	digits := s.I
	var n uint64 // 19 digits fit
	for s.I < len(s.Data) && '0' <= s.Data[s.I] && s.Data[s.I] <= '9' {
		n = n*10 + uint64(s.Data[s.I]-'0')
		s.I++
	}
	d := s.I - digits
	switch {
	case d == 0, d > 19, s.Data[digits] == '0' && d > 1, n > math.MaxInt64:
		return 0, false
	case s.I < len(s.Data) && (s.Data[s.I] == '.' || s.Data[s.I] == 'e' || s.Data[s.I] == 'E'):
		return 0, false
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}
