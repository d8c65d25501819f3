package manifest

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseMigrations(t *testing.T) {
	got, err := ParseMigrations([]string{"0002_tags.up.sql", "0001_init.down.sql", "0001_init.up.sql", "3_slug.up.sql", "0002_tags.down.sql"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Migration{
		{Version: 1, Name: "init", Up: "0001_init.up.sql", Down: "0001_init.down.sql"},
		{Version: 2, Name: "tags", Up: "0002_tags.up.sql", Down: "0002_tags.down.sql"},
		{Version: 3, Name: "slug", Up: "3_slug.up.sql"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if got, err := ParseMigrations(nil); err != nil || got != nil {
		t.Errorf("no names: %v, %v", got, err)
	}
}

func TestParseMigrationsBad(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  []string
	}{
		{"duplicate up", []string{"0001_a.up.sql", "0001_b.up.sql", "1_c.up.sql"}, []string{
			`migrations "0001_a.up.sql" and "0001_b.up.sql": both have version 1`,
			`migrations "0001_a.up.sql" and "1_c.up.sql": both have version 1`,
		}},
		{"goose and up", []string{"0001_a.up.sql", "0001_b.sql"}, []string{
			`migrations "0001_a.up.sql" and "0001_b.sql": both have version 1`,
		}},
		{"duplicate down", []string{"0001_a.up.sql", "0001_a.down.sql", "01_a.down.sql"}, []string{
			`migrations "0001_a.down.sql" and "01_a.down.sql": both have version 1`,
		}},
		{"down without up", []string{"0001_a.up.sql", "0002_b.down.sql"}, []string{
			`migration "0002_b.down.sql": no matching up migration "0002_b.up.sql"`,
		}},
		{"down of a goose file", []string{"0001_a.sql", "0001_a.down.sql"}, []string{
			`migration "0001_a.down.sql": version 1 is the goose file "0001_a.sql", which holds its own Down section`,
		}},
		{"too large", []string{"99999999999999999999_a.up.sql"}, []string{
			`migration "99999999999999999999_a.up.sql": version 99999999999999999999 is too large (at most 9223372036854775807)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := ParseMigrations(tt.names)
			if got := lines(err); !slices.Equal(got, tt.want) {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
			if ms != nil || !errors.Is(err, ErrMigration) {
				t.Errorf("got %v, %v", ms, err)
			}
		})
	}
}

// Folders as golang-migrate and goose accept them: timestamps, gaps,
// version 0, goose files, and files that are not migrations beside them.
func TestScanMigrations(t *testing.T) {
	tests := []struct {
		name     string
		names    []string
		want     []Migration
		ignored  []string
		warnings []string
	}{
		{"timestamps", []string{"20240101120000_create_a.up.sql", "20240101120000_create_a.down.sql", "1085649617_x.up.sql", "README.md"},
			[]Migration{{Version: 1085649617, Name: "x", Up: "1085649617_x.up.sql"},
				{Version: 20240101120000, Name: "create_a", Up: "20240101120000_create_a.up.sql", Down: "20240101120000_create_a.down.sql"}},
			[]string{`"README.md": not a migration`}, nil},
		{"gaps and version 0", []string{"0_initial.up.sql", "1_a.up.sql", "3_c.up.sql", "10_j.up.sql"},
			[]Migration{{Version: 0, Name: "initial", Up: "0_initial.up.sql"}, {Version: 1, Name: "a", Up: "1_a.up.sql"},
				{Version: 3, Name: "c", Up: "3_c.up.sql"}, {Version: 10, Name: "j", Up: "10_j.up.sql"}}, nil, nil},
		{"goose", []string{"00001_create_g.sql", "00002_index.sql", "00003_seed.go", "main.go", "embed.go"},
			[]Migration{{Version: 1, Name: "create_g", Up: "00001_create_g.sql", Goose: true}, {Version: 2, Name: "index", Up: "00002_index.sql", Goose: true}},
			[]string{`"00003_seed.go": a Go migration: upkeep does not run Go files from a pack (compile it in with packs.RegisterGo)`,
				`"embed.go": not a migration`, `"main.go": not a migration`}, nil},
		{"near misses", []string{"1_a.up.sql", "30_x.up..sql", "2-add.up.sql", "x_init.up.sql", "4_b.up.SQL", "5_c.up.sql.bak", "schema.sql", ".keep"},
			[]Migration{{Version: 1, Name: "a", Up: "1_a.up.sql"}},
			[]string{`".keep": a hidden file`, `"schema.sql": an SQL file without a version number, not a migration`},
			[]string{
				`"2-add.up.sql": looks like a migration but its version is followed by "-", not "_"; it is ignored`,
				`"30_x.up..sql": looks like a migration but is not named VERSION_name.up.sql or VERSION_name.down.sql; it is ignored`,
				`"4_b.up.SQL": looks like a migration but is not named VERSION_name.up.sql or VERSION_name.down.sql; it is ignored`,
				`"5_c.up.sql.bak": looks like a migration but is not named VERSION_name.up.sql or VERSION_name.down.sql; it is ignored`,
				`"x_init.up.sql": looks like a migration but does not start with a version number (VERSION_name.up.sql); it is ignored`,
			}},
		{"down of another name", []string{"0001_a.up.sql", "0001_b.down.sql"},
			[]Migration{{Version: 1, Name: "a", Up: "0001_a.up.sql", Down: "0001_b.down.sql"}}, nil,
			[]string{`"0001_b.down.sql": the down migration of "0001_a.up.sql", whose name differs`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := ScanMigrations(tt.names)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(set.Migrations, tt.want) {
				t.Errorf("migrations\n got  %+v\n want %+v", set.Migrations, tt.want)
			}
			if got := notes(set.Ignored); !slices.Equal(got, tt.ignored) {
				t.Errorf("ignored\n got  %q\n want %q", got, tt.ignored)
			}
			if got := notes(set.Warnings); !slices.Equal(got, tt.warnings) {
				t.Errorf("warnings\n got  %q\n want %q", got, tt.warnings)
			}
		})
	}
}

func FuzzParseMigrations(f *testing.F) {
	f.Add("0001_init.up.sql\n0001_init.down.sql\n0002_tags.up.sql")
	f.Add("0002_b.up.sql\nREADME.md\n0001_a.down.sql\n20260101_x.up.sql")
	f.Fuzz(func(t *testing.T, list string) {
		names := strings.Split(list, "\n")
		ms, err := ParseMigrations(names)
		if err != nil {
			if ms != nil {
				t.Fatal("migrations with an error")
			}
			for _, l := range lines(err) {
				if strings.Contains(l, "\n") || !errors.Is(err, ErrMigration) {
					t.Fatalf("bad problem %q", l)
				}
			}
			return
		}
		for i, m := range ms {
			if m.Up == "" || m.Version < 0 || i > 0 && m.Version <= ms[i-1].Version {
				t.Fatalf("migration %d: %+v", i, m)
			}
		}
	})
}

func notes(ns []FileNote) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.String())
	}
	return out
}
