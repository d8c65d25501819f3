package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"

	"github.com/upkeep/upkeep/internal/strictjson"
)

// parsed says what parse saw beyond the values: whether files and
// database.schema_version were present.
type parsed struct {
	filesGiven  bool
	schemaGiven bool
}

// wireManifest is the fast way in: one strict decode that succeeds for any
// well-formed manifest. Only when it fails does parse decode again field by
// field, to name every bad field.
type wireManifest struct {
	Format       int               `json:"format"`
	Pack         string            `json:"pack"`
	Version      string            `json:"version"`
	Title        string            `json:"title"`
	Released     string            `json:"released"`
	WhatsNew     string            `json:"whats_new"`
	UpgradesFrom string            `json:"upgrades_from"`
	Requires     map[string]string `json:"requires"`
	Database     *struct {
		SchemaVersion *int     `json:"schema_version"`
		Tables        []string `json:"tables"`
		Changes       string   `json:"changes"`
	} `json:"database"`
	Files *[]File `json:"files"`
}

// parse decodes data strictly and validates the result.
func parse(data []byte, md mode) (*Manifest, parsed, problems) {
	if m, info, ok := fastDecode(data); ok {
		if ps := m.validate(checks{mode: md, filesGiven: info.filesGiven, schemaGiven: info.schemaGiven}); len(ps) > 0 {
			return nil, info, ps
		}
		return m, info, nil
	}
	return slowParse(data, md)
}

// slowParse is parse with encoding/json: a strict decode into wireManifest,
// and, when that fails, a decode field by field to name each problem.
func slowParse(data []byte, md mode) (*Manifest, parsed, problems) {
	d := &decoder{skip: map[string]bool{}}
	var info parsed
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var w wireManifest
	err := dec.Decode(&w)
	var se *json.SyntaxError
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		d.bad("empty, want a JSON object")
		return nil, info, d.ps
	case errors.As(err, &se):
		line, col := position(data, se.Offset-1) // Offset is past the bad byte
		d.bad("not valid JSON: %v (line %d, column %d)", se, line, col)
		return nil, info, d.ps
	case errors.Is(err, io.ErrUnexpectedEOF):
		d.bad("not valid JSON: unexpected end of data")
		return nil, info, d.ps
	}
	// A type error or an unknown field: the whole value was read all the
	// same, and is decoded again below.
	off := dec.InputOffset()
	if rest := data[off:]; len(bytes.TrimLeft(rest, " \t\r\n")) > 0 {
		start := off + int64(len(rest)-len(bytes.TrimLeft(rest, " \t\r\n")))
		line, col := position(data, start)
		d.bad("unexpected data after the JSON object (line %d, column %d)", line, col)
		return nil, info, d.ps
	}
	top := data[:off]
	// encoding/json matches keys without regard to case: a key that is not
	// plain lowercase is checked by the slow path, which does not.
	oddKeys := d.scanKeys(top)

	var m *Manifest
	if err == nil && !oddKeys {
		m = &Manifest{Format: w.Format, Pack: w.Pack, Version: w.Version, Title: w.Title, Released: w.Released,
			WhatsNew: w.WhatsNew, UpgradesFrom: w.UpgradesFrom, Requires: w.Requires}
		if db := w.Database; db != nil {
			m.Database = &Database{Tables: db.Tables, Changes: db.Changes}
			if db.SchemaVersion != nil {
				info.schemaGiven = true
				m.Database.SchemaVersion = *db.SchemaVersion
			}
		}
		if w.Files != nil {
			info.filesGiven = true
			m.Files = *w.Files
			if m.Files == nil {
				m.Files = []File{}
			}
		}
	} else if m = d.slow(top, &info); m == nil {
		return nil, info, d.ps
	}
	ps := m.validate(checks{mode: md, filesGiven: info.filesGiven, schemaGiven: info.schemaGiven, skip: d.skip})
	ps = append(d.ps, ps...)
	if len(ps) > 0 {
		return nil, info, ps
	}
	return m, info, nil
}

// slow decodes top field by field, recording a problem for each unknown
// field and each value of the wrong type.
func (d *decoder) slow(top []byte, info *parsed) *Manifest {
	var m Manifest
	fields, ok := d.object("", top, "format", "pack", "version", "title", "released", "whats_new",
		"upgrades_from", "requires", "database", "files")
	if !ok {
		return nil
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
	return &m
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
	fields, unknown, ok := strictjson.Object(raw, allowed...)
	if !ok {
		if path == "" {
			d.bad("got %s, want a JSON object", describe(raw))
		} else {
			d.bad("%s: got %s, want an object", path, describe(raw))
		}
		d.skip[path] = true
		return nil, false
	}
	for _, k := range unknown {
		if path == "" {
			d.bad("unknown field %s", quote(k))
		} else {
			d.bad("%s: unknown field %s", path, quote(k))
		}
	}
	return fields, true
}

// scanKeys records a problem for each key of data, valid JSON, that
// appears twice in one object. It reports whether any key, other than a
// key of requires, is not plain lowercase ASCII.
func (d *decoder) scanKeys(data []byte) (odd bool) {
	strictjson.ScanKeys(data, func(path, key string) {
		if path != "" {
			d.bad("%s: key %s appears twice", path, quote(key))
		} else {
			d.bad("key %s appears twice", quote(key))
		}
	}, func(path, _ string) {
		if path != "requires" {
			odd = true
		}
	})
	return odd
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

// The helpers manifests share with the other strict JSON readers.
var (
	describe = strictjson.Describe
	present  = strictjson.Present
	quote    = strictjson.Quote
)
