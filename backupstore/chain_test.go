package backupstore

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upkeep/upkeep/layout"
)

// settle waits until every file written so far is older than racyWindow,
// so the next backup may reference it (a file changed within a second of
// a backup is stored again by the next one).
func settle() { time.Sleep(racyWindow + 50*time.Millisecond) }

// chainState is the root and database as one backup of a chain holds them.
type chainState struct {
	id   string
	tree map[string]node
	rows string
}

// chainSteps change the root between the backups of a chain: each kind
// of change the issue names.
var chainSteps = []struct {
	name   string
	change func(t *testing.T, dir string)
}{
	{"first", func(t *testing.T, dir string) {}},
	{"added", func(t *testing.T, dir string) {
		write(t, dir, "packs/new/added.txt", textBytes(3000), 0o644)
	}},
	{"same size, new mtime", func(t *testing.T, dir string) {
		p := filepath.Join(dir, "packs/core/manifest.json")
		write(t, dir, "packs/core/manifest.json", []byte(`{"pack":"CORE"}`), 0o644)
		later := time.Now().Add(time.Hour)
		os.Chtimes(p, later, later)
	}},
	{"same mtime, new size", func(t *testing.T, dir string) {
		p := filepath.Join(dir, "README.txt")
		fi, _ := os.Stat(p)
		write(t, dir, "README.txt", []byte("hello, longer\n"), 0o644)
		os.Chtimes(p, fi.ModTime(), fi.ModTime())
	}},
	{"in place, mtime put back", func(t *testing.T, dir string) {
		// Same size, same mtime, same inode: only the change time differs.
		p := filepath.Join(dir, "secret.key")
		fi, _ := os.Stat(p)
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt(randomBytes(9, 100), 0)
		f.Close()
		os.Chtimes(p, fi.ModTime(), fi.ModTime())
	}},
	{"removed", func(t *testing.T, dir string) {
		os.Remove(filepath.Join(dir, "data/uploads/a.txt"))
	}},
	{"renamed", func(t *testing.T, dir string) {
		os.Rename(filepath.Join(dir, "packs/blog/random.bin"), filepath.Join(dir, "packs/blog/renamed.bin"))
	}},
	{"mode", func(t *testing.T, dir string) {
		os.Chmod(filepath.Join(dir, "bin/run.sh"), 0o700)
	}},
}

// buildChain backs up the root after each of chainSteps (the database
// changing too) and returns what each backup holds, oldest first.
func buildChain(t *testing.T, r layout.Root) []chainState {
	t.Helper()
	dbPath := filepath.Join(r.Dir, "data/app.db")
	var chain []chainState
	for i, s := range chainSteps {
		s.change(t, r.Dir)
		mkSQLite(t, dbPath, i+1)
		settle()
		b := create(t, CreateOptions{Root: r, Exclude: testExclude, Reason: "step"})
		chain = append(chain, chainState{id: b.ID, tree: readTree(t, r.Dir, append(skipState, "data/app.db")...), rows: rows(t, dbPath)})
		if i > 0 && (b.Base != chain[i-1].id || b.Depth != i) {
			t.Errorf("backup %d (%s): base %q depth %d, want %q %d", i, s.name, b.Base, b.Depth, chain[i-1].id, i)
		}
	}
	return chain
}

// restoreAndCompare restores s and checks the root and the database.
func restoreAndCompare(t *testing.T, r layout.Root, s chainState) {
	t.Helper()
	if err := Verify(r, s.id); err != nil {
		t.Fatalf("Verify %s: %v", s.id, err)
	}
	if _, err := Restore(context.Background(), RestoreOptions{Root: r, ID: s.id, Exclude: testExclude}); err != nil {
		t.Fatalf("Restore %s: %v", s.id, err)
	}
	diffTrees(t, readTree(t, r.Dir, append(skipState, "data/app.db")...), s.tree)
	if got := rows(t, filepath.Join(r.Dir, "data/app.db")); got != s.rows {
		t.Errorf("restore %s: database rows differ", s.id)
	}
}

