package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// backups create references what the last backup holds unchanged, backups
// list says so, verify checks the referenced files too, and backups export
// writes one zip that the real unzip turns back into the root's files.
func TestBackupsIncrementalAndExport(t *testing.T) {
	if _, err := exec.LookPath("unzip"); err != nil {
		t.Skip("unzip is not installed")
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	os.MkdirAll(filepath.Join(root, "Updates_Pending"), 0o755) // a root
	files := map[string]string{"app/big.txt": strings.Repeat("unchanged line\n", 20000), "app/config.ini": "a=1\n", "README": "hi\n"}
	for p, c := range files {
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1100 * time.Millisecond) // older than a second: the next backup may reference them
	run(t, dir, "backups", "create", "--root", root, "--db", "none", "--reason", "one").want(t, 0, []string{"wrote backup"}, nil)
	files["app/config.ini"] = "a=2\n"
	os.WriteFile(filepath.Join(root, "app/config.ini"), []byte(files["app/config.ini"]), 0o644)
	r := run(t, dir, "backups", "create", "--root", root, "--db", "none", "--reason", "two")
	r.want(t, 0, []string{"wrote backup", "built on", "_one"}, nil)
	id := strings.Fields(strings.TrimPrefix(r.stdout, "wrote backup "))[0]
	id = strings.TrimSuffix(id, ":")
	run(t, dir, "backups", "list", "--root", root).want(t, 0, []string{id, "incremental"}, nil)
	run(t, dir, "backups", "verify", "--root", root, id).want(t, 0, []string{"ok"}, nil)
	run(t, dir, "backups", "create", "--root", root, "--db", "none", "--full").want(t, 0, []string{"wrote backup"}, nil)

	out := filepath.Join(dir, "full.zip")
	run(t, dir, "backups", "export", "--root", root, id).want(t, 2, nil, []string{"-o FULL.zip"})
	run(t, dir, "backups", "export", "--root", root, id, "-o", out).want(t, 0, []string{"wrote " + out}, nil)
	x := filepath.Join(dir, "x")
	if b, err := exec.Command("unzip", "-q", out, "-d", x).CombinedOutput(); err != nil {
		t.Fatalf("unzip: %v\n%s", err, b)
	}
	for p, c := range files {
		got, err := os.ReadFile(filepath.Join(x, "files", p))
		if err != nil || string(got) != c {
			t.Errorf("%s from the export: %q, %v", p, got, err)
		}
	}
}
