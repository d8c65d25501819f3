package backupstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/upkeep/upkeep/internal/dbsnap"
	"github.com/upkeep/upkeep/layout"
)

// serverDB is a uniquely named database on a test server, dropped at the
// end of the test.
type serverDB struct {
	t   *testing.T
	dsn string
	cfg dbConfig
}

func (s serverDB) exec(sql string) string {
	s.t.Helper()
	var out string
	var err error
	if s.cfg.kind == DBPostgres {
		out, err = dbsnap.Client(context.Background(), s.cfg.addr, nil, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql)
	} else {
		out, err = dbsnap.Client(context.Background(), s.cfg.addr, strings.NewReader(sql), "-N", "-B")
	}
	if err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func newServerDB(t *testing.T, env string) serverDB {
	t.Helper()
	base := requireEnv(t, env)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("upkeep_test_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	admin, err := parseDB(layout.Root{}, base, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if admin.kind == DBPostgres {
		requireTool(t, "pg_dump")
		requireTool(t, "psql")
	} else {
		requireTool(t, "mariadb-dump")
		requireTool(t, "mariadb")
	}
	s := serverDB{t: t, cfg: admin}
	s.exec("CREATE DATABASE " + name)
	adm := s
	t.Cleanup(func() {
		if admin.kind == DBPostgres {
			adm.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		} else {
			adm.exec("DROP DATABASE IF EXISTS " + name)
		}
	})
	u.Path = "/" + name
	s.dsn = u.String()
	if s.cfg, err = parseDB(layout.Root{}, s.dsn, nil, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

func insertPosts(from, to int) string {
	var vals []string
	for i := from; i <= to; i++ {
		vals = append(vals, fmt.Sprintf("('post %d', '%s')", i, strings.Repeat(fmt.Sprintf("%02x", i%256), i%50)))
	}
	return "INSERT INTO posts (title, body) VALUES " + strings.Join(vals, ", ") + ";"
}

func testServerRoundTrip(t *testing.T, s serverDB, schema, rowsQuery, extraGone string) {
	r := newRoot(t)
	write(t, r.Dir, "a.txt", []byte("a"), 0o644)
	s.exec(schema + insertPosts(1, 100))
	want := s.exec(rowsQuery)
	if strings.Count(want, "\n") != 100 {
		t.Fatalf("setup: %d rows", strings.Count(want, "\n"))
	}
	b := create(t, CreateOptions{Root: r, DB: s.dsn})
	m, err := Show(r, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Database.Kind != s.cfg.kind || m.Database.Snapshot == nil || m.Database.Snapshot.Path != "database/dump.sql" || m.Database.Snapshot.Size == 0 {
		t.Fatalf("database = %+v", m.Database)
	}
	if err := Verify(r, b.ID); err != nil {
		t.Fatal(err)
	}

	// Change rows, add a table, drop the view.
	s.exec("DELETE FROM posts WHERE id > 10; UPDATE posts SET title = 'changed' WHERE id = 1; CREATE TABLE extra (x int); DROP VIEW recent;" + insertPosts(500, 505))
	changed := s.exec(rowsQuery)

	if _, err := Restore(context.Background(), RestoreOptions{Root: r, ID: b.ID, DB: s.dsn}); err != nil {
		t.Fatal(err)
	}
	if got := s.exec(rowsQuery); got != want {
		t.Errorf("rows after restore differ:\n%.300s\nwant\n%.300s", got, want)
	}
	if got := s.exec(extraGone); strings.TrimSpace(got) != "0" {
		t.Errorf("table extra survived the restore (%q)", got)
	}
	if got := s.exec("SELECT count(*) FROM recent"); strings.TrimSpace(got) != "5" {
		t.Errorf("view recent after restore: %q", got)
	}
	// New rows continue after the restored ones (sequence / auto-increment).
	s.exec(insertPosts(101, 101))
	if got := s.exec("SELECT max(id) FROM posts"); strings.TrimSpace(got) != "101" {
		t.Errorf("next id after restore = %q, want 101", got)
	}

	// The before-restore backup holds the changed state; restoring it with
	// a failure injected at the database step rolls the files back and
	// leaves the database as it was.
	list, _ := List(r)
	before := list[0]
	if before.Reason != ReasonBeforeRestore {
		t.Fatalf("newest backup is %s", before.ID)
	}
	s.exec("DELETE FROM posts WHERE id = 101")
	_, err = Restore(context.Background(), RestoreOptions{Root: r, ID: before.ID, DB: s.dsn,
		failAt: func(step string) error {
			if step == "server" {
				return errors.New("boom")
			}
			return nil
		}})
	var re *RestoreError
	if !errors.As(err, &re) || !re.RolledBack {
		t.Fatalf("Restore with a failure = %v, want rolled back", err)
	}
	if got := s.exec(rowsQuery); got != want {
		t.Error("rows changed by a rolled-back restore")
	}
	if _, err := Restore(context.Background(), RestoreOptions{Root: r, ID: before.ID, DB: s.dsn}); err != nil {
		t.Fatal(err)
	}
	if got := s.exec(rowsQuery); got != changed {
		t.Error("restoring the before-restore backup did not bring back the changed rows")
	}
}

// PostgreSQL: pg_dump snapshot, restored with psql in one transaction
// after dropping schema public's objects.
func TestPostgresSnapshotAndRestore(t *testing.T) {
	s := newServerDB(t, "UPKEEP_TEST_POSTGRES")
	testServerRoundTrip(t, s,
		"CREATE TABLE posts (id serial PRIMARY KEY, title text NOT NULL, body bytea); CREATE INDEX posts_title ON posts (title);"+
			"CREATE VIEW recent AS SELECT * FROM posts ORDER BY id DESC LIMIT 5;",
		"SELECT id, title, encode(body, 'hex') FROM posts ORDER BY id",
		"SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'extra'")
}

// MariaDB/MySQL: mariadb-dump --single-transaction --routines snapshot,
// restored with the mariadb client into the recreated database.
func TestMySQLSnapshotAndRestore(t *testing.T) {
	s := newServerDB(t, "UPKEEP_TEST_MYSQL")
	testServerRoundTrip(t, s,
		"CREATE TABLE posts (id int AUTO_INCREMENT PRIMARY KEY, title varchar(100) NOT NULL, body blob, KEY (title));"+
			"CREATE VIEW recent AS SELECT * FROM posts ORDER BY id DESC LIMIT 5;"+
			"CREATE PROCEDURE hello() SELECT 'hello';",
		"SELECT id, title, hex(body) FROM posts ORDER BY id",
		"SELECT count(*) FROM information_schema.tables WHERE table_schema = database() AND table_name = 'extra'")
}

// The error for a missing client program names the Debian package.
func TestToolMissingError(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	r := newRoot(t)
	_, err := Create(context.Background(), CreateOptions{Root: r, DB: "mysql://root@127.0.0.1:1/x"})
	want := "backupstore: neither mariadb-dump nor mysqldump is installed (Debian package mariadb-client: apt-get install mariadb-client)"
	if !errors.Is(err, ErrToolMissing) || err.Error() != want {
		t.Errorf("Create = %v\nwant %s", err, want)
	}
	_, err = Create(context.Background(), CreateOptions{Root: r, DB: "postgres://u:secret@127.0.0.1:1/x"})
	if !errors.Is(err, ErrToolMissing) || !strings.Contains(err.Error(), "pg_dump is not installed (Debian package postgresql-client") {
		t.Errorf("Create = %v", err)
	}
	if names := backupFiles(t, r); len(names) != 0 {
		t.Errorf("Updates_Backups holds %v", names)
	}
}
