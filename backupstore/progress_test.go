package backupstore

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The progress of a backup with a database ends at its totals, neither
// over nor under: the snapshot counts as the file and the bytes it is, on
// SQLite, PostgreSQL and MariaDB.
func TestCreateProgressCountsTheDatabase(t *testing.T) {
	last := regexp.MustCompile(`^backup: (\d+)/(\d+) files, ([0-9.]+ [kMG]?B)/([0-9.]+ [kMG]?B)$`)
	check := func(t *testing.T, opts CreateOptions) {
		t.Helper()
		var buf bytes.Buffer
		opts.Progress = &buf
		create(t, opts)
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		m := last.FindStringSubmatch(lines[len(lines)-1])
		if m == nil || m[1] != m[2] || m[3] != m[4] {
			t.Fatalf("last progress line %q: want files and bytes at their totals\n%s", lines[len(lines)-1], buf.String())
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		r := newRoot(t)
		mkSQLite(t, filepath.Join(r.Dir, "data", "app.db"), 200)
		write(t, r.Dir, "packs/blog/index.html", []byte("<p>blog</p>"), 0o644)
		check(t, CreateOptions{Root: r})
	})
	for env, table := range map[string]string{
		"UPKEEP_TEST_POSTGRES": "CREATE TABLE posts (id serial PRIMARY KEY, title text NOT NULL, body bytea)",
		"UPKEEP_TEST_MYSQL":    "CREATE TABLE posts (id int AUTO_INCREMENT PRIMARY KEY, title varchar(100) NOT NULL, body blob)",
	} {
		t.Run(env, func(t *testing.T) {
			s := newServerDB(t, env)
			s.exec(table)
			s.exec(insertPosts(1, 50))
			r := newRoot(t)
			write(t, r.Dir, "packs/blog/index.html", []byte("<p>blog</p>"), 0o644)
			check(t, CreateOptions{Root: r, DB: s.dsn})
		})
	}
}