// Each backup of a chain stores only what changed (the change time and the
// inode catch a file rewritten in place with its mtime put back), and
// restoring any of them gives back the root and the database as they were.
func TestChain(t *testing.T) {
	r := newRoot(t)
	fillRoot(t, r)
	chain := buildChain(t, r)

	stored := func(id string) []string {
		var names []string
		for _, f := range openZip(t, filepath.Join(r.Backups(), id+".zip")).File {
			if !strings.HasSuffix(f.Name, "/") && strings.HasPrefix(f.Name, FilesDir) {
				names = append(names, strings.TrimPrefix(f.Name, FilesDir))
			}
		}
		return names
	}
	symlinks := []string{"bin/readme-link", "current", "dangling"} // stored every time: they are tiny
	for i, want := range [][]string{
		1: {"packs/new/added.txt"},
		2: {"packs/core/manifest.json"},
		3: {"README.txt"},
		4: {"secret.key"},
		5: nil,
		6: {"packs/blog/renamed.bin"},
		7: {"bin/run.sh"},
	} {
		if i == 0 {
			continue
		}
		got := slices.DeleteFunc(stored(chain[i].id), func(n string) bool { return slices.Contains(symlinks, n) })
		if !slices.Equal(got, want) {
			t.Errorf("backup %d (%s) stores %v, want %v", i, chainSteps[i].name, got, want)
		}
	}
	m, err := Show(r, chain[7].id)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files {
		if f.Path == "packs/core/deep/er/still/file.txt" && f.Backup != chain[0].id {
			t.Errorf("unchanged file references %q, want the first backup %s", f.Backup, chain[0].id)
		}
	}
	for _, i := range []int{7, 0, 4, 2, 6} {
		restoreAndCompare(t, r, chain[i])
	}
}

// --full starts a new chain, and so does the FullEvery-th backup.
func TestChainFull(t *testing.T) {
	r := newRoot(t)
	write(t, r.Dir, "a.txt", textBytes(1000), 0o644)
	settle()
	var last *Backup
	for i := range FullEvery + 1 {
		last = create(t, CreateOptions{Root: r, DB: "none"})
		if want := i % FullEvery; last.Depth != want {
			t.Errorf("backup %d: depth %d, want %d", i, last.Depth, want)
		}
	}
	if b := create(t, CreateOptions{Root: r, DB: "none", Full: true}); b.Base != "" || b.Depth != 0 {
		t.Errorf("--full backup: base %q depth %d", b.Base, b.Depth)
	}
	if b := create(t, CreateOptions{Root: r, DB: "none"}); b.Depth != 1 {
		t.Errorf("after --full: depth %d, want 1", b.Depth)
	}
}

