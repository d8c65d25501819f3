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
		{"pattern", []string{"0001_init.up.sql", "README.md", "0002_x.sql", "0002-x.up.sql", "x_init.up.sql", "0002_.up.sql", "0002_a.up.SQL"}, []string{
			`migration "0002-x.up.sql": not named VERSION_name.up.sql or VERSION_name.down.sql`,
			`migration "0002_.up.sql": not named VERSION_name.up.sql or VERSION_name.down.sql`,
			`migration "0002_a.up.SQL": not named VERSION_name.up.sql or VERSION_name.down.sql`,
			`migration "0002_x.sql": not named VERSION_name.up.sql or VERSION_name.down.sql`,
			`migration "README.md": not named VERSION_name.up.sql or VERSION_name.down.sql`,
			`migration "x_init.up.sql": not named VERSION_name.up.sql or VERSION_name.down.sql`,
		}},
		{"duplicate up", []string{"0001_a.up.sql", "0001_b.up.sql", "1_c.up.sql"}, []string{
			`migrations "0001_a.up.sql" and "0001_b.up.sql": both have version 1`,
			`migrations "0001_a.up.sql" and "1_c.up.sql": both have version 1`,
		}},
		{"duplicate down", []string{"0001_a.up.sql", "0001_a.down.sql", "01_a.down.sql"}, []string{
			`migrations "0001_a.down.sql" and "01_a.down.sql": both have version 1`,
		}},
		{"down without up", []string{"0001_a.up.sql", "0002_b.down.sql"}, []string{
			`migration "0002_b.down.sql": no matching up migration "0002_b.up.sql"`,
		}},
		{"down of another name", []string{"0001_a.up.sql", "0001_b.down.sql"}, []string{
			`migration "0001_b.down.sql": its up migration is "0001_a.up.sql"; the names differ`,
		}},
		{"version 0", []string{"0000_a.up.sql", "0001_b.up.sql"}, []string{
			`migration "0000_a.up.sql": version 0000 out of range (versions run 1, 2, 3, ...)`,
		}},
		{"timestamp", []string{"20260101120000_a.up.sql"}, []string{
			`migration "20260101120000_a.up.sql": version 20260101120000 out of range (versions run 1, 2, 3, ...)`,
		}},
		{"first missing", []string{"0002_b.up.sql", "0003_c.up.sql"}, []string{
			`migrations: version 1 is missing (the first is "0002_b.up.sql")`,
		}},
		{"gap", []string{"0001_a.up.sql", "0003_c.up.sql", "0007_g.up.sql"}, []string{
			`migrations: version 2 is missing (between "0001_a.up.sql" and "0003_c.up.sql")`,
			`migrations: versions 4 to 6 are missing (between "0003_c.up.sql" and "0007_g.up.sql")`,
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
			if m.Version != i+1 || m.Up == "" {
				t.Fatalf("migration %d: %+v", i, m)
			}
		}
	})
}
