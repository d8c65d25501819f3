package packs

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestReadMigrationsDirConcurrent checks that reading a folder with several
// goroutines gives what one reader gives, and that a file that cannot be
// read is reported as the first in version order.
func TestReadMigrationsDirConcurrent(t *testing.T) {
	dir := t.TempDir()
	for i := 1; i <= 40; i++ {
		up := fmt.Sprintf("CREATE TABLE t_%d (id INTEGER);\n", i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%04d_t%d.up.sql", i, i)), []byte(up), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%04d_t%d.down.sql", i, i)), []byte("DROP TABLE x;\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadMigrationsDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ReadMigrationsFS(os.DirFS(dir), ".") // one reader
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 40 || len(want) != 40 {
		t.Fatalf("got %d and %d migrations, want 40", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		g.readDown, w.readDown = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("migration %d: concurrent %+v, one reader %+v", i+1, g, w)
		}
	}

	// Two unreadable up files (folders in their place): the error names
	// the first.
	for _, v := range []int{31, 7} {
		name := filepath.Join(dir, fmt.Sprintf("%04d_t%d.up.sql", v, v))
		if err := os.Remove(name); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(dir, "missing"), name); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		_, err := ReadMigrationsDir(dir)
		if err == nil || !strings.Contains(err.Error(), "0007_t7.up.sql") {
			t.Fatalf("err = %v, want one naming 0007_t7.up.sql", err)
		}
	}
}
