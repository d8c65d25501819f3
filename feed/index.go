package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-version"

	"github.com/upkeep/upkeep/internal/strictjson"
	"github.com/upkeep/upkeep/manifest"
)

// Format is the index format this package reads and writes (json_format).
const Format = 1

// IndexName is the index's file name in a feed; its signature is
// IndexName + ".minisig".
const IndexName = "index.json"

// MaxIndexSize caps what is read of an index.json.
const MaxIndexSize = 8 << 20

// Index is a feed's index.json.
type Index struct {
	Format   int       // json_format
	App      string    // the application the feed is for
	Serial   int64     // one more at every build; never goes down
	IssuedAt time.Time // when the index was built
	Expires  time.Time // after this, a fetch refuses the index
	Updates  []Entry
}

// Entry is one update zip a feed offers.
type Entry struct {
	Pack         string            `json:"pack"`
	Version      string            `json:"version"`
	URL          string            `json:"url"` // relative to index.json, or absolute http(s)
	Size         int64             `json:"size"`
	SHA256       string            `json:"sha256"`
	Title        string            `json:"title,omitempty"`
	Released     string            `json:"released,omitempty"`
	WhatsNew     string            `json:"whats_new,omitempty"`
	UpgradesFrom string            `json:"upgrades_from,omitempty"`
	Requires     map[string]string `json:"requires,omitempty"`
	Database     *Database         `json:"database,omitempty"`
}

// Database is what an entry's update does to the database.
type Database struct {
	SchemaVersion int    `json:"schema_version"`
	Changes       string `json:"changes,omitempty"`
}

// FileName is the name the entry's zip gets in Updates_Pending: the last
// segment of its URL's path. Parse checks that it is a plain *.zip name.
func (e Entry) FileName() string {
	u, err := url.Parse(e.URL)
	if err != nil {
		return ""
	}
	return path.Base(u.Path)
}

// SemVersion is the entry's version, parsed. It panics on an entry that
// did not pass Parse.
func (e Entry) SemVersion() *version.Version { return version.Must(version.NewVersion(e.Version)) }

// wireIndex is index.json as written.
type wireIndex struct {
	Format   int     `json:"json_format"`
	App      string  `json:"app"`
	Serial   int64   `json:"serial"`
	IssuedAt string  `json:"issued_at"`
	Expires  string  `json:"expires"`
	Updates  []Entry `json:"updates"`
}

// Marshal renders the index as index.json: indented, fields in a fixed
// order, maps sorted, times in UTC, so the same index gives the same bytes.
func (ix *Index) Marshal() []byte {
	w := wireIndex{Format: ix.Format, App: ix.App, Serial: ix.Serial,
		IssuedAt: ix.IssuedAt.UTC().Format(time.RFC3339), Expires: ix.Expires.UTC().Format(time.RFC3339), Updates: ix.Updates}
	if w.Updates == nil {
		w.Updates = []Entry{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(w); err != nil {
		panic(err) // only strings, numbers and maps of strings
	}
	return b.Bytes()
}

const packNameRule = "lowercase letters, digits, '-' and '_', starting with a letter, at most 64 characters"

// Parse decodes and checks an index.json strictly, as manifests are: an
// unknown or repeated field, a field of the wrong type, trailing data, a
// bad value are all errors. It returns every problem, each a [*Problem]
// naming file (the index's URL or path, for messages) and the field,
// joined with errors.Join.
func Parse(file string, data []byte) (*Index, error) {
	p := &parser{file: file}
	ix := p.index(data)
	if len(p.problems) > 0 {
		return nil, errors.Join(p.problems...)
	}
	return ix, nil
}

type parser struct {
	file     string
	problems []error
}

func (p *parser) bad(field, format string, args ...any) {
	detail := fmt.Sprintf(format, args...)
	if field != "" {
		detail = field + ": " + detail
	}
	p.problems = append(p.problems, &Problem{Zip: p.file, Detail: detail, Err: ErrInvalidIndex})
}

func (p *parser) index(data []byte) *Index {
	if len(bytes.TrimSpace(data)) == 0 {
		p.bad("", "empty, want a JSON object")
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var top json.RawMessage
	if err := dec.Decode(&top); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			p.bad("", "not valid JSON: %v (at byte %d)", se, se.Offset)
		} else if errors.Is(err, io.ErrUnexpectedEOF) {
			p.bad("", "not valid JSON: unexpected end of data")
		} else {
			p.bad("", "not valid JSON: %v", err)
		}
		return nil
	}
	if _, err := dec.Token(); err != io.EOF {
		p.bad("", "unexpected data after the JSON object (at byte %d)", dec.InputOffset())
		return nil
	}
	p.duplicates(top)
	fields, ok := p.object("", top, "json_format", "app", "serial", "issued_at", "expires", "updates")
	if !ok {
		return nil
	}
	ix := &Index{}
	switch raw, ok := fields["json_format"]; {
	case !ok:
		p.bad("json_format", "missing (want %d)", Format)
	default:
		if n, ok := p.integer("json_format", raw); ok {
			ix.Format = int(n)
			if n != Format {
				p.bad("json_format", "%d: not supported (this upkeep reads format %d)", n, Format)
			}
		}
	}
	if s, ok := p.requiredString(fields, "app"); ok {
		ix.App = s
	}
	if raw, ok := fields["serial"]; !ok {
		p.bad("serial", "missing")
	} else if n, ok := p.integer("serial", raw); ok {
		if n < 1 {
			p.bad("serial", "%d: must be 1 or more", n)
		}
		ix.Serial = n
	}
	ix.IssuedAt, _ = p.time(fields, "issued_at")
	ix.Expires, _ = p.time(fields, "expires")
	if !ix.IssuedAt.IsZero() && !ix.Expires.IsZero() && !ix.Expires.After(ix.IssuedAt) {
		p.bad("expires", "%s: not after issued_at %s", ix.Expires.Format(time.RFC3339), ix.IssuedAt.Format(time.RFC3339))
	}
	raw, ok := fields["updates"]
	if !ok {
		p.bad("updates", "missing (an empty list is [])")
		return ix
	}
	var items []json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' || json.Unmarshal(raw, &items) != nil {
		p.bad("updates", "got %s, want an array", describe(raw))
		return ix
	}
	names := map[string]int{}
	versions := map[string]int{}
	for i, it := range items {
		e, ok := p.entry(fmt.Sprintf("updates[%d]", i), it)
		if !ok {
			continue
		}
		prefix := fmt.Sprintf("updates[%d]", i)
		if j, dup := names[strings.ToLower(e.FileName())]; dup {
			p.bad(prefix+".url", "%s: same file name as updates[%d]", quote(e.URL), j)
		} else {
			names[strings.ToLower(e.FileName())] = i
		}
		key := e.Pack + " " + e.SemVersion().String()
		if j, dup := versions[key]; dup {
			p.bad(prefix, "%s %s is offered twice (also updates[%d])", e.Pack, e.Version, j)
		} else {
			versions[key] = i
		}
		ix.Updates = append(ix.Updates, e)
	}
	return ix
}

