package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// wantManifest is, for each file of testdata/manifests, the exact problems
// Parse (or, under source/, ParseSource) must report; none for a good one.
var wantManifest = map[string][]string{
	"bad/blank": {
		"manifest.json: empty, want a JSON object",
	},
	"bad/duplicate-key": {
		"manifest.json: key \"pack\" appears twice",
		"manifest.json: database: key \"tables\" appears twice",
		"manifest.json: database.schema_version is missing",
	},
	"bad/empty": {
		"manifest.json: empty, want a JSON object",
	},
	"bad/files-duplicate": {
		"manifest.json: files[1].path \"a.txt\": listed twice",
		"manifest.json: files[2].path \"A.TXT\": differs only by case from \"a.txt\"",
	},
	"bad/files-folder-conflict": {
		"manifest.json: files[1].path \"a/b\": its folder \"a\" is listed as a file",
	},
	"bad/files-manifest": {
		"manifest.json: files[0].path \"manifest.json\": the manifest cannot list itself",
		"manifest.json: files[1].path \"Manifest.JSON\": the manifest cannot list itself",
	},
	"bad/files-missing": {
		"manifest.json: files is missing (upkeep pack computes it)",
	},
	"bad/files-mode-invalid": {
		"manifest.json: files[0].mode \"0999\": not an octal mode from \"0000\" to \"0777\" (like \"0644\")",
		"manifest.json: files[1].mode \"1777\": not an octal mode from \"0000\" to \"0777\" (like \"0644\")",
		"manifest.json: files[2].mode \"rw-r--r--\": not an octal mode from \"0000\" to \"0777\" (like \"0644\")",
		"manifest.json: files[3].mode \"00644\": not an octal mode from \"0000\" to \"0777\" (like \"0644\")",
	},
	"bad/files-null": {
		"manifest.json: files is missing (upkeep pack computes it)",
	},
	"bad/files-path-unsafe": {
		"manifest.json: files[0].path \"/etc/passwd\": unsafe path: absolute path",
		"manifest.json: files[1].path \"../up\": unsafe path: has a \"..\" path component",
		"manifest.json: files[2].path \"a\\\\b\": unsafe path: contains a backslash",
		"manifest.json: files[3].path \"\": unsafe path: empty name",
		"manifest.json: files[4].path \"a/./b\": unsafe path: has a \".\" path component",
		"manifest.json: files[5].path \"a//b\": unsafe path: has an empty path component",
		"manifest.json: files[6].path \"dir/\": unsafe path: has an empty path component",
		"manifest.json: files[7].path \"C:/x\": unsafe path: starts with a drive letter",
		"manifest.json: files[8].path \"a\\nb\": unsafe path: contains a control character",
	},
	"bad/files-sha256-invalid": {
		"manifest.json: files[0].sha256 \"2D711642B726B04401627CA9FBAC32F5C8530FB1903CC4DB02258717921A4881\": not 64 lowercase hex digits",
		"manifest.json: files[1].sha256 is missing",
		"manifest.json: files[2].sha256 \"abc\": not 64 lowercase hex digits",
	},
	"bad/files-size-negative": {
		"manifest.json: files[0].size -5: must be 0 or more",
	},
	"bad/format-2": {
		"manifest.json: format 2: not supported (this upkeep reads format 1)",
	},
	"bad/format-missing": {
		"manifest.json: format is missing (want 1)",
	},
	"bad/not-object": {
		"manifest.json: got an array, want a JSON object",
	},
	"bad/pack-digit": {
		"manifest.json: pack \"1blog\": not a valid pack name (lowercase letters, digits, '-' and '_', starting with a letter, at most 64 characters)",
	},
	"bad/pack-invalid": {
		"manifest.json: pack \"Blog\": not a valid pack name (lowercase letters, digits, '-' and '_', starting with a letter, at most 64 characters)",
	},
	"bad/pack-long": {
		"manifest.json: pack \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": not a valid pack name (lowercase letters, digits, '-' and '_', starting with a letter, at most 64 characters)",
	},
	"bad/pack-missing": {
		"manifest.json: pack is missing",
	},
	"bad/released-invalid": {
		"manifest.json: released \"2026-13-01\": not a date like \"2026-11-01\" (YYYY-MM-DD)",
	},
	"bad/released-short": {
		"manifest.json: released \"2026-1-1\": not a date like \"2026-11-01\" (YYYY-MM-DD)",
	},
	"bad/requires-invalid": {
		"manifest.json: requires key \"Core\": not a valid pack name (lowercase letters, digits, '-' and '_', starting with a letter, at most 64 characters)",
		"manifest.json: requires key \"blog\": a pack cannot require itself",
		"manifest.json: requires[\"core\"] \"~> x\": not a valid version constraint (like \">= 2.0, < 3.0\")",
	},
	"bad/schema-missing": {
		"manifest.json: database.schema_version is missing",
	},
	"bad/schema-negative": {
		"manifest.json: database.schema_version -1: must be 0 or more",
	},
	"bad/syntax": {
		"manifest.json: not valid JSON: invalid character '}' looking for beginning of object key string (line 1, column 13)",
	},
	"bad/tables-invalid": {
		"manifest.json: database.tables[1] \"my-table\": not a valid SQL table name (letters, digits and '_', not starting with a digit, at most 64 characters)",
		"manifest.json: database.tables[2] \"posts\": listed twice",
		"manifest.json: database.tables[3] \"Posts\": same table as \"posts\" (names differ only by case)",
		"manifest.json: database.tables[4] \"1st\": not a valid SQL table name (letters, digits and '_', not starting with a digit, at most 64 characters)",
		"manifest.json: database.tables[5] \"\": not a valid SQL table name (letters, digits and '_', not starting with a digit, at most 64 characters)",
	},
	"bad/trailing": {
		"manifest.json: unexpected data after the JSON object (line 2, column 1)",
	},
	"bad/truncated": {
		"manifest.json: not valid JSON: unexpected end of data",
	},
	"bad/unknown-field": {
		"manifest.json: unknown field \"Pack\"",
		"manifest.json: unknown field \"author\"",
	},
	"bad/unknown-nested": {
		"manifest.json: database: unknown field \"foo\"",
		"manifest.json: files[0]: unknown field \"owner\"",
	},
	"bad/upgrades-from-invalid": {
		"manifest.json: upgrades_from \"since 1.2\": not a valid version constraint (like \">= 1.2, < 2.0\")",
	},
	"bad/version-invalid": {
		"manifest.json: version \"1.x.y\": not a valid version (like \"1.4.0\")",
	},
	"bad/version-missing": {
		"manifest.json: version is missing",
	},
	"bad/wrong-types": {
		"manifest.json: format: got string \"1\", want an integer",
		"manifest.json: version: got number 1.4, want a string",
		"manifest.json: requires[\"core\"]: got number 2, want a string",
		"manifest.json: database.schema_version: got number 1.5, want an integer",
		"manifest.json: database.tables[1]: got number 7, want a string",
		"manifest.json: files[0].size: got string \"1\", want an integer",
		"manifest.json: files[1]: got string \"b.txt\", want an object",
	},
	"good/full":        {},
	"good/minimal":     {},
	"good/no-database": {},
	"good/nulls":       {},
	"source/files-empty": {
		"manifest.json: files is computed by upkeep pack; remove it",
	},
	"source/files-present": {
		"manifest.json: files is computed by upkeep pack; remove it",
	},
	"source/good-schema": {},
	"source/good":        {},
}

func TestParseCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/manifests/*/*.json")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, path := range files {
		key := strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(path), "testdata/manifests/"), ".json")
		seen[key] = true
		t.Run(key, func(t *testing.T) {
			want, ok := wantManifest[key]
			if !ok {
				t.Fatalf("no expectation for %s in wantManifest", path)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			parse := Parse
			if strings.HasPrefix(key, "source/") {
				parse = ParseSource
			}
			m, err := parse(data)
			if got := lines(err); !slices.Equal(got, want) {
				t.Fatalf("problems:\n got %q\nwant %q", got, want)
			}
			if err != nil {
				if m != nil {
					t.Error("manifest returned with an error")
				}
				if !errors.Is(err, ErrInvalidManifest) {
					t.Errorf("error %v is not ErrInvalidManifest", err)
				}
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var p *Problem
					if !errors.As(e, &p) || p.Entry != FileName {
						t.Errorf("problem %v: not a *Problem about %s", e, FileName)
					}
				}
				return
			}
			if m.Format != Format || m.SemVersion() == nil {
				t.Errorf("bad manifest returned: %+v", m)
			}
			if !strings.HasPrefix(key, "source/") {
				if err := m.Validate(); err != nil {
					t.Errorf("Validate of a parsed manifest: %v", err)
				}
			}
		})
	}
	for key := range wantManifest {
		if !seen[key] {
			t.Errorf("wantManifest has %s, but testdata/manifests/%s.json is missing", key, key)
		}
	}
}

func TestParseFull(t *testing.T) {
	data, err := os.ReadFile("testdata/manifests/good/full.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Pack != "blog" || m.Version != "1.4.0" || m.Title != "Blog" || m.Released != "2026-11-01" ||
		m.UpgradesFrom != ">= 1.2" || m.Requires["core"] != ">= 2.0, < 3.0" || m.SchemaVersion() != 7 ||
		!slices.Equal(m.Database.Tables, []string{"posts", "comments", "tags"}) || len(m.Files) != 2 ||
		m.Files[1] != (File{Path: "bin/run", Size: 0, SHA256: m.Files[0].SHA256, Mode: "0755"}) {
		t.Errorf("parsed %+v", m)
	}
	if got := m.SemVersion().String(); got != "1.4.0" {
		t.Errorf("SemVersion = %s", got)
	}
}

func TestParseSourceSchemaVersion(t *testing.T) {
	m, err := ParseSource([]byte(`{"format":1,"pack":"blog","version":"1.0.0","database":{"tables":["posts"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion() != 0 || m.Files != nil {
		t.Errorf("got %+v", m)
	}
	// The same manifest is not a valid update manifest.
	_, err = Parse([]byte(`{"format":1,"pack":"blog","version":"1.0.0","database":{"tables":["posts"]}}`))
	want := []string{
		"manifest.json: database.schema_version is missing",
		"manifest.json: files is missing (upkeep pack computes it)",
	}
	if got := lines(err); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestValidate checks Validate on manifests built in Go, one rule each.
func TestValidate(t *testing.T) {
	const sum = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
	good := func() *Manifest {
		return &Manifest{Format: 1, Pack: "blog", Version: "1.4.0", Files: []File{{Path: "a.txt", Size: 1, SHA256: sum}}}
	}
	tests := []struct {
		name   string
		change func(m *Manifest)
		want   string
	}{
		{"ok", func(m *Manifest) {}, ""},
		{"format", func(m *Manifest) { m.Format = 0 }, "manifest.json: format is missing (want 1)"},
		{"pack", func(m *Manifest) { m.Pack = "my pack" }, `manifest.json: pack "my pack": not a valid pack name (lowercase letters, digits, '-' and '_', starting with a letter, at most 64 characters)`},
		{"version", func(m *Manifest) { m.Version = "" }, "manifest.json: version is missing"},
		{"released", func(m *Manifest) { m.Released = "01/11/2026" }, `manifest.json: released "01/11/2026": not a date like "2026-11-01" (YYYY-MM-DD)`},
		{"upgrades_from", func(m *Manifest) { m.UpgradesFrom = ">=" }, `manifest.json: upgrades_from ">=": not a valid version constraint (like ">= 1.2, < 2.0")`},
		{"requires", func(m *Manifest) { m.Requires = map[string]string{"core": ""} }, `manifest.json: requires["core"] "": not a valid version constraint (like ">= 2.0, < 3.0")`},
		{"schema_version", func(m *Manifest) { m.Database = &Database{SchemaVersion: -2} }, "manifest.json: database.schema_version -2: must be 0 or more"},
		{"tables", func(m *Manifest) { m.Database = &Database{Tables: []string{"a;drop"}} }, `manifest.json: database.tables[0] "a;drop": not a valid SQL table name (letters, digits and '_', not starting with a digit, at most 64 characters)`},
		{"files nil", func(m *Manifest) { m.Files = nil }, "manifest.json: files is missing (upkeep pack computes it)"},
		{"files empty", func(m *Manifest) { m.Files = []File{} }, ""},
		{"path", func(m *Manifest) { m.Files[0].Path = "a/../../b" }, `manifest.json: files[0].path "a/../../b": unsafe path: has a ".." path component`},
		{"long value", func(m *Manifest) { m.Pack = strings.Repeat("é", 60) }, `manifest.json: pack "` + strings.Repeat("é", 50) + `"...: not a valid pack name (lowercase letters, digits, '-' and '_', starting with a letter, at most 64 characters)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := good()
			tt.change(m)
			err := m.Validate()
			got := strings.Join(lines(err), "\n")
			if got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
			if err != nil && !errors.Is(err, ErrInvalidManifest) {
				t.Errorf("%v is not ErrInvalidManifest", err)
			}
		})
	}
}

func TestValidateAllAtOnce(t *testing.T) {
	m := &Manifest{Pack: "X", Files: []File{{Path: "/a", Size: -1, SHA256: "x", Mode: "8"}}}
	want := []string{
		"manifest.json: format is missing (want 1)",
		`manifest.json: pack "X": not a valid pack name (lowercase letters, digits, '-' and '_', starting with a letter, at most 64 characters)`,
		"manifest.json: version is missing",
		`manifest.json: files[0].path "/a": unsafe path: absolute path`,
		"manifest.json: files[0].size -1: must be 0 or more",
		`manifest.json: files[0].sha256 "x": not 64 lowercase hex digits`,
		`manifest.json: files[0].mode "8": not an octal mode from "0000" to "0777" (like "0644")`,
	}
	if got := lines(m.Validate()); !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/manifests/*/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The fast decoder agrees with encoding/json wherever it decodes.
		if fm, finfo, ok := fastDecode(data); ok {
			sm, sinfo, ps := slowParse(data, modeSource)
			if sm == nil {
				// Invalid, but was it decoded alike? Compare the problems
				// found in both.
				fps := fm.validate(checks{mode: modeSource, filesGiven: finfo.filesGiven, schemaGiven: finfo.schemaGiven})
				if got, want := lines(fps.err()), lines(ps.err()); !slices.Equal(got, want) {
					t.Fatalf("fast decode problems %q, encoding/json %q", got, want)
				}
			} else if fm.parsed, sm.parsed = (parsedValues{}), (parsedValues{}); !reflect.DeepEqual(fm, sm) || finfo != sinfo {
				t.Fatalf("fast decode %+v %+v, encoding/json %+v %+v", fm, finfo, sm, sinfo)
			}
		}
		for _, parse := range []func([]byte) (*Manifest, error){Parse, ParseSource} {
			m, err := parse(data)
			if (m == nil) == (err == nil) {
				t.Fatalf("manifest %v with error %v", m, err)
			}
			for _, l := range lines(err) {
				if !strings.HasPrefix(l, "manifest.json: ") || strings.Contains(l, "\n") {
					t.Fatalf("bad problem line %q", l)
				}
			}
			if err == nil {
				m.SemVersion()
				m.SchemaVersion()
			}
		}
	})
}

