package backupstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/upkeep/upkeep/internal/golden"
)

// backup.json and the zip's entries, as people read them (unzip -l,
// upkeep backups show --json).
func TestManifestGolden(t *testing.T) {
	r := newRoot(t)
	os.Remove(r.Packs())
	mtime := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	write(t, r.Dir, "README.txt", []byte("hello\n"), 0o644)
	write(t, r.Dir, "bin/run.sh", []byte("#!/bin/sh\necho run\n"), 0o755)
	write(t, r.Dir, "packs/core/log.txt", textBytes(5000), 0o600)
	write(t, r.Dir, "packs/core/blob.bin", randomBytes(7, 3000), 0o644)
	os.MkdirAll(filepath.Join(r.Dir, "empty"), 0o755)
	os.Symlink("packs/core", filepath.Join(r.Dir, "current"))
	for _, p := range []string{"README.txt", "bin/run.sh", "packs/core/log.txt", "packs/core/blob.bin", "packs/core", "packs", "bin", "empty"} {
		os.Chtimes(filepath.Join(r.Dir, p), mtime, mtime)
	}
	b := create(t, CreateOptions{Root: r, Reason: "golden", UpkeepVersion: "0.1.0", DB: "none",
		Packs: map[string]string{"core": "2.1.0", "blog": "1.4.0"},
		Now:   func() time.Time { return time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC) }})
	m, err := Show(r, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Files {
		// The inode and change time differ from run to run (and are
		// recorded only for files changed over a second before).
		m.Files[i].Inode, m.Files[i].CTime = 0, 0
		if m.Files[i].Type == TypeSymlink {
			m.Files[i].Modified = mtime // a symlink's own time cannot be set portably
		}
	}
	js, _ := json.MarshalIndent(m, "", "  ")
	var out bytes.Buffer
	out.Write(js)
	out.WriteString("\n\nzip entries (name, method, mode, size, compressed):\n")
	for _, f := range openZip(t, b.Path).File {
		method := map[uint16]string{0: "store", 8: "deflate"}[f.Method]
		if f.Name == ManifestName {
			fmt.Fprintf(&out, "%-28s %-7s %v\n", f.Name, method, f.Mode())
			continue
		}
		fmt.Fprintf(&out, "%-28s %-7s %v %d %d\n", f.Name, method, f.Mode(), f.UncompressedSize64, f.CompressedSize64)
	}
	golden.Check(t, "backup.golden", out.Bytes())
}