func (p *parser) entry(prefix string, raw json.RawMessage) (Entry, bool) {
	var e Entry
	fields, ok := p.object(prefix, raw, "pack", "version", "url", "size", "sha256", "title", "released",
		"whats_new", "upgrades_from", "requires", "database")
	if !ok {
		return e, false
	}
	before := len(p.problems)
	f := func(k string) string { return prefix + "." + k }
	if s, ok := p.requiredString(fields, k(prefix, "pack")); ok {
		e.Pack = s
		if !manifest.ValidPackName(s) {
			p.bad(f("pack"), "%s: not a valid pack name (%s)", quote(s), packNameRule)
		}
	}
	if s, ok := p.requiredString(fields, k(prefix, "version")); ok {
		e.Version = s
		if _, err := version.NewVersion(s); err != nil {
			p.bad(f("version"), "%s: not a valid version (like \"1.4.0\")", quote(s))
		}
	}
	if s, ok := p.requiredString(fields, k(prefix, "url")); ok {
		e.URL = s
		p.checkURL(f("url"), s)
	}
	if raw, ok := fields["size"]; !ok {
		p.bad(f("size"), "missing")
	} else if n, ok := p.integer(f("size"), raw); ok {
		e.Size = n
		if n < 1 {
			p.bad(f("size"), "%d: must be 1 or more", n)
		}
	}
	if s, ok := p.requiredString(fields, k(prefix, "sha256")); ok {
		e.SHA256 = s
		if !manifest.ValidSHA256(s) {
			p.bad(f("sha256"), "%s: not a sha256 (64 lowercase hex digits)", quote(s))
		}
	}
	e.Title, _ = p.optionalString(fields, prefix, "title")
	e.WhatsNew, _ = p.optionalString(fields, prefix, "whats_new")
	if s, ok := p.optionalString(fields, prefix, "released"); ok && s != "" {
		e.Released = s
		if _, err := time.Parse(time.DateOnly, s); err != nil || len(s) != len(time.DateOnly) {
			p.bad(f("released"), "%s: not a date like \"2026-11-01\" (YYYY-MM-DD)", quote(s))
		}
	}
	if s, ok := p.optionalString(fields, prefix, "upgrades_from"); ok && s != "" {
		e.UpgradesFrom = s
		if _, err := version.NewConstraint(s); err != nil {
			p.bad(f("upgrades_from"), "%s: not a valid version constraint (like \">= 1.2, < 2.0\")", quote(s))
		}
	}
	if raw, ok := present(fields, "requires"); ok {
		if req, ok := p.object(f("requires"), raw); ok {
			e.Requires = map[string]string{}
			for _, name := range sortedKeys(req) {
				field := f("requires") + "[" + strconv.Quote(name) + "]"
				var s string
				if json.Unmarshal(req[name], &s) != nil {
					p.bad(field, "got %s, want a string", describe(req[name]))
					continue
				}
				switch {
				case !manifest.ValidPackName(name):
					p.bad(field, "not a valid pack name (%s)", packNameRule)
				case name == e.Pack:
					p.bad(field, "a pack cannot require itself")
				}
				if _, err := version.NewConstraint(s); err != nil {
					p.bad(field, "%s: not a valid version constraint (like \">= 2.0, < 3.0\")", quote(s))
				}
				e.Requires[name] = s
			}
		}
	}
	if raw, ok := present(fields, "database"); ok {
		if db, ok := p.object(f("database"), raw, "schema_version", "changes"); ok {
			e.Database = &Database{}
			if raw, ok := db["schema_version"]; !ok {
				p.bad(f("database.schema_version"), "missing")
			} else if n, ok := p.integer(f("database.schema_version"), raw); ok {
				if n < 0 {
					p.bad(f("database.schema_version"), "%d: must be 0 or more", n)
				}
				e.Database.SchemaVersion = int(n)
			}
			e.Database.Changes, _ = p.optionalString(db, f("database"), "changes")
		}
	}
	return e, len(p.problems) == before
}

