package backupstore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/upkeep/upkeep/layout"
)

var excludedTop = []string{layout.PendingDir, layout.InstalledDir, layout.BackupsDir, layout.StateDir, "logs/app.log", "cache/tmp"}

// A backup is a plain zip: unzip extracts the root's files byte for byte,
// with their modes, symlinks as symlinks, and without the excluded paths.
func TestCreateUnzipsToTheSameTree(t *testing.T) {
	r := newRoot(t)
	fillRoot(t, r)
	fillBig(t, r)
	b := create(t, CreateOptions{Root: r, Reason: "Before Install!", UpkeepVersion: "1.2.3",
		Packs: map[string]string{"core": "2.0.0"}, Exclude: testExclude, Now: fixedClock()})

	if want := "20261121T080001Z_before-install"; b.ID != want {
		t.Errorf("ID = %q, want %q", b.ID, want)
	}
	if _, err := os.Stat(filepath.Join(r.Backups(), b.ID+".zip")); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	unzipTo(t, b.Path, out)

	want := readTree(t, r.Dir, excludedTop...)
	got := readTree(t, filepath.Join(out, "files"))
	// logs/ and cache/ stay as folders: only what the globs match is out.
	diffTrees(t, got, want)
	for _, p := range []string{"logs/app.log", "cache/tmp", "Updates_Pending", ".upkeep"} {
		if _, ok := got[p]; ok {
			t.Errorf("%s was backed up", p)
		}
	}

	// backup.json lists every file with its sha256, size and mode.
	data, err := os.ReadFile(filepath.Join(out, ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Reason != "before-install" || m.UpkeepVersion != "1.2.3" || m.Packs["core"] != "2.0.0" || m.Format != Format {
		t.Errorf("backup.json header = %+v", m)
	}
	if m.Database.Kind != DBSQLite || m.Database.Snapshot != nil || m.Database.Note != "SQLite file data/app.db absent" {
		t.Errorf("database = %+v, want sqlite without snapshot (file absent)", m.Database)
	}
	listed := map[string]File{}
	for _, f := range m.Files {
		listed[f.Path] = f
	}
	for p, n := range want {
		f, ok := listed[p]
		if !ok {
			t.Errorf("backup.json does not list %s", p)
			continue
		}
		if f.Type != n.Type {
			t.Errorf("%s: type %s, want %s", p, f.Type, n.Type)
		}
		switch n.Type {
		case TypeFile:
			sum := sha256.Sum256([]byte(n.Content))
			if f.SHA256 != hex.EncodeToString(sum[:]) || f.Size != int64(len(n.Content)) {
				t.Errorf("%s: sha256 %s size %d, want %x %d", p, f.SHA256, f.Size, sum, len(n.Content))
			}
			if f.Mode != modeString(n.Mode) {
				t.Errorf("%s: mode %s, want %04o", p, f.Mode, n.Mode)
			}
		case TypeSymlink:
			if f.Target != n.Content {
				t.Errorf("%s: target %q, want %q", p, f.Target, n.Content)
			}
		}
	}
	if len(listed) != len(want) {
		t.Errorf("backup.json lists %d paths, the root has %d", len(listed), len(want))
	}
	if b.Files != len(want) {
		t.Errorf("Backup.Files = %d, want %d", b.Files, len(want))
	}
	if err := Verify(r, b.ID); err != nil {
		t.Errorf("Verify of a fresh backup: %v", err)
	}
	if names := backupFiles(t, r); len(names) != 1 {
		t.Errorf("Updates_Backups holds %v, want the zip alone", names)
	}
}

// Random data is stored, text is deflated.
func TestCreateStoresWhatDoesNotCompress(t *testing.T) {
	r := newRoot(t)
	fillRoot(t, r)
	fillBig(t, r)
	b := create(t, CreateOptions{Root: r, DB: "none", Now: fixedClock()})
	zr := openZip(t, b.Path)
	methods := map[string]uint16{}
	for _, f := range zr.File {
		methods[f.Name] = f.Method
	}
	for name, want := range map[string]uint16{
		"files/packs/blog/random.bin":             0, // Store
		"files/packs/blog/big-random.bin":         0,
		"files/packs/blog/big-text.txt":           8, // Deflate
		"files/packs/core/deep/er/still/file.txt": 8,
	} {
		if methods[name] != want {
			t.Errorf("%s: method %d, want %d", name, methods[name], want)
		}
	}
}

// Names are sanitized and never reused: a second backup in the same second
// gets a suffix.
func TestCreateNeverOverwrites(t *testing.T) {
	r := newRoot(t)
	write(t, r.Dir, "a", []byte("a"), 0o644)
	now := fixedClock()
	t0 := now()
	same := func() time.Time { return t0 }
	b1 := create(t, CreateOptions{Root: r, Reason: "x", DB: "none", Now: same})
	b2 := create(t, CreateOptions{Root: r, Reason: "X", DB: "none", Now: same})
	if b1.ID != "20261121T080001Z_x" || b2.ID != "20261121T080001Z_x-2" {
		t.Errorf("IDs = %s, %s", b1.ID, b2.ID)
	}
	for in, want := range map[string]string{"": "manual", "Before Install!": "before-install", "--a__b--": "a-b", "ÄÖ": "manual"} {
		if got := SanitizeReason(in); got != want {
			t.Errorf("SanitizeReason(%q) = %q, want %q", in, got, want)
		}
	}
	if ok, _ := regexp.MatchString(`^[a-z0-9-]{1,40}$`, SanitizeReason(string(randomBytes(9, 200)))); !ok {
		t.Error("SanitizeReason let through a character outside [a-z0-9-] or more than 40")
	}
}
