package backupstore

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/zip"

	"github.com/upkeep/upkeep/layout"
)

// Kinds of backup, as backup.json records them.
const (
	KindFull   = "full"   // the root's files and the database snapshot
	KindTables = "tables" // the tables of some packs, taken before db up or db down
)

// TablesDir holds, in a backup of kind tables, the export of the packs'
// tables in package packs' format (export.json and one file per table).
const TablesDir = "tables/"

// legacyExport is what a table export written before backup.json existed
// holds at its top: package packs' export.json.
const legacyExport = "export.json"

// Tables keeps exports of packs' tables in Updates_Backups as backups of
// kind tables: it is the TableStore (package packs) that db up, db down and
// the install of a batch on MySQL/MariaDB hand to packs. Each export is
// Updates_Backups/<UTC time>_db-<packs>.zip holding backup.json (Kind
// "tables", Tables the packs, Files every entry with its sha256) and the
// export under tables/. [List], [Show] and [Verify] treat it like any
// backup; [OpenTables] reads it back.
type Tables struct {
	Root          layout.Root
	DB            string // the database's address: backup.json records its kind and source
	UpkeepVersion string
	Now           func() time.Time // nil is time.Now
}

// SaveTables writes the export that write writes into a new backup of
// kind tables and returns its ID. Like [Create] it writes a temp file and
// publishes it under a name no other backup has.
func (s Tables) SaveTables(ctx context.Context, packs []string, write func(io.Writer) error) (string, error) {
	now := s.Now
	if now == nil {
		now = time.Now
	}
	created := now().UTC()
	reason := SanitizeReason("db-" + strings.Join(packs, "-"))
	db, err := parseDB(s.Root, s.DB, nil, nil)
	if err != nil {
		return "", err
	}
	dir := s.Root.Backups()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("backupstore: create %s: %w", dir, err)
	}
	export, err := os.CreateTemp(dir, tmpPrefix+"*.export")
	if err != nil {
		return "", fmt.Errorf("backupstore: create temp file in %s: %w", dir, err)
	}
	defer os.Remove(export.Name())
	defer export.Close()
	bw := bufio.NewWriterSize(export, 1<<20)
	if err := write(bw); err != nil {
		return "", err
	}
	if err := bw.Flush(); err != nil {
		return "", fmt.Errorf("backupstore: write %s: %w", export.Name(), err)
	}
	size, err := export.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", err
	}
	in, err := zip.NewReader(export, size)
	if err != nil {
		return "", fmt.Errorf("backupstore: read the export back: %w", err)
	}

	tmp, err := os.CreateTemp(dir, tmpPrefix+"*.partial")
	if err != nil {
		return "", fmt.Errorf("backupstore: create temp file in %s: %w", dir, err)
	}
	tmpName := tmp.Name()
	defer func() {
		tmp.Close()
		os.Remove(tmpName)
	}()
	man := &Manifest{Format: Format, Kind: KindTables, Created: created, Reason: reason, UpkeepVersion: s.UpkeepVersion,
		Packs: map[string]string{}, Tables: packs, Database: Database{Kind: db.kind, Source: db.source()}}
	zw := zip.NewWriter(tmp)
	for _, f := range in.File {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		rec, err := copyEntry(zw, f)
		if err != nil {
			return "", fmt.Errorf("backupstore: write %s: %w", tmpName, err)
		}
		man.Files = append(man.Files, rec)
	}
	if err := writeManifest(zw, man, created); err != nil {
		return "", fmt.Errorf("backupstore: write %s: %w", tmpName, err)
	}
	if err := finishZip(zw, nil, tmp); err != nil {
		return "", err
	}
	id, err := publish(tmpName, dir, created.Format(TimeFormat)+"_"+reason)
	if err != nil {
		return "", err
	}
	return id, syncDir(dir)
}