// Pruning the middle of a chain keeps what the kept backups reference, as
// pieces, and every kept backup restores; pieces nothing needs go.
func TestPruneMiddleOfChain(t *testing.T) {
	r := newRoot(t)
	fillRoot(t, r)
	chain := buildChain(t, r)
	// Keep the first and the last two.
	removed, err := Prune(r, 2, []string{chain[0].id})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != len(chain)-3 {
		t.Fatalf("removed %v", removed)
	}
	names := backupFiles(t, r)
	// The last two reference the files that backups 1 to 4 stored (each
	// changed then and not since); backup 5 stored none (a removal).
	for i, want := range map[int]bool{1: true, 2: true, 3: true, 4: true, 5: false} {
		has := slices.Contains(names, chain[i].id+PiecesSuffix)
		if has != want {
			t.Errorf("pieces of backup %d: %v, want %v (%v)", i, has, want, names)
		}
		if slices.Contains(names, chain[i].id+".zip") {
			t.Errorf("backup %d still listed", i)
		}
	}
	list, _ := List(r)
	if len(list) != 3 {
		t.Errorf("List after prune: %d backups, want 3", len(list))
	}
	for _, i := range []int{0, 7, 6} {
		restoreAndCompare(t, r, chain[i])
	}
	// Once nothing needs them (keep the newest only, a before-restore
	// backup that stores everything: the root was just restored), pieces go.
	if _, err := Prune(r, 1, nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range backupFiles(t, r) {
		if strings.HasSuffix(n, PiecesSuffix) {
			t.Errorf("%s left with nothing referencing it", n)
		}
	}
	if list, _ := List(r); len(list) != 1 || Verify(r, list[0].ID) != nil {
		t.Errorf("after the last prune: %v", list)
	}
}

// A backup whose referenced backup is gone fails Verify naming it.
func TestVerifyMissingReference(t *testing.T) {
	r := newRoot(t)
	write(t, r.Dir, "a.txt", textBytes(1000), 0o644)
	settle()
	b0 := create(t, CreateOptions{Root: r, DB: "none"})
	b1 := create(t, CreateOptions{Root: r, DB: "none"})
	if b1.Base != b0.ID {
		t.Fatalf("base %q, want %s", b1.Base, b0.ID)
	}
	os.Remove(b0.Path)
	err := Verify(r, b1.ID)
	if !errors.Is(err, ErrMissingEntry) || !strings.Contains(err.Error(), b0.ID) {
		t.Errorf("Verify = %v, want ErrMissingEntry naming %s", err, b0.ID)
	}
	// The next backup does not build on a broken chain.
	if b2 := create(t, CreateOptions{Root: r, DB: "none"}); b2.Base != "" {
		t.Errorf("built on a broken chain: base %q", b2.Base)
	}
}

// backups export writes a standalone zip that the real unzip extracts to
// the root as the backup holds it, referenced files included.
func TestExport(t *testing.T) {
	r := newRoot(t)
	fillRoot(t, r)
	chain := buildChain(t, r)
	for _, i := range []int{len(chain) - 1, 3} {
		out := filepath.Join(t.TempDir(), "full.zip")
		if _, err := Export(r, chain[i].id, out); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		unzipTo(t, out, dir)
		want := map[string]node{}
		for p, n := range chain[i].tree {
			if p != "logs/app.log" && p != "cache/tmp" && !strings.HasPrefix(p, "cache/tmp/") {
				want[p] = n
			}
		}
		diffTrees(t, readTree(t, filepath.Join(dir, "files")), want)
		if got := rows(t, filepath.Join(dir, "database", "app.db")); got != chain[i].rows {
			t.Errorf("export of %d: database rows differ", i)
		}
		// It is a backup upkeep reads too, with no references left.
		r2 := newRoot(t)
		os.MkdirAll(r2.Backups(), 0o755)
		os.Rename(out, filepath.Join(r2.Backups(), chain[i].id+".zip"))
		if err := Verify(r2, chain[i].id); err != nil {
			t.Errorf("Verify of the export: %v", err)
		}
	}
}

// A backup of format 1 (before incremental backups) still lists, verifies
// and restores, and the next backup stores everything (it has no inodes
// to compare).
func TestOldFormatStillRestores(t *testing.T) {
	r := newRoot(t)
	fillRoot(t, r)
	dbPath := filepath.Join(r.Dir, "data/app.db")
	mkSQLite(t, dbPath, 4)
	settle()
	b := create(t, CreateOptions{Root: r, Exclude: testExclude})
	want := readTree(t, r.Dir, append(skipState, "data/app.db")...)
	rewriteZip(t, b.Path, func(name string, data []byte) ([]byte, bool) {
		if name != ManifestName {
			return data, true
		}
		s := strings.Replace(string(data), `"format": 2`, `"format": 1`, 1)
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.Contains(l, `"inode"`) && !strings.Contains(l, `"ctime_ns"`) {
				out = append(out, l)
			}
		}
		return []byte(strings.ReplaceAll(strings.Join(out, "\n"), "\",\n    }", "\"\n    }")), true
	})
	m, err := Show(r, b.ID)
	if err != nil || m.Format != 1 {
		t.Fatalf("Show = %+v, %v", m, err)
	}
	for _, f := range m.Files {
		if f.Inode != 0 {
			t.Fatalf("the rewritten backup.json still has inodes")
		}
	}
	if err := Verify(r, b.ID); err != nil {
		t.Fatal(err)
	}
	b2 := create(t, CreateOptions{Root: r, Exclude: testExclude})
	if b2.Base != "" {
		t.Errorf("a backup on a format-1 one: base %q", b2.Base)
	}
	mess(t, r)
	mkSQLite(t, dbPath, 9)
	messed := readTree(t, r.Dir, skipState...)
	for _, p := range []string{"logs/app.log", "logs/other.log", "cache/tmp", "cache/tmp/junk", "cache/tmp/junk2"} {
		want[p] = messed[p] // excluded paths stay as they are
	}
	restoreAndCompare(t, r, chainState{id: b.ID, tree: want, rows: rowsOf(t, b)})
}

