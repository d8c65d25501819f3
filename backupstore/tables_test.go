package backupstore

import (
	"archive/zip"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeExport writes a small export in package packs' layout.
func writeExport(w io.Writer, rows string) error {
	zw := zip.NewWriter(w)
	for name, body := range map[string]string{
		"export.json":             `{"format": 1, "backend": "sqlite", "created": "2026-11-21T09:30:00Z", "packs": [{"pack": "blog"}]}` + "\n",
		"blog/settings.jsonl":     `["theme","dark"]` + "\n",
		"blog/tables/posts.jsonl": rows,
	} {
		f, err := zw.Create(name)
		if err != nil {
			return err
		}
		io.WriteString(f, body)
	}
	return zw.Close()
}

// A table export is a backup of kind tables: listed, shown, verified and
// read back like the others, and refused by Restore (which is for full
// backups) with a message that says what it is.
func TestTablesBackup(t *testing.T) {
	ctx := context.Background()
	r := newRoot(t)
	store := Tables{Root: r, UpkeepVersion: "1.2.3"}
	id, err := store.SaveTables(ctx, []string{"blog"}, func(w io.Writer) error { return writeExport(w, "[1,\"hello\"]\n") })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(id, "_db-blog") {
		t.Errorf("id %s", id)
	}
	list, err := List(r)
	if err != nil || len(list) != 1 || list[0].Kind != KindTables || list[0].Err != nil || list[0].Files != 3 || list[0].Database != "sqlite" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	m, err := Show(r, id)
	if err != nil || m.Kind != KindTables || !reflect.DeepEqual(m.Tables, []string{"blog"}) || len(m.Files) != 3 || m.UpkeepVersion != "1.2.3" {
		t.Fatalf("Show = %+v, %v", m, err)
	}
	if err := Verify(r, id); err != nil {
		t.Fatal(err)
	}
	fsys, c, err := OpenTables(r, id)
	if err != nil {
		t.Fatal(err)
	}
	data, err := fs.ReadFile(fsys, "blog/tables/posts.jsonl")
	c.Close()
	if err != nil || string(data) != "[1,\"hello\"]\n" {
		t.Fatalf("read back %q, %v", data, err)
	}
	if _, err := Restore(ctx, RestoreOptions{Root: r, ID: id}); !errors.Is(err, ErrTablesBackup) || !strings.Contains(err.Error(), "tables of blog") {
		t.Fatalf("Restore = %v, want ErrTablesBackup", err)
	}
	full := create(t, CreateOptions{Root: r, DB: DBNone})
	if _, _, err := OpenTables(r, full.ID); !errors.Is(err, ErrNotTables) {
		t.Fatalf("OpenTables of a full backup = %v", err)
	}
	if list, _ := List(r); list[0].Kind != KindFull || list[1].Kind != KindTables {
		t.Errorf("kinds %s, %s", list[0].Kind, list[1].Kind)
	}

	// A changed byte inside the export is found.
	p := filepath.Join(r.Backups(), id+".zip")
	corruptEntry(t, p, TablesDir+"blog/tables/posts.jsonl", "[2,\"hello\"]\n")
	var ve *VerifyError
	if err := Verify(r, id); !errors.As(err, &ve) || !strings.Contains(err.Error(), "tables/blog/tables/posts.jsonl") {
		t.Fatalf("Verify of a changed export = %v", err)
	}
	if _, _, err := OpenTables(r, id); err == nil {
		t.Fatal("OpenTables read a corrupt export")
	}
}

// corruptEntry rewrites the zip at p with entry name's content replaced
// and backup.json kept as it was.
func corruptEntry(t *testing.T, p, name, content string) {
	t.Helper()
	zr, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	tmp := p + ".new"
	f, _ := os.Create(tmp)
	zw := zip.NewWriter(f)
	for _, e := range zr.File {
		w, _ := zw.Create(e.Name)
		if e.Name == name {
			io.WriteString(w, content)
			continue
		}
		rc, _ := e.Open()
		io.Copy(w, rc)
		rc.Close()
	}
	zw.Close()
	f.Close()
	zr.Close()
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
}

// Exports written before backup.json existed (a zip with export.json at
// its top, named *_db-PACKS.zip) still list, show, verify and read back.
func TestTablesBackupLegacy(t *testing.T) {
	r := newRoot(t)
	id := "20261121T093000Z_db-blog"
	f, err := os.Create(filepath.Join(r.Backups(), id+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	if err := writeExport(f, "[1,\"old\"]\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	list, err := List(r)
	if err != nil || len(list) != 1 || list[0].Err != nil || list[0].Kind != KindTables || list[0].Reason != "db-blog" || list[0].Files != 3 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	m, err := Show(r, id)
	if err != nil || m.Kind != KindTables || m.Database.Kind != "sqlite" || !reflect.DeepEqual(m.Tables, []string{"blog"}) ||
		!m.Created.Equal(time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)) {
		t.Fatalf("Show = %+v, %v", m, err)
	}
	if err := Verify(r, id); err != nil {
		t.Fatal(err)
	}
	fsys, c, err := OpenTables(r, id)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if data, err := fs.ReadFile(fsys, "blog/tables/posts.jsonl"); err != nil || string(data) != "[1,\"old\"]\n" {
		t.Fatalf("read back %q, %v", data, err)
	}
}

// Two exports in the same second never overwrite each other (moved from
// package packs, which no longer names files).
func TestTablesBackupNames(t *testing.T) {
	r := newRoot(t)
	fixed := time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)
	store := Tables{Root: r, Now: func() time.Time { return fixed }}
	var names []string
	for range 3 {
		id, err := store.SaveTables(context.Background(), []string{"blog", "shop"}, func(w io.Writer) error { return writeExport(w, "") })
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, id+".zip")
	}
	want := []string{"20261121T093000Z_db-blog-shop.zip", "20261121T093000Z_db-blog-shop-2.zip", "20261121T093000Z_db-blog-shop-3.zip"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("%q, want %q", names, want)
	}
	got := backupFiles(t, r)
	slices.Sort(got)
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Updates_Backups holds %q: temporary files left?", got)
	}
}
