package updates

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zip"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/internal/dbaddr"
	"github.com/upkeep/upkeep/internal/testdb"
	"github.com/upkeep/upkeep/packs"
)

// One address parser: every form of database address, given to packs
// (which opens it) and to backupstore (which snapshots it), names the same
// database in both, or is refused by both with the same message. The
// proof for an accepted address: a table made through packs' handle is in
// backupstore's snapshot, and both report the same backend.
func TestAddressFormsAgree(t *testing.T) {
	ctx := context.Background()
	type form struct{ name, addr string }
	root := newRoot(t)
	abs := filepath.Join(t.TempDir(), "abs.db")
	forms := []form{
		{"default", ""},
		{"sqlite:", "sqlite:"},
		{"sqlite:relative", "sqlite:var/rel.db"},
		{"sqlite:/abs", "sqlite:" + abs},
		{"sqlite://relative", "sqlite://var/slashes.db"},
		{"sqlite:///abs", "sqlite://" + abs},
	}
	if os.Getenv("UPKEEP_TEST_POSTGRES") != "" || os.Getenv("UPKEEP_TEST_REQUIRE") == "1" {
		pg, err := url.Parse(testdb.Fresh(t, "postgres"))
		if err != nil {
			t.Fatal(err)
		}
		forms = append(forms, form{"postgres://", pg.String()})
		pg2 := *pg
		pg2.Scheme = "postgresql"
		forms = append(forms, form{"postgresql://", pg2.String()})
		sock := *pg
		sock.Host = ""
		q := sock.Query()
		q.Set("host", "/var/run/postgresql")
		sock.RawQuery = q.Encode()
		forms = append(forms, form{"postgres unix socket (host=/dir)", sock.String()})
	}
	if os.Getenv("UPKEEP_TEST_MYSQL") != "" || os.Getenv("UPKEEP_TEST_REQUIRE") == "1" {
		my, err := url.Parse(testdb.Fresh(t, "mysql"))
		if err != nil {
			t.Fatal(err)
		}
		forms = append(forms, form{"mysql://", my.String()})
		ma := *my
		ma.Scheme = "mariadb"
		forms = append(forms, form{"mariadb://", ma.String()})
		sock := *my
		sock.Host = ""
		sock.RawQuery = "socket=/run/mysqld/mysqld.sock"
		forms = append(forms, form{"mysql unix socket (socket=)", sock.String()})
	}
	for i, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			db, err := packs.Open(ctx, f.addr, root.Dir)
			if err != nil {
				t.Fatalf("packs.Open(%q): %v", f.addr, err)
			}
			defer db.Close()
			marker := "marker_" + strings.ReplaceAll(strings.ToLower(t.Name()[len("TestAddressFormsAgree/"):]), " ", "_")
			marker = strings.Map(func(r rune) rune {
				if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
					return r
				}
				return '_'
			}, marker) + "_" + string(rune('a'+i))
			if _, err := db.SQL().ExecContext(ctx, "CREATE TABLE "+marker+" (id integer)"); err != nil {
				t.Fatal(err)
			}
			b, err := backupstore.Create(ctx, backupstore.CreateOptions{Root: root, DB: f.addr, Reason: "agree"})
			if err != nil {
				t.Fatalf("backupstore.Create with %q: %v", f.addr, err)
			}
			m, err := backupstore.Show(root, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			if m.Database.Kind != db.Backend() {
				t.Errorf("backupstore says %s, packs says %s", m.Database.Kind, db.Backend())
			}
			if db.Backend() == "sqlite" {
				src := m.Database.Source
				if !filepath.IsAbs(src) {
					src = filepath.Join(root.Dir, src)
				}
				if "sqlite:"+src != db.String() {
					t.Errorf("backupstore snapshots %s, packs opened %s", src, db)
				}
			}
			if snap := snapshotOf(t, b.Path, m); !bytes.Contains(snap, []byte(marker)) {
				t.Errorf("the snapshot of %q lacks table %s, made through packs' handle", f.addr, marker)
			}
		})
	}
}

func snapshotOf(t *testing.T, path string, m *backupstore.Manifest) []byte {
	t.Helper()
	if m.Database.Snapshot == nil {
		t.Fatalf("no snapshot: %s", m.Database.Note)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	rc, err := zr.Open(m.Database.Snapshot.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The bad addresses: both refuse them, with the one parser's message.
func TestAddressFormsRefusedAlike(t *testing.T) {
	ctx := context.Background()
	root := newRoot(t)
	for _, addr := range []string{
		"oracle://x", "/srv/app/data/app.db", "data/app.db", "mysql://root@127.0.0.1:3306/",
		"mariadb://root@db", "mysql://root@db/a/b", "postgres://u:secret@db:99999999999/app", "postgres://u:secret@db/%zz",
	} {
		_, perr := packs.Open(ctx, addr, root.Dir)
		_, berr := backupstore.Create(ctx, backupstore.CreateOptions{Root: root, DB: addr})
		if !errors.Is(perr, packs.ErrBadDSN) || !errors.Is(berr, backupstore.ErrUnsupportedDatabase) || !errors.Is(perr, dbaddr.ErrUnsupported) {
			t.Errorf("%q: packs %v, backupstore %v; want both unsupported", addr, perr, berr)
			continue
		}
		pm, bm := strings.TrimPrefix(perr.Error(), "packs: "), strings.TrimPrefix(berr.Error(), "backupstore: ")
		if pm != bm {
			t.Errorf("%q: packs says %q, backupstore %q", addr, pm, bm)
		}
		if strings.Contains(pm, "secret") {
			t.Errorf("%q: the message shows the password: %s", addr, pm)
		}
	}
	if list, _ := backupstore.List(root); len(list) != 0 {
		t.Errorf("refused addresses left backups: %v", list)
	}
}