// rowsOf extracts the snapshot of backup b and returns its rows.
func rowsOf(t *testing.T, b *Backup) string {
	t.Helper()
	dir := t.TempDir()
	unzipTo(t, b.Path, dir)
	return rows(t, filepath.Join(dir, "database", "app.db"))
}

// The base's backup.json is read from the zip's last entry without the
// rest of the central directory; it is the one the zip reader finds.
func TestReadLastManifest(t *testing.T) {
	r := newRoot(t)
	fillRoot(t, r)
	b := create(t, CreateOptions{Root: r, Exclude: testExclude})
	out := filepath.Join(t.TempDir(), "full.zip")
	if _, err := Export(r, b.ID, out); err != nil {
		t.Fatal(err)
	}
	id, err := Tables{Root: r, DB: "none"}.SaveTables(context.Background(), []string{"core"}, func(w io.Writer) error { return writeExport(w, "1") })
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{b.Path, out, filepath.Join(r.Backups(), id+".zip")} {
		fast, err := readLastManifest(p, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		slow, err := readManifestFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s: the last entry's backup.json differs from the zip reader's", p)
		}
	}
	// A zip whose backup.json is not last: an error (the caller falls back).
	rewriteZip(t, b.Path, func(name string, data []byte) ([]byte, bool) { return data, name != ManifestName })
	addEntry(t, b.Path, "files/zz", "x")
	if _, err := readLastManifest(b.Path, nil, nil); err == nil {
		t.Error("readLastManifest of a zip without backup.json at its end: no error")
	}
}

// The base is matched against the scan as a merge of two sorted lists:
// names that sort differently as whole paths than in the walk (a-b before
// a/b as strings, after it in the walk) are all found unchanged, and a
// changed file among them is stored.
func TestChainMatchesInWalkOrder(t *testing.T) {
	r := newRoot(t)
	names := []string{"a/b", "a-b", "a.b", "a b/c", "a!/z", "a/b-c/d", "a/b/c", "a0", "Z", "é/x", "a/b.c", "~"}
	for i, n := range names {
		write(t, r.Dir, n+"/f.txt", textBytes(100+i), 0o644)
		write(t, r.Dir, n+".txt", textBytes(200+i), 0o644)
	}
	settle()
	b0 := create(t, CreateOptions{Root: r, DB: "none"})
	write(t, r.Dir, "a-b/f.txt", textBytes(999), 0o644)
	// Files gone and new ones make the two lists differ, so the merge must
	// skip in walk order.
	for _, n := range []string{"a/b/f.txt", "a b/c/f.txt", "a!/z.txt", "a/b/c.txt"} {
		os.Remove(filepath.Join(r.Dir, n))
	}
	write(t, r.Dir, "a/b/c/d/new.txt", textBytes(5), 0o644)
	write(t, r.Dir, "a-a.txt", textBytes(6), 0o644)
	settle()
	b1 := create(t, CreateOptions{Root: r, DB: "none"})
	if b1.Base != b0.ID {
		t.Fatalf("base %q, want %s", b1.Base, b0.ID)
	}
	m, err := Show(r, b1.ID)
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	for _, f := range m.Files {
		if f.Type != TypeFile {
			continue
		}
		files++
		want := b0.ID
		if f.Path == "a-b/f.txt" || f.Path == "a/b/c/d/new.txt" || f.Path == "a-a.txt" {
			want = ""
		}
		if f.Backup != want {
			t.Errorf("%s: backup %q, want %q", f.Path, f.Backup, want)
		}
	}
	if files != 2*len(names)-2 {
		t.Errorf("%d files recorded, want %d", files, 2*len(names)-2)
	}
	if err := Verify(r, b1.ID); err != nil {
		t.Fatal(err)
	}
}

