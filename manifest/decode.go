package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
)

// parsed says what parse saw beyond the values: whether files and
// database.schema_version were present.
type parsed struct {
	filesGiven  bool
	schemaGiven bool
}

// parse decodes data field by field, so that it can name the field of each
// type error and report them all, then validates the result.
func parse(data []byte, md mode) (*Manifest, parsed, problems) {
	d := &decoder{skip: map[string]bool{}}
	var info parsed
	dec := json.NewDecoder(bytes.NewReader(data))
	var top json.RawMessage
	if err := dec.Decode(&top); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.Is(err, io.EOF):
			d.bad("empty, want a JSON object")
		case errors.As(err, &se):
			line, col := position(data, se.Offset-1) // Offset is past the bad byte
			d.bad("not valid JSON: %v (line %d, column %d)", se, line, col)
		case errors.Is(err, io.ErrUnexpectedEOF):
			d.bad("not valid JSON: unexpected end of data")
		default:
			d.bad("not valid JSON: %v", err)
		}
		return nil, info, d.ps
	}
	off := dec.InputOffset()
	if rest := data[off:]; len(bytes.TrimLeft(rest, " \t\r\n")) > 0 {
		start := off + int64(len(rest)-len(bytes.TrimLeft(rest, " \t\r\n")))
		line, col := position(data, start)
		d.bad("unexpected data after the JSON object (line %d, column %d)", line, col)
		return nil, info, d.ps
	}
	d.duplicates(data)

	var m Manifest
	fields, ok := d.object("", top, "format", "pack", "version", "title", "released", "whats_new",
		"upgrades_from", "requires", "database", "files")
	if !ok {
		return nil, info, d.ps
	}
	d.field(fields, "format", "", &m.Format)
	d.field(fields, "pack", "", &m.Pack)
	d.field(fields, "version", "", &m.Version)
	d.field(fields, "title", "", &m.Title)
	d.field(fields, "released", "", &m.Released)
	d.field(fields, "whats_new", "", &m.WhatsNew)
	d.field(fields, "upgrades_from", "", &m.UpgradesFrom)
	if raw, ok := present(fields, "requires"); ok {
		if req, ok := d.object("requires", raw); ok {
			m.Requires = make(map[string]string, len(req))
			for k, v := range req {
				path := "requires[" + strconv.Quote(k) + "]"
				var s string
				if d.into(path, v, &s) {
					m.Requires[k] = s
				}
			}
		}
	}
	if raw, ok := present(fields, "database"); ok {
		if db, ok := d.object("database", raw, "schema_version", "tables", "changes"); ok {
			m.Database = &Database{}
			_, info.schemaGiven = present(db, "schema_version")
			d.field(db, "schema_version", "database.", &m.Database.SchemaVersion)
			d.field(db, "changes", "database.", &m.Database.Changes)
			if raw, ok := present(db, "tables"); ok {
				if items, ok := d.array("database.tables", raw); ok {
					m.Database.Tables = make([]string, len(items))
					for i, it := range items {
						d.into("database.tables["+strconv.Itoa(i)+"]", it, &m.Database.Tables[i])
					}
				}
			}
		}
	}
	if raw, ok := present(fields, "files"); ok {
		info.filesGiven = true
		if items, ok := d.array("files", raw); ok {
			m.Files = make([]File, len(items))
			for i, it := range items {
				prefix := "files[" + strconv.Itoa(i) + "]"
				f, ok := d.object(prefix, it, "path", "size", "sha256", "mode")
				if !ok {
					continue
				}
				d.field(f, "path", prefix+".", &m.Files[i].Path)
				d.field(f, "size", prefix+".", &m.Files[i].Size)
				d.field(f, "sha256", prefix+".", &m.Files[i].SHA256)
				d.field(f, "mode", prefix+".", &m.Files[i].Mode)
			}
		}
	}
	ps := m.validate(checks{mode: md, filesGiven: info.filesGiven, schemaGiven: info.schemaGiven, skip: d.skip})
	ps = append(d.ps, ps...)
	if len(ps) > 0 {
		return nil, info, ps
	}
	return &m, info, nil
}

