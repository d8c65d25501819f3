package dbaddr

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Forms is every form of address, with what it names; updates'
// TestAddressFormsAgree runs the same forms through packs and backupstore.
func TestParseForms(t *testing.T) {
	root := "/srv/app"
	for _, tc := range []struct {
		addr, kind, path, rel, shown, err string
	}{
		{addr: "", kind: "sqlite", path: "/srv/app/data/app.db", rel: "data/app.db"},
		{addr: "sqlite:", kind: "sqlite", path: "/srv/app/data/app.db", rel: "data/app.db"},
		{addr: "sqlite:var/x.db", kind: "sqlite", path: "/srv/app/var/x.db", rel: "var/x.db"},
		{addr: "sqlite:./var/../x.db", kind: "sqlite", path: "/srv/app/x.db", rel: "x.db"},
		{addr: "sqlite:/abs/y.db", kind: "sqlite", path: "/abs/y.db"},
		{addr: "sqlite:/srv/app/data/z.db", kind: "sqlite", path: "/srv/app/data/z.db", rel: "data/z.db"},
		{addr: "sqlite://tmp/x.db", kind: "sqlite", path: "/srv/app/tmp/x.db", rel: "tmp/x.db"},
		{addr: "sqlite:///tmp/x.db", kind: "sqlite", path: "/tmp/x.db"},
		{addr: "sqlite:../outside.db", kind: "sqlite", path: "/srv/outside.db"},
		{addr: "postgres://u:secret@db:5432/app?sslmode=disable", kind: "postgres", shown: "postgres://u:xxxxx@db:5432/app?sslmode=disable"},
		{addr: "postgresql://u@db/app", kind: "postgres", shown: "postgresql://u@db/app"},
		{addr: "postgres://u@/app?host=/var/run/postgresql", kind: "postgres", shown: "postgres://u@/app?host=/var/run/postgresql"},
		{addr: "mysql://root:pw@127.0.0.1:3306/test", kind: "mysql", shown: "mysql://root:xxxxx@127.0.0.1:3306/test"},
		{addr: "mariadb://root@db/test", kind: "mysql", shown: "mariadb://root@db/test"},
		{addr: "mysql://root@/test?socket=/run/mysqld/mysqld.sock", kind: "mysql", shown: "mysql://root@/test?socket=/run/mysqld/mysqld.sock"},
		{addr: "mysql://root@127.0.0.1:3306/", err: "mysql://root@127.0.0.1:3306/ names no database"},
		{addr: "mariadb://root@db", err: "names no database"},
		{addr: "mysql://root@db/a/b", err: "the database name holds a /"},
		{addr: "oracle://x", err: `"oracle://x": want sqlite:PATH`},
		{addr: "/srv/app/data/app.db", err: "want sqlite:PATH"},
		{addr: "data/app.db", err: "want sqlite:PATH"},
		{addr: "postgres://u:secret@db:99999999999/app", err: "invalid port"},
		{addr: "postgres://u:secret@db/%zz", err: "invalid URL escape"},
	} {
		a, err := Parse(tc.addr, root)
		if tc.err != "" {
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) = %v, want an ErrUnsupported saying %q", tc.addr, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("Parse(%q): the error shows the password: %v", tc.addr, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.addr, err)
			continue
		}
		if string(a.Kind) != tc.kind || a.Path != filepath.FromSlash(tc.path) || a.Rel != tc.rel {
			t.Errorf("Parse(%q) = %+v, want kind %s path %s rel %q", tc.addr, a, tc.kind, tc.path, tc.rel)
		}
		if tc.shown != "" && a.String() != tc.shown {
			t.Errorf("Parse(%q).String() = %s, want %s", tc.addr, a, tc.shown)
		}
	}
}

func TestMySQLConfig(t *testing.T) {
	a, err := Parse("mysql://u:p%40ss@db.example:3307/app?charset=utf8mb4", "")
	if err != nil {
		t.Fatal(err)
	}
	c := a.MySQLConfig()
	if c.User != "u" || c.Passwd != "p@ss" || c.Addr != "db.example:3307" || c.DBName != "app" || c.Params["charset"] != "utf8mb4" || c.MultiStatements {
		t.Fatalf("%+v", c)
	}
	a, err = Parse("mysql://u@localhost/app?socket=/run/mysqld/mysqld.sock", "")
	if c = a.MySQLConfig(); err != nil || c.Net != "unix" || c.Addr != "/run/mysqld/mysqld.sock" {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestSame(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"postgres://u@localhost/app", "postgresql://v:pw@127.0.0.1:5432/app?sslmode=disable", true},
		{"postgres://u@localhost/app", "postgres://u@localhost/other", false},
		{"postgres://u@db:5433/app", "postgres://u@db/app", false},
		{"mysql://root@127.0.0.1/test", "mariadb://root@localhost:3306/test", true},
		{"mysql://root@127.0.0.1/test", "postgres://root@127.0.0.1/test", false},
		{"sqlite:data/app.db", "", true},
		{"sqlite:data/app.db", "sqlite:/srv/app/data/app.db", true},
		{"sqlite:a.db", "sqlite:b.db", false},
	} {
		a, err := Parse(tc.a, "/srv/app")
		if err != nil {
			t.Fatal(err)
		}
		b, err := Parse(tc.b, "/srv/app")
		if err != nil {
			t.Fatal(err)
		}
		if a.Same(b) != tc.same || b.Same(a) != tc.same {
			t.Errorf("Same(%q, %q) = %v, want %v", tc.a, tc.b, a.Same(b), tc.same)
		}
	}
}

// The default SQLite file is used only inside the root: a data folder that
// is a symbolic link out of it is refused, unless the address is given.
// A root reached through a symbolic link is still a root.
func TestDefaultDatabaseOutsideRootRefused(t *testing.T) {
	root, elsewhere := t.TempDir(), t.TempDir()
	if _, err := Parse("", root); err != nil {
		t.Fatalf("the default in a plain root: %v", err)
	}
	link := filepath.Join(t.TempDir(), "root-link")
	if err := os.Symlink(root, link); err != nil {
		t.Skip(err)
	}
	if _, err := Parse("", link); err != nil {
		t.Fatalf("the default in a root reached by a link: %v", err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(root, "data")); err != nil {
		t.Fatal(err)
	}
	_, err := Parse("", root)
	if !errors.Is(err, ErrOutsideRoot) || !strings.Contains(err.Error(), "--db sqlite://"+filepath.Join(resolve(elsewhere), "app.db")) {
		t.Fatalf("Parse of the default through a link out of the root = %v, want ErrOutsideRoot naming the --db to give", err)
	}
	for _, explicit := range []string{"sqlite:", "sqlite:data/app.db", "sqlite://" + filepath.Join(elsewhere, "app.db")} {
		if _, err := Parse(explicit, root); err != nil {
			t.Errorf("Parse(%q), given explicitly: %v", explicit, err)
		}
	}
}
