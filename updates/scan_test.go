package updates

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/upkeep/upkeep/layout"
)

func scanRoot(t *testing.T, root layout.Root) *Report {
	t.Helper()
	r, err := Scan(context.Background(), ScanOptions{Root: root.Dir})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// byFile returns the updates of r by file name.
func byFile(r *Report) map[string]*Update {
	m := map[string]*Update{}
	for _, u := range r.Updates {
		m[u.File] = u
	}
	return m
}

func wantStatus(t *testing.T, u *Update, status Status, problem string) {
	t.Helper()
	if u == nil {
		t.Fatalf("update missing from the report")
	}
	if u.Status != status {
		t.Fatalf("%s: status %s, want %s (problems: %q)", u.File, u.Status, status, u.Problems)
	}
	if problem == "" {
		if len(u.Problems) != 0 {
			t.Fatalf("%s: problems %q, want none", u.File, u.Problems)
		}
		return
	}
	for _, p := range u.Problems {
		if strings.Contains(p, problem) {
			return
		}
	}
	t.Fatalf("%s: problems %q, want one containing %q", u.File, u.Problems, problem)
}

func TestScanEmpty(t *testing.T) {
	root := newRoot(t)
	r := scanRoot(t, root)
	if len(r.Updates) != 0 {
		t.Fatalf("got %d updates, want none", len(r.Updates))
	}
	// A root without Updates_Pending at all scans as empty too.
	if err := os.Remove(root.Pending()); err != nil {
		t.Fatal(err)
	}
	if r := scanRoot(t, root); len(r.Updates) != 0 {
		t.Fatalf("got %d updates, want none", len(r.Updates))
	}
}

func TestScanNewAndUpgrade(t *testing.T) {
	root := newRoot(t)
	newPack("core", "2.0.0").migrations(3, "users").install(t, root)
	newPack("core", "2.1.0").migrations(5, "users").writeZip(t, pending(root, "core-2.1.0.zip"))
	newPack("blog", "1.0.0").migrations(2, "posts").writeZip(t, pending(root, "blog-1.0.0.zip"))
	os.WriteFile(pending(root, "README.txt"), []byte("not an update"), 0o644)

	r := scanRoot(t, root)
	if len(r.Updates) != 2 {
		t.Fatalf("got %d updates, want 2 (README.txt is not one)", len(r.Updates))
	}
	u := byFile(r)
	core := u["core-2.1.0.zip"]
	wantStatus(t, core, Ready, "")
	if core.InstalledVersion != "2.0.0" || core.Version != "2.1.0" {
		t.Errorf("core: %s -> %s, want 2.0.0 -> 2.1.0", core.InstalledVersion, core.Version)
	}
	want := &DatabaseChange{From: 3, To: 5, Migrations: []string{"0004_step4.up.sql", "0005_step5.up.sql"}, Tables: []string{"users"}, Changes: "Adds tables."}
	if !reflect.DeepEqual(core.Database, want) {
		t.Errorf("core database change %+v, want %+v", core.Database, want)
	}
	blog := u["blog-1.0.0.zip"]
	wantStatus(t, blog, Ready, "")
	if blog.InstalledVersion != "" || blog.Database.From != 0 || len(blog.Database.Migrations) != 2 {
		t.Errorf("blog: installed %q, database %+v; want a new pack with 2 migrations from 0", blog.InstalledVersion, blog.Database)
	}
	if blog.Order != 1 || core.Order != 2 {
		t.Errorf("order blog %d, core %d; want 1, 2 (by name, nothing required)", blog.Order, core.Order)
	}
	if len(r.Installed) != 1 || r.Installed[0] != (InstalledPack{Pack: "core", Version: "2.0.0", SchemaVersion: 3}) {
		t.Errorf("installed %+v", r.Installed)
	}
}

func TestScanClassifies(t *testing.T) {
	root := newRoot(t)
	newPack("core", "2.0.0").install(t, root)
	newPack("shop", "1.5.0").install(t, root)

	newPack("core", "2.0.0").writeZip(t, pending(root, "core-again.zip"))
	newPack("shop", "1.4.0").writeZip(t, pending(root, "shop-old.zip"))
	up := newPack("forum", "3.0.0")
	up.m.UpgradesFrom = ">= 2.5"
	up.writeZip(t, pending(root, "forum-new.zip")) // forum is not installed: upgrades_from does not apply
	newPack("wiki", "1.0.0").install(t, root)
	skip := newPack("wiki", "3.0.0")
	skip.m.UpgradesFrom = ">= 2.0"
	skip.writeZip(t, pending(root, "wiki-3.zip"))
	newPack("gallery", "1.0.0").requires("core", ">= 3.0").writeZip(t, pending(root, "gallery.zip"))
	newPack("chat", "1.0.0").requires("mail", ">= 1").writeZip(t, pending(root, "chat.zip"))
	newPack("maps", "1.0.0").writeZip(t, pending(root, "maps-a.zip"))
	newPack("maps", "1.1.0").writeZip(t, pending(root, "maps-b.zip"))

	u := byFile(scanRoot(t, root))
	wantStatus(t, u["core-again.zip"], Installed, "core-again.zip: core 2.0.0 is already installed")
	wantStatus(t, u["shop-old.zip"], Downgrade, "shop-old.zip: shop 1.4.0 is older than the installed 1.5.0")
	wantStatus(t, u["forum-new.zip"], Ready, "")
	wantStatus(t, u["wiki-3.zip"], Blocked, "wiki-3.zip: upgrades wiki from >= 2.0 only, and 1.0.0 is installed")
	wantStatus(t, u["gallery.zip"], Blocked, "gallery.zip: requires core >= 3.0, and core 2.0.0 is installed")
	wantStatus(t, u["chat.zip"], Blocked, "chat.zip: requires mail >= 1, which is not installed")
	wantStatus(t, u["maps-a.zip"], Blocked, "2 updates of pack maps are pending: maps-a.zip (1.0.0), maps-b.zip (1.1.0); remove all but one")
	wantStatus(t, u["maps-b.zip"], Blocked, "remove all but one")
}

func TestScanRequiresWithinBatch(t *testing.T) {
	root := newRoot(t)
	newPack("core", "1.9.0").install(t, root)
	// Names chosen so that name order is the wrong install order.
	newPack("zcore", "1.0.0").writeZip(t, pending(root, "a-zcore.zip"))
	newPack("core", "2.0.0").requires("zcore", ">= 1.0").writeZip(t, pending(root, "b-core.zip"))
	newPack("blog", "1.0.0").requires("core", ">= 2.0, < 3.0").writeZip(t, pending(root, "c-blog.zip"))
	newPack("alpha", "1.0.0").requires("blog", ">= 1").writeZip(t, pending(root, "d-alpha.zip"))

	r := scanRoot(t, root)
	var got []string
	for _, u := range r.Ready() {
		got = append(got, u.Pack)
	}
	if want := []string{"zcore", "core", "blog", "alpha"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("install order %v, want %v", got, want)
	}
	for i, u := range r.Updates {
		if u.Order != i+1 {
			t.Errorf("%s: order %d at position %d", u.File, u.Order, i)
		}
	}
}

func TestScanBlockedSpreads(t *testing.T) {
	root := newRoot(t)
	newPack("core", "1.9.0").install(t, root)
	// core 2.0 cannot go (it upgrades from >= 2.0 only), so blog, which
	// needs core 2, cannot go either, and neither can what needs blog.
	c := newPack("core", "2.5.0")
	c.m.UpgradesFrom = ">= 2.0"
	c.writeZip(t, pending(root, "core.zip"))
	newPack("blog", "1.0.0").requires("core", ">= 2.0").writeZip(t, pending(root, "blog.zip"))
	newPack("theme", "1.0.0").requires("blog", ">= 1.0").writeZip(t, pending(root, "theme.zip"))

	u := byFile(scanRoot(t, root))
	wantStatus(t, u["core.zip"], Blocked, "upgrades core from >= 2.0 only")
	wantStatus(t, u["blog.zip"], Blocked, "blog.zip: requires core >= 2.0, and core 1.9.0 is installed (core.zip is blocked)")
	wantStatus(t, u["theme.zip"], Blocked, "theme.zip: requires blog >= 1.0, which is not installed (blog.zip is blocked)")
}

func TestScanRequiresCycle(t *testing.T) {
	root := newRoot(t)
	newPack("a", "1.0.0").requires("b", ">= 1").writeZip(t, pending(root, "a.zip"))
	newPack("b", "1.0.0").requires("a", ">= 1").writeZip(t, pending(root, "b.zip"))
	newPack("c", "1.0.0").writeZip(t, pending(root, "c.zip"))

	u := byFile(scanRoot(t, root))
	wantStatus(t, u["a.zip"], Blocked, "a.zip: a requires itself through a -> b; break the cycle")
	wantStatus(t, u["b.zip"], Blocked, "break the cycle")
	wantStatus(t, u["c.zip"], Ready, "")
	if u["c.zip"].Order != 1 {
		t.Errorf("c: order %d, want 1", u["c.zip"].Order)
	}
}

func TestScanIncompleteOrDamaged(t *testing.T) {
	root := newRoot(t)
	full := newPack("blog", "1.0.0").migrations(2).writeZip(t, filepath.Join(t.TempDir(), "full.zip"))
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	// Half a zip: what Updates_Pending holds while the zip is being copied.
	copying := pending(root, "copying.zip")
	os.WriteFile(copying, data[:len(data)/2], 0o644)
	// The same half, last changed an hour ago: a copy that died.
	stale := pending(root, "stale.zip")
	os.WriteFile(stale, data[:len(data)/2], 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(stale, old, old)
	os.WriteFile(pending(root, "empty.zip"), nil, 0o644)

	u := byFile(scanRoot(t, root))
	wantStatus(t, u["copying.zip"], Incomplete, "copying.zip: still being copied (no end of central directory yet")
	wantStatus(t, u["empty.zip"], Incomplete, "still being copied")
	wantStatus(t, u["stale.zip"], Invalid, "stale.zip")
	if p := strings.Join(u["stale.zip"].Problems, "\n"); strings.Contains(p, "being copied") {
		t.Errorf("stale.zip: %q, want it called damaged, not being copied", p)
	}
}

func TestScanInvalidManifest(t *testing.T) {
	root := newRoot(t)
	p := newPack("blog", "1.0.0")
	p.m.Version = "one point oh"
	p.writeZip(t, pending(root, "blog.zip"))
	// Gaps are fine (golang-migrate allows them); two migrations of one
	// version are not.
	dup := newPack("shop", "1.0.0").migrations(3)
	dup.files["migrations/1_again.up.sql"] = "SELECT 1;\n"
	dup.writeZip(t, pending(root, "shop.zip"))
	bad := newPack("wiki", "1.0.0").migrations(2)
	bad.m.Database.SchemaVersion = 5
	bad.writeZip(t, pending(root, "wiki.zip"))

	u := byFile(scanRoot(t, root))
	wantStatus(t, u["blog.zip"], Invalid, `blog.zip: manifest.json: version "one point oh"`)
	wantStatus(t, u["shop.zip"], Invalid, `migrations "0001_step1.up.sql" and "1_again.up.sql": both have version 1`)
	wantStatus(t, u["wiki.zip"], Invalid, `wiki.zip: manifest.json: database.schema_version 5, but the highest migration is "migrations/0002_step2.up.sql"`)
	for _, name := range []string{"blog.zip", "shop.zip", "wiki.zip"} {
		if u[name].Pack != "" && u[name].Status == Ready {
			t.Errorf("%s is ready", name)
		}
	}
}

func TestScanOne(t *testing.T) {
	root := newRoot(t)
	newPack("core", "1.0.0").install(t, root)
	newPack("core", "1.1.0").writeZip(t, pending(root, "core.zip"))
	outside := newPack("core", "0.9.0").writeZip(t, filepath.Join(t.TempDir(), "old-core.zip"))

	u, err := ScanOne(context.Background(), ScanOptions{Root: root.Dir}, "core.zip")
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, u, Ready, "")
	u, err = ScanOne(context.Background(), ScanOptions{Root: root.Dir}, outside)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, u, Downgrade, "is older than the installed 1.0.0")
	if _, err := ScanOne(context.Background(), ScanOptions{Root: root.Dir}, "nope.zip"); err == nil || !strings.Contains(err.Error(), "nope.zip") {
		t.Fatalf("err %v, want one naming nope.zip", err)
	}
}