// walkCompare orders paths as scanRoot finds them.
func TestWalkCompareIsScanOrder(t *testing.T) {
	r := newRoot(t)
	for _, n := range []string{"a/b", "a-b", "a.b", "a b/c", "a!/z", "a/b-c/d", "a/b/c", "a0", "Z", "é/x", "a/b.c", "~", "a/b/c/d/e"} {
		write(t, r.Dir, n+"/f", nil, 0o644)
	}
	entries, _, err := scanRoot(r.Dir, &excluder{fixed: map[string]bool{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		paths = append(paths, e.rel)
	}
	if !slices.IsSortedFunc(paths, walkCompare) {
		t.Errorf("scan order is not walkCompare's: %q", paths)
	}
	sorted := slices.Clone(paths)
	slices.Sort(sorted)
	if slices.Equal(sorted, paths) {
		t.Errorf("the names do not tell walk order from string order: %q", paths)
	}
}

// The install's retention reads only what precedes each backup.json's
// records: it removes the same backups as before and, when it removes
// none, leaves unneeded pieces for the next prune that removes one
// (Prune, the command's, always tidies them).
func TestPruneReasonReadsHeads(t *testing.T) {
	r := newRoot(t)
	fillRoot(t, r)
	chain := buildChain(t, r)
	heads, err := list(r, false)
	if err != nil {
		t.Fatal(err)
	}
	full, err := List(r)
	if err != nil {
		t.Fatal(err)
	}
	for i := range full {
		want := full[i]
		want.Files, want.Bytes, want.Base, want.Depth = 0, 0, "", 0
		if !reflect.DeepEqual(heads[i], want) {
			t.Errorf("head-only listing %d:\n got %+v\nwant %+v", i, heads[i], want)
		}
	}
	// Drop backups 1 and 2: their entries that later backups reference
	// become pieces.
	if _, err := Prune(r, len(chain)-3, []string{chain[0].id}); err != nil {
		t.Fatal(err)
	}
	// Nothing to remove: the retention reads no records, touches nothing.
	before := backupFiles(t, r)
	if removed, err := PruneReason(r, 100, "step"); err != nil || len(removed) != 0 {
		t.Fatalf("PruneReason = %v, %v", removed, err)
	}
	if after := backupFiles(t, r); !slices.Equal(before, after) {
		t.Errorf("PruneReason that removes nothing changed %v into %v", before, after)
	}
	// Removing all but the newest: everything the others needed goes.
	removed, err := PruneReason(r, 1, "step")
	if err != nil || len(removed) != len(chain)-3 {
		t.Fatalf("PruneReason = %v, %v", removed, err)
	}
	restoreAndCompare(t, r, chain[len(chain)-1])
}

// backup.json lists the backups whose zips it references before its
// records, and the install's retention decides from that alone: a
// referenced backup that goes becomes its pieces by a rename (the same
// file), pieces nothing references go, and every kept backup restores.
func TestPruneReasonByReferences(t *testing.T) {
	r := newRoot(t)
	fillRoot(t, r)
	chain := buildChain(t, r)
	m, err := Show(r, chain[3].id)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range m.Files {
		if f.Backup != "" && !slices.Contains(want, f.Backup) {
			want = append(want, f.Backup)
		}
	}
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(m.References, want) {
		t.Fatalf("references %v, want %v", m.References, want)
	}
	if m, _ := Show(r, chain[0].id); m.References == nil || len(m.References) != 0 {
		t.Fatalf("a full backup's references: %#v, want []", m.References)
	}
	first, err := os.Stat(filepath.Join(r.Backups(), chain[0].id+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	// Keep the newest three: 0 (referenced by all) becomes pieces whole.
	removed, err := PruneReason(r, 3, "step")
	if err != nil || len(removed) != len(chain)-3 {
		t.Fatalf("PruneReason = %v, %v", removed, err)
	}
	pieces, err := os.Stat(filepath.Join(r.Backups(), chain[0].id+PiecesSuffix))
	if err != nil || !os.SameFile(first, pieces) {
		t.Fatalf("backup 0 did not become its pieces by a rename: %v", err)
	}
	for _, i := range []int{7, 6, 5} {
		restoreAndCompare(t, r, chain[i])
	}
	// A new chain: once the old one's backups go, so do the pieces only
	// they referenced (the before-restore backups the restores above took
	// would keep them: they go by hand).
	for _, n := range backupFiles(t, r) {
		if strings.Contains(n, "before-restore") {
			os.Remove(filepath.Join(r.Backups(), n))
		}
	}
	settle()
	create(t, CreateOptions{Root: r, Exclude: testExclude, Reason: "step", Full: true})
	if _, err := PruneReason(r, 1, "step"); err != nil {
		t.Fatal(err)
	}
	kept, err := List(r)
	if err != nil {
		t.Fatal(err)
	}
	needed := map[string]bool{}
	for _, b := range kept {
		m, err := Show(r, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range m.References {
			needed[id] = true
		}
	}
	left := 0
	for _, n := range backupFiles(t, r) {
		if id, ok := strings.CutSuffix(n, PiecesSuffix); ok {
			left++
			if !needed[id] {
				t.Errorf("%s left with nothing referencing it", n)
			}
		}
	}
	if left != 0 {
		t.Errorf("%d pieces left", left)
	}
	for _, b := range kept {
		if err := Verify(r, b.ID); err != nil {
			t.Errorf("Verify %s: %v", b.ID, err)
		}
	}
}

// Backups whose backup.json predates "references" are read the old way:
// the retention reads their records, and what they reference stays.
func TestPruneReasonWithoutReferences(t *testing.T) {
	r := newRoot(t)
	fillRoot(t, r)
	chain := buildChain(t, r)
	refs := regexp.MustCompile(`\n  "references": \[[^\]]*\],`)
	for _, s := range chain {
		rewriteZip(t, filepath.Join(r.Backups(), s.id+".zip"), func(name string, data []byte) ([]byte, bool) {
			if name == ManifestName {
				data = refs.ReplaceAll(data, nil)
			}
			return data, true
		})
		if m, err := Show(r, s.id); err != nil || m.References != nil {
			t.Fatalf("rewritten %s: references %#v, %v", s.id, m.References, err)
		}
	}
	removed, err := PruneReason(r, 3, "step")
	if err != nil || len(removed) != len(chain)-3 {
		t.Fatalf("PruneReason = %v, %v", removed, err)
	}
	if !slices.Contains(backupFiles(t, r), chain[0].id+PiecesSuffix) {
		t.Errorf("the backup every later one references left no pieces: %v", backupFiles(t, r))
	}
	for _, i := range []int{7, 6, 5} {
		restoreAndCompare(t, r, chain[i])
	}
}
