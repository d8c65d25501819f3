package backupstore

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zip"
)

// List is newest first; Show returns backup.json; Protected shows.
func TestListAndShow(t *testing.T) {
	r := newRoot(t)
	os.Remove(r.Packs())
	write(t, r.Dir, "a.txt", []byte("a"), 0o644)
	now := fixedClock()
	var ids []string
	for _, reason := range []string{"first", "second", "third"} {
		ids = append(ids, create(t, CreateOptions{Root: r, Reason: reason, DB: "none", Now: now,
			Packs: map[string]string{"core": reason}}).ID)
	}
	// Not backups: a temp file, a foreign file, a folder.
	write(t, r.Backups(), ".tmp-backup-1.partial", []byte("x"), 0o644)
	write(t, r.Backups(), "notes.txt", []byte("x"), 0o644)
	if err := MarkProtected(r, ids[0]); err != nil {
		t.Fatal(err)
	}
	list, err := List(r)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range list {
		got = append(got, b.ID+"/"+b.Reason)
		if b.Err != nil || b.Files != 1 || b.Bytes != 1 || b.Database != DBNone || b.Size == 0 {
			t.Errorf("%s: %+v", b.ID, b)
		}
		if b.Protected != (b.ID == ids[0]) {
			t.Errorf("%s: Protected = %v", b.ID, b.Protected)
		}
	}
	want := []string{
		"20261121T080003Z_third/third",
		"20261121T080002Z_second/second",
		"20261121T080001Z_first/first",
	}
	if !slices.Equal(got, want) {
		t.Errorf("List = %v, want %v", got, want)
	}
	m, err := Show(r, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if m.Reason != "second" || m.Packs["core"] != "second" || len(m.Files) != 1 || m.Files[0].Path != "a.txt" ||
		!m.Created.Equal(time.Date(2026, 11, 21, 8, 0, 2, 0, time.UTC)) || m.Database.Note != "no database configured" {
		t.Errorf("Show = %+v", m)
	}
	if _, err := Show(r, "20990101T000000Z_nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Show of a missing ID: %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"", "..", "../x", "a/b", ".tmp-backup-1"} {
		if _, err := Show(r, bad); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Show(%q): %v, want ErrInvalidID", bad, err)
		}
	}
}

// rewriteZip copies a backup, letting edit change or drop each entry.
func rewriteZip(t *testing.T, path string, edit func(name string, data []byte) ([]byte, bool)) {
	t.Helper()
	zr := openZip(t, path)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		data, keep := edit(f.Name, data)
		if !keep {
			continue
		}
		h := f.FileHeader
		w, err := zw.CreateHeader(&h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Verify names each corrupted, missing and extra entry.
func TestVerifyFindsEveryProblem(t *testing.T) {
	r := newRoot(t)
	fillRoot(t, r)
	b := create(t, CreateOptions{Root: r, DB: "none", Exclude: testExclude})
	if err := Verify(r, b.ID); err != nil {
		t.Fatalf("fresh backup: %v", err)
	}
	rewriteZip(t, b.Path, func(name string, data []byte) ([]byte, bool) {
		switch name {
		case "files/packs/core/manifest.json":
			data = bytes.Clone(data)
			data[3] ^= 1 // one byte flipped, CRC-32 recomputed: only sha256 sees it
		case "files/README.txt":
			return nil, false
		case "files/bin/run.sh":
			return data, true
		}
		return data, true
	})
	// An extra entry, appended raw.
	addEntry(t, b.Path, "files/intruder.txt", "boo")

	err := Verify(r, b.ID)
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("Verify = %v, want a *VerifyError", err)
	}
	got := map[string]error{}
	for _, p := range ve.Problems {
		got[p.Entry] = p.Err
	}
	for entry, want := range map[string]error{
		"files/packs/core/manifest.json": ErrCorrupt,
		"files/README.txt":               ErrMissingEntry,
		"files/intruder.txt":             ErrExtraEntry,
	} {
		if !errors.Is(got[entry], want) {
			t.Errorf("%s: %v, want %v", entry, got[entry], want)
		}
	}
	if len(ve.Problems) != 3 {
		t.Errorf("%d problems, want 3: %v", len(ve.Problems), err)
	}
	for _, s := range []string{"files/packs/core/manifest.json: backupstore: backup is corrupt: sha256", "files/README.txt: backupstore: entry missing"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message lacks %q:\n%v", s, err)
		}
	}
	if !errors.Is(err, ErrMissingEntry) || !errors.Is(err, ErrCorrupt) {
		t.Error("errors.Is does not see the problems' sentinels")
	}
}

func addEntry(t *testing.T, path, name, content string) {
	t.Helper()
	rewriteZip(t, path, func(_ string, data []byte) ([]byte, bool) { return data, true })
	zr := openZip(t, path)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	w, _ := zw.Create(name)
	w.Write([]byte(content))
	zw.Close()
	os.WriteFile(path, buf.Bytes(), 0o600)
}

// Prune keeps the N newest plus the protected ones, by argument or mark.
func TestPrune(t *testing.T) {
	r := newRoot(t)
	write(t, r.Dir, "a", []byte("a"), 0o644)
	now := fixedClock()
	var ids []string // oldest first
	for range 8 {
		// Full: each stands alone, so pruning leaves no pieces.
		ids = append(ids, create(t, CreateOptions{Root: r, DB: "none", Now: now, Full: true}).ID)
	}
	if err := MarkProtected(r, ids[1]); err != nil {
		t.Fatal(err)
	}
	removed, err := Prune(r, 3, []string{ids[0]})
	if err != nil {
		t.Fatal(err)
	}
	wantRemoved := []string{ids[4], ids[3], ids[2]}
	if !slices.Equal(removed, wantRemoved) {
		t.Errorf("removed %v, want %v", removed, wantRemoved)
	}
	var left []string
	for _, n := range backupFiles(t, r) {
		left = append(left, strings.TrimSuffix(n, ".zip"))
	}
	wantLeft := []string{ids[0], ids[1], ids[5], ids[6], ids[7]}
	if !slices.Equal(left, wantLeft) {
		t.Errorf("left %v, want %v", left, wantLeft)
	}
	// keep <= 0 means DefaultKeep (5): nothing more to remove.
	if removed, err := Prune(r, 0, nil); err != nil || len(removed) != 0 {
		t.Errorf("Prune(0) removed %v, %v", removed, err)
	}
	if err := Unprotect(r, ids[1]); err != nil {
		t.Fatal(err)
	}
	if removed, err := Prune(r, 1, nil); err != nil || !slices.Equal(removed, []string{ids[6], ids[5], ids[1], ids[0]}) {
		t.Errorf("Prune(1) after Unprotect removed %v, %v", removed, err)
	}
	if err := MarkProtected(r, "20990101T000000Z_nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("MarkProtected of a missing backup: %v", err)
	}
	if data, _ := os.ReadFile(r.ProtectedBackups()); string(data) != "" {
		t.Errorf("protected-backups = %q, want empty", data)
	}
}