func TestBootstrapModes(t *testing.T) {
	root := newRoot(t)
	ctx := context.Background()
	r, err := Bootstrap(ctx, Options{ScanOptions: ScanOptions{Root: root.Dir}})
	if err != nil || len(r.Updates) != 0 {
		t.Fatalf("empty root: %v, %v; want an empty report and nil", r, err)
	}
	newPack("core", "1.0.0").writeZip(t, pending(root, "core.zip"))
	r, err = Bootstrap(ctx, Options{ScanOptions: ScanOptions{Root: root.Dir}, Mode: Check})
	if err == nil || err.Error() != "1 update zip pending in "+root.Pending()+"; nothing was changed" || !errors.Is(err, ErrPending) || len(r.Updates) != 1 {
		t.Fatalf("check: %v, %v; want the report and ErrPending", r, err)
	}
	r, err = Bootstrap(ctx, Options{ScanOptions: ScanOptions{Root: root.Dir}, Mode: Ignore})
	if err != nil || len(r.Updates) != 0 || r.Recovery != nil {
		t.Fatalf("ignore: %+v, %v; want an empty report and nil", r, err)
	}
}

func TestScanOddEntries(t *testing.T) {
	root := newRoot(t)
	os.Mkdir(pending(root, "folder.zip"), 0o755)
	real := newPack("core", "1.0.0").writeZip(t, filepath.Join(t.TempDir(), "real.zip"))
	os.Symlink(real, pending(root, "link.zip"))
	newPack("blog", "1.0.0").writeZip(t, pending(root, "blog.zip"))
	os.WriteFile(pending(root, "blog.zip.minisig"), []byte("not a signature"), 0o644)

	u := byFile(scanRoot(t, root))
	wantStatus(t, u["folder.zip"], Invalid, "folder.zip: a folder, not a zip file")
	wantStatus(t, u["link.zip"], Invalid, "link.zip: a symlink; put the zip file itself in Updates_Pending")
	// No key is trusted: a broken signature does not stop the zip, but the
	// report says what is wrong with it.
	wantStatus(t, u["blog.zip"], Ready, "")
	if s := u["blog.zip"].Signature; s.State != "invalid" || !strings.Contains(s.Problem, "blog.zip.minisig: malformed signature") {
		t.Fatalf("signature %+v", s)
	}
	var b strings.Builder
	u["blog.zip"].WriteText(&b)
	if !strings.Contains(b.String(), "Signature: invalid: blog.zip.minisig: malformed signature") || !strings.Contains(b.String(), "no key is trusted, so no signature is required") {
		t.Fatalf("report:\n%s", b.String())
	}
}