// decoder decodes JSON values into the manifest's fields, recording one
// problem per type error and the fields that had one.
type decoder struct {
	ps   problems
	skip map[string]bool
}

func (d *decoder) bad(format string, args ...any) {
	d.ps.add("", FileName, ErrInvalidManifest, format, args...)
}

// present returns the value of key in fields, treating null as absent.
func present(fields map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	raw, ok := fields[key]
	if !ok || string(raw) == "null" {
		return nil, false
	}
	return raw, true
}

// field decodes fields[key], if present, into dst.
func (d *decoder) field(fields map[string]json.RawMessage, key, prefix string, dst any) {
	if raw, ok := present(fields, key); ok {
		d.into(prefix+key, raw, dst)
	}
}

// into decodes raw into dst (*int, *int64 or *string), or records a type
// error at path.
func (d *decoder) into(path string, raw json.RawMessage, dst any) bool {
	err := json.Unmarshal(raw, dst)
	if err == nil {
		return true
	}
	want := "a string"
	switch dst.(type) {
	case *int, *int64:
		want = "an integer"
	}
	d.bad("%s: got %s, want %s", path, describe(raw), want)
	d.skip[path] = true
	return false
}

// object decodes raw as a JSON object. With allowed keys given, any other
// key is an unknown field.
func (d *decoder) object(path string, raw json.RawMessage, allowed ...string) (map[string]json.RawMessage, bool) {
	var fields map[string]json.RawMessage
	if len(bytes.TrimSpace(raw)) == 0 || bytes.TrimSpace(raw)[0] != '{' || json.Unmarshal(raw, &fields) != nil {
		if path == "" {
			d.bad("got %s, want a JSON object", describe(raw))
		} else {
			d.bad("%s: got %s, want an object", path, describe(raw))
		}
		d.skip[path] = true
		return nil, false
	}
	if len(allowed) > 0 {
		var unknown []string
		for k := range fields {
			if !slices.Contains(allowed, k) {
				unknown = append(unknown, k)
			}
		}
		slices.Sort(unknown)
		for _, k := range unknown {
			if path == "" {
				d.bad("unknown field %s", quote(k))
			} else {
				d.bad("%s: unknown field %s", path, quote(k))
			}
		}
	}
	return fields, true
}

// array decodes raw as a JSON array.
func (d *decoder) array(path string, raw json.RawMessage) ([]json.RawMessage, bool) {
	var items []json.RawMessage
	if bytes.TrimSpace(raw)[0] != '[' || json.Unmarshal(raw, &items) != nil {
		d.bad("%s: got %s, want an array", path, describe(raw))
		d.skip[path] = true
		return nil, false
	}
	return items, true
}

// describe names the kind and, for a scalar, the value of a JSON value.
func describe(raw json.RawMessage) string {
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
			return "string " + quote(s)
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

// duplicates reports each key that appears twice in one object: JSON
// decoders disagree on which one wins.
func (d *decoder) duplicates(data []byte) {
	type frame struct {
		path   string
		object bool
		keys   map[string]bool
		index  int
		key    string // key of the value expected next, in an object
		isKey  bool   // next string token is a key
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var stack []*frame
	childPath := func() string {
		if len(stack) == 0 {
			return ""
		}
		f := stack[len(stack)-1]
		if f.object {
			if f.path == "" {
				return f.key
			}
			return f.path + "." + f.key
		}
		return f.path + "[" + strconv.Itoa(f.index) + "]"
	}
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		f := stack[len(stack)-1]
		if f.object {
			f.isKey = true
		} else {
			f.index++
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return // io.EOF, or a syntax error reported elsewhere
		}
		if len(stack) > 0 {
			if f := stack[len(stack)-1]; f.object && f.isKey {
				if k, ok := tok.(string); ok {
					if f.keys[k] {
						if f.path == "" {
							d.bad("key %s appears twice", quote(k))
						} else {
							d.bad("%s: key %s appears twice", f.path, quote(k))
						}
					}
					f.keys[k] = true
					f.key, f.isKey = k, false
					continue
				}
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{path: childPath(), object: true, keys: map[string]bool{}, isKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{path: childPath()})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}
