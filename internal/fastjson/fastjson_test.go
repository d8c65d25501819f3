package fastjson

import (
	"encoding/json"
	"testing"
)

// TestValuesAgreeWithEncodingJSON: a value Scanner takes is the value
// encoding/json reads; what it leaves, encoding/json reads otherwise or
// refuses.
func TestValuesAgreeWithEncodingJSON(t *testing.T) {
	strs := []string{`"a"`, ` "é/ü"`, `""`, `"q\"uote"`, `"\u00e9\n"`, `"bad` + "\xff" + `"`, `"ctl` + "\x01" + `"`, `"open`, `null`, `1`}
	for _, in := range strs {
		var want string
		wantErr := json.Unmarshal([]byte(in), &want)
		var got string
		s := Scanner{Data: []byte(in)}
		if s.String(&got) {
			if wantErr != nil || got != want || !s.End() {
				t.Errorf("String(%q) = %q, encoding/json %q (%v)", in, got, want, wantErr)
			}
		}
		s = Scanner{Data: []byte(in)}
		if b, ok := s.Bytes(); ok && (wantErr != nil || string(b) != want || !s.End()) {
			t.Errorf("Bytes(%q) = %q, encoding/json %q (%v)", in, b, want, wantErr)
		}
	}
	for _, in := range []string{`"plain"`, `"é"`} {
		if s := (Scanner{Data: []byte(in)}); !s.String(new(string)) {
			t.Errorf("String left the plain %s", in)
		}
	}
	ints := []string{`0`, `-0`, `12`, `-9223372036854775807`, `9223372036854775807`, `9223372036854775808`, `18446744073709551615`,
		`007`, `1.0`, `1e3`, `-`, `--1`, `"1"`, `12345678901234567890123`}
	for _, in := range ints {
		var want int64
		wantErr := json.Unmarshal([]byte(in), &want)
		s := Scanner{Data: []byte(in)}
		if n, ok := s.Int64(); ok && (wantErr != nil || n != want || !s.End()) {
			t.Errorf("Int64(%s) = %d, encoding/json %d (%v)", in, n, want, wantErr)
		}
	}
	for _, in := range []string{`0`, `-12`, `9223372036854775807`} {
		if s := (Scanner{Data: []byte(in)}); !func() bool { _, ok := s.Int64(); return ok }() {
			t.Errorf("Int64 left the plain %s", in)
		}
	}
	var keys []string
	s := Scanner{Data: []byte(` { "a" : [1, 2] , "b":{} } `)}
	ok := s.Object(func(k []byte) bool {
		keys = append(keys, string(k))
		if string(k) == "a" {
			return s.Array(func() bool { _, ok := s.Int64(); return ok })
		}
		return s.Object(func([]byte) bool { return false })
	})
	if !ok || !s.End() || len(keys) != 2 || keys[0] != "a" || keys[1] != "b" {
		t.Errorf("Object: %v, keys %v", ok, keys)
	}
	for _, in := range []string{`{"a":1,}`, `{"a" 1}`, `[1,]`, `{`, `{"\u0061":1}`} {
		s := Scanner{Data: []byte(in)}
		member := func([]byte) bool { _, ok := s.Int64(); return ok }
		if in[0] == '[' {
			if s.Array(func() bool { _, ok := s.Int64(); return ok }) {
				t.Errorf("Array took %s", in)
			}
		} else if s.Object(member) {
			t.Errorf("Object took %s", in)
		}
	}
}