// copyEntry copies one entry of the export under tables/, as it is
// compressed, and returns its record (sha256 of the content).
func copyEntry(zw *zip.Writer, f *zip.File) (File, error) {
	rc, err := f.Open()
	if err != nil {
		return File{}, err
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil {
		return File{}, err
	}
	raw, err := f.OpenRaw()
	if err != nil {
		return File{}, err
	}
	hdr := f.FileHeader
	hdr.Name = TablesDir + f.Name
	w, err := zw.CreateRaw(&hdr)
	if err != nil {
		return File{}, err
	}
	if _, err := io.Copy(w, raw); err != nil {
		return File{}, err
	}
	return File{Path: f.Name, Type: TypeFile, Size: n, Mode: "0644", SHA256: hexSum(h.Sum(nil)), Modified: f.Modified.UTC()}, nil
}

// writeManifest writes backup.json as json.MarshalIndent would, one file
// record at a time (see appendRecord), so a backup of many files never holds the whole
// document in memory.
func writeManifest(zw *zip.Writer, man *Manifest, created time.Time) error {
	mh := &zip.FileHeader{Name: ManifestName, Method: zip.Deflate, Modified: created}
	mh.SetMode(0o644)
	mw, err := zw.CreateHeader(mh)
	if err != nil {
		return err
	}
	head := *man
	head.Files = nil
	head.References = []string{}
	for _, f := range man.Files {
		if f.Backup != "" && !slices.Contains(head.References, f.Backup) {
			head.References = append(head.References, f.Backup)
		}
	}
	slices.Sort(head.References)
	js, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return err
	}
	const hole = `"files": null`
	before, after, ok := strings.Cut(string(js), hole)
	if !ok {
		return fmt.Errorf("backupstore: backup.json without %s", hole)
	}
	w := bufio.NewWriterSize(mw, 64<<10)
	w.WriteString(before)
	if len(man.Files) == 0 {
		w.WriteString(`"files": []`)
	} else {
		w.WriteString(`"files": [`)
		var rec []byte
		for i := range man.Files {
			rec = rec[:0]
			if i > 0 {
				rec = append(rec, ',')
			}
			rec = append(rec, "\n    "...)
			if rec, err = appendRecord(rec, &man.Files[i]); err != nil {
				return err
			}
			w.Write(rec)
		}
		w.WriteString("\n  ]")
	}
	w.WriteString(after)
	w.WriteByte('\n')
	return w.Flush()
}

// OpenTables verifies backup id, of kind tables, and returns the export it
// holds as package packs reads it (export.json and the rest), and what to
// close when done. A table export written before backup.json existed (a
// zip with export.json at its top) works too.
func (s Tables) OpenTables(id string) (fs.FS, io.Closer, error) { return OpenTables(s.Root, id) }

// OpenTables is [Tables.OpenTables].
func OpenTables(root layout.Root, id string) (fs.FS, io.Closer, error) {
	if err := Verify(root, id); err != nil {
		return nil, nil, err
	}
	src, m, err := openBackup(root, id)
	if err != nil {
		return nil, nil, err
	}
	src.sources.Close() // a table export references nothing: only its own zip stays open
	zr := src.zr
	if m.Kind != KindTables {
		zr.Close()
		return nil, nil, fmt.Errorf("%w: backup %s is a %s backup, not an export of tables", ErrNotTables, id, m.kind())
	}
	if m.prefix == "" {
		return zr, zr, nil
	}
	sub, err := fs.Sub(zr, strings.TrimSuffix(m.prefix, "/"))
	if err != nil {
		zr.Close()
		return nil, nil, err
	}
	return sub, zr, nil
}

// legacyManifest describes a table export written before exports had a
// backup.json: its kind, time and reason from its name, its backend and
// packs from export.json, its entries from the zip (their CRC-32 is all
// there is to check them by).
func legacyManifest(zr *zip.Reader, p string) (*Manifest, error) {
	rc, err := zr.Open(legacyExport)
	if err != nil {
		return nil, fmt.Errorf("%w: %s has no %s", ErrCorrupt, p, ManifestName)
	}
	defer rc.Close()
	var meta struct {
		Backend string `json:"backend"`
		Created string `json:"created"`
		Packs   []struct {
			Pack string `json:"pack"`
		} `json:"packs"`
	}
	if err := json.NewDecoder(io.LimitReader(rc, 64<<20)).Decode(&meta); err != nil {
		return nil, fmt.Errorf("%w: parse %s in %s: %v", ErrCorrupt, legacyExport, p, err)
	}
	id := strings.TrimSuffix(filepath.Base(p), ".zip")
	created, reason, _ := parseID(id)
	if t, err := time.Parse(time.RFC3339, meta.Created); err == nil {
		created = t
	}
	m := &Manifest{Format: Format, Kind: KindTables, Created: created, Reason: reason, Packs: map[string]string{},
		Database: Database{Kind: meta.Backend}, legacy: true}
	for _, pk := range meta.Packs {
		m.Tables = append(m.Tables, pk.Pack)
	}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") || path.Clean(f.Name) != f.Name {
			continue
		}
		m.Files = append(m.Files, File{Path: f.Name, Type: TypeFile, Size: int64(f.UncompressedSize64), Mode: "0644", Modified: f.Modified.UTC()})
	}
	return m, nil
}
