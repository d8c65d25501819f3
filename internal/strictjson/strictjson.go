// Package strictjson holds what upkeep's strict JSON readers share (the
// manifest of a zip, a feed's index.json): naming a value in a message,
// objects with a closed set of keys, and keys that appear twice, which
// JSON decoders disagree on.
package strictjson

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Describe names the kind and, for a scalar, the value of a JSON value,
// for messages like "got string "x", want an integer".
func Describe(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return "string " + Quote(s)
		}
		return "a string"
	case 't', 'f':
		return "boolean " + string(raw)
	case 'n':
		return "null"
	}
	if len(raw) > 40 {
		return "number " + string(raw[:40]) + "..."
	}
	return "number " + string(raw)
}

// Quote quotes s for a message, cut after 100 bytes (at a character's
// start) and marked "..." when longer.
func Quote(s string) string {
	const max = 100
	if len(s) > max {
		cut := max
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}

// Present returns fields[key], treating null as absent.
func Present(fields map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	raw, ok := fields[key]
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return nil, false
	}
	return raw, true
}

// Object decodes raw as a JSON object. With allowed keys given, it also
// returns, sorted, the keys that are not among them. ok is false when raw
// is not an object.
func Object(raw json.RawMessage, allowed ...string) (fields map[string]json.RawMessage, unknown []string, ok bool) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' || json.Unmarshal(raw, &fields) != nil {
		return nil, nil, false
	}
	if len(allowed) > 0 {
		for k := range fields {
			if !slices.Contains(allowed, k) {
				unknown = append(unknown, k)
			}
		}
		slices.Sort(unknown)
	}
	return fields, unknown, true
}

// ScanKeys walks the keys of data, a valid JSON value, in one pass
// without decoding it. It calls dup for each key that appears twice in one
// object, and odd (when not nil) for each key that is not plain lowercase
// ASCII letters, digits and '_' (encoding/json matches such keys to a
// struct's fields without regard to case). path names the object that
// holds the key, like "" (the top), "database" or "updates[2]".
func ScanKeys(data []byte, dup, odd func(path, key string)) {
	var stack []keyFrame
	var keys [][]byte // the keys of the objects on the stack, in order
	expectKey := false
	i := 0
	for i < len(data) {
		c := data[i]
		switch c {
		case '{':
			stack = append(stack, keyFrame{object: true, first: len(keys)})
			expectKey = true
			i++
		case '[':
			stack = append(stack, keyFrame{first: len(keys)})
			i++
		case '}', ']':
			keys = keys[:stack[len(stack)-1].first]
			stack = stack[:len(stack)-1]
			i++
		case ',':
			if f := &stack[len(stack)-1]; f.object {
				expectKey = true
			} else {
				f.index++
			}
			i++
		case '"':
			j := i + 1
			for data[j] != '"' {
				if data[j] == '\\' {
					j++
				}
				j++
			}
			if expectKey {
				expectKey = false
				f := &stack[len(stack)-1]
				key := data[i+1 : j]
				plain := plainKey(key)
				if !plain && odd != nil {
					odd(keyPath(stack, keys), unescapeKey(key))
				}
				for _, k := range keys[f.first:] {
					if bytes.Equal(k, key) || (!plain || !plainKey(k)) && unescapeKey(k) == unescapeKey(key) {
						dup(keyPath(stack, keys), unescapeKey(key))
						break
					}
				}
				keys = append(keys, key)
			}
			i = j + 1
		default:
			i++
		}
	}
}

// keyFrame is an object or array being walked by ScanKeys.
type keyFrame struct {
	object bool
	first  int // index of its first key in the keys of ScanKeys
	index  int // of the current element, in an array
}

// keyPath is the path, like database.tables or files[3], of the innermost
// container of stack; the current key of an object is the last of its keys.
func keyPath(stack []keyFrame, keys [][]byte) string {
	var b strings.Builder
	for i := 0; i < len(stack)-1; i++ {
		if stack[i].object {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(unescapeKey(keys[stack[i+1].first-1]))
		} else {
			b.WriteString("[" + strconv.Itoa(stack[i].index) + "]")
		}
	}
	return b.String()
}

// plainKey reports whether a raw key is lowercase ASCII letters, digits
// and '_' (so needs no unescaping and cannot match by case folding).
func plainKey(k []byte) bool {
	for _, c := range k {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func unescapeKey(k []byte) string {
	var s string
	if json.Unmarshal(append(append([]byte{'"'}, k...), '"'), &s) != nil {
		return string(k)
	}
	return s
}