func TestParseDuplicateKeys(t *testing.T) {
	const sum = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
	data := `{"format":1,"pack":"blog","p\u0061ck":"blog","version":"1.0","requires":{"core":">= 1","core":">= 2"},
		"files":[{"path":"a","size":1,"sha256":"` + sum + `"},{"path":"b","path":"c","size":1,"sha256":"` + sum + `"}]}`
	_, err := Parse([]byte(data))
	want := []string{
		`manifest.json: key "pack" appears twice`,
		`manifest.json: requires: key "core" appears twice`,
		`manifest.json: files[1]: key "path" appears twice`,
	}
	if got := lines(err); !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// encoding/json matches keys without regard to case; Parse does not.
	_, err = Parse([]byte(`{"FORMAT":1,"pack":"blog","version":"1.0","files":[{"PATH":"a","size":1,"sha256":"` + sum + `"}]}`))
	want = []string{
		`manifest.json: unknown field "FORMAT"`,
		`manifest.json: files[0]: unknown field "PATH"`,
		"manifest.json: format is missing (want 1)",
		`manifest.json: files[0].path "": unsafe path: empty name`,
	}
	if got := lines(err); !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestFastDecode checks that the fast decoder takes plain manifests,
// leaves odd ones to encoding/json, and agrees with it.
func TestFastDecode(t *testing.T) {
	const sum = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
	plain := []string{
		`{"format":1,"pack":"blog","version":"1.0","files":[]}`,
		" \t\r\n{ \"format\" : 1 , \"pack\" : \"blog\" , \"version\" : \"1.0\" , \"files\" : [ ] } \n",
		`{"format":-0,"pack":"b\u006cog","version":"1.0","whats_new":"Line one.\nLine \"two\" \u00e9 \ud83d\ude00","files":[]}`,
		`{"format":1,"pack":"blog","version":"1.0","requires":{},"database":{},"files":[{"path":"ü/ß","size":0,"sha256":"` + sum + `"}]}`,
		`{"format":1,"pack":"blog","version":"1.0","requires":{"core":">= 1","Core":"x"},"database":{"tables":[],"schema_version":3,"changes":""}}`,
	}
	odd := []string{
		``, `null`, `[]`, `{"format":1}x`, `{"format":1}{}`, `{"format":1.0}`, `{"format":1e0}`, `{"format":01}`,
		`{"format":"1"}`, `{"format":null}`, `{"Format":1}`, `{"format":1,"format":1}`, `{"requires":{"a":"1","a":"2"}}`,
		`{"requires":{"a":"1","\u0061":"2"}}`, `{"files":[{"path":"a","path":"b"}]}`, `{"files":[{"owner":"x"}]}`,
		`{"database":{"foo":1}}`, `{"database":{"tables":[1]}}`, `{"pack":"a` + "\x00" + `"}`, `{"pack":"` + "\xff" + `"}`,
		`{"pack":"\x"}`, `{"format":99999999999999999999}`, `{"files":[{"size":1.5}]}`, `{"format":1,}`, `{"format":1`,
		"\ufeff{}", `{"pack":"a"` + "\v" + `}`,
	}
	for _, in := range plain {
		fm, finfo, ok := fastDecode([]byte(in))
		if !ok {
			t.Errorf("fastDecode left %q to encoding/json", in)
			continue
		}
		sm, sinfo, _ := slowParse([]byte(in), modeSource)
		if sm != nil && (!reflect.DeepEqual(fm, sm) || finfo != sinfo) {
			t.Errorf("%q: fast %+v %+v, encoding/json %+v %+v", in, fm, finfo, sm, sinfo)
		}
	}
	for _, in := range odd {
		if m, _, ok := fastDecode([]byte(in)); ok {
			t.Errorf("fastDecode took %q: %+v", in, m)
		}
	}
	files, _ := filepath.Glob("testdata/manifests/good/*.json")
	for _, path := range files {
		data, _ := os.ReadFile(path)
		if _, _, ok := fastDecode(data); !ok && !strings.Contains(string(data), "null") {
			t.Errorf("fastDecode left %s to encoding/json", path)
		}
	}
}