// k is the field key of a full field path: requiredString takes the path.
func k(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// checkURL checks an entry's url: a relative reference or an absolute
// http(s) URL whose path ends in a plain NAME.zip.
func (p *parser) checkURL(field, s string) {
	u, err := url.Parse(s)
	if err != nil {
		p.bad(field, "%s: not a URL (%v)", quote(s), errors.Unwrap(err))
		return
	}
	if u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" {
		p.bad(field, "%s: scheme %s not supported (want http, https or a relative URL)", quote(s), quote(u.Scheme))
		return
	}
	if u.User != nil {
		p.bad(field, "%s: credentials in a URL are not allowed", quote(s))
		return
	}
	name := path.Base(u.Path)
	switch {
	case u.Path == "" || strings.HasSuffix(u.Path, "/"):
		p.bad(field, "%s: names no file (want a URL ending in NAME.zip)", quote(s))
	case !strings.EqualFold(path.Ext(name), ".zip") || len(name) <= len(".zip"):
		p.bad(field, "%s: the file name %s does not end in .zip", quote(s), quote(name))
	case strings.HasPrefix(name, ".") || strings.ContainsAny(name, "\\:") || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) || len(name) > 200:
		p.bad(field, "%s: %s is not a plain file name", quote(s), quote(name))
	}
}

// object decodes raw as a JSON object; with allowed keys given, any other
// key is a problem.
func (p *parser) object(field string, raw json.RawMessage, allowed ...string) (map[string]json.RawMessage, bool) {
	fields, unknown, ok := strictjson.Object(raw, allowed...)
	if !ok {
		p.bad(field, "got %s, want an object", describe(raw))
		return nil, false
	}
	for _, key := range unknown {
		p.bad(field, "unknown field %s", quote(key))
	}
	return fields, true
}

// integer decodes raw as an integer.
func (p *parser) integer(field string, raw json.RawMessage) (int64, bool) {
	t := bytes.TrimSpace(raw)
	n, err := strconv.ParseInt(string(t), 10, 64)
	if err != nil {
		p.bad(field, "got %s, want an integer", describe(raw))
		return 0, false
	}
	return n, true
}

func (p *parser) requiredString(fields map[string]json.RawMessage, field string) (string, bool) {
	key := field[strings.LastIndexByte(field, '.')+1:]
	raw, ok := fields[key]
	if !ok {
		p.bad(field, "missing")
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil || bytes.TrimSpace(raw)[0] != '"' {
		p.bad(field, "got %s, want a string", describe(raw))
		return "", false
	}
	if s == "" {
		p.bad(field, "empty")
		return "", false
	}
	return s, true
}

func (p *parser) optionalString(fields map[string]json.RawMessage, prefix, key string) (string, bool) {
	raw, ok := present(fields, key)
	if !ok {
		return "", false
	}
	var s string
	if bytes.TrimSpace(raw)[0] != '"' || json.Unmarshal(raw, &s) != nil {
		p.bad(k(prefix, key), "got %s, want a string", describe(raw))
		return "", false
	}
	return s, true
}

func (p *parser) time(fields map[string]json.RawMessage, key string) (time.Time, bool) {
	s, ok := p.requiredString(fields, key)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		p.bad(key, "%s: not a time like \"2026-12-01T10:00:00Z\" (RFC 3339)", quote(s))
		return time.Time{}, false
	}
	return t, true
}

// duplicates records a problem for each key that appears twice in one
// object of the valid JSON value data: decoders disagree on which wins.
func (p *parser) duplicates(data []byte) {
	strictjson.ScanKeys(data, func(path, key string) {
		p.bad(path, "key %s appears twice", quote(key))
	}, nil)
}

// The helpers the index shares with the other strict JSON readers.
var (
	describe = strictjson.Describe
	present  = strictjson.Present
	quote    = strictjson.Quote
)

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}
