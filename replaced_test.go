package main

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A zip replaced in Updates_Pending while the batch's backup runs (after
// the scan planned the batch) is refused at staging, naming the zip, and
// nothing changes: before, blog 9.0.0, which requires core >= 5.0 and
// upgrades only from >= 8.0, went in over blog 1.1.0 unchecked, reported
// as 1.1.0 -> 1.2.0.
func TestInstallRefusesZipReplacedDuringBackup(t *testing.T) {
	root := t.TempDir()
	pend := filepath.Join(root, "Updates_Pending")
	os.MkdirAll(pend, 0o755)
	pack := func(dir, out string) {
		t.Helper()
		run(t, ".", "pack", dir, "-o", out).want(t, 0, nil, nil)
	}
	pack(source(t, "core", "1.0.0", map[string]string{"core.txt": "core 1.0\n"}, nil), filepath.Join(pend, "core-1.0.0.zip"))
	pack(source(t, "blog", "1.1.0", map[string]string{"blog.txt": "blog 1.1\n"}, nil), filepath.Join(pend, "blog-1.1.0.zip"))
	run(t, root, "--install-updates").want(t, 0, []string{"Installed 2 updates"}, nil)
	pack(source(t, "blog", "1.2.0", map[string]string{"blog.txt": "blog 1.2\n"}, nil), filepath.Join(pend, "blog-1.2.0.zip"))
	evilSrc := source(t, "blog", "9.0.0", map[string]string{"blog.txt": "blog 9\n"}, map[string]string{"core": ">= 5.0"})
	mpath := filepath.Join(evilSrc, "manifest.json")
	data, _ := os.ReadFile(mpath)
	os.WriteFile(mpath, bytes.Replace(data, []byte(`"pack"`), []byte(`"upgrades_from": ">= 8.0", "pack"`), 1), 0o644)
	evil := filepath.Join(t.TempDir(), "blog-9.0.0.zip")
	pack(evilSrc, evil)
	before := fingerprint(t, filepath.Join(root, "packs"))

	paused := filepath.Join(t.TempDir(), "paused")
	cmd := exec.Command(upkeepBin, "--install-updates")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "UPKEEP_ROOT=", "UPKEEP_TEST_FAULT=pause@backup", "UPKEEP_TEST_PAUSE="+paused)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(paused); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the install never paused after its backup\n%s%s", out.String(), errb.String())
		}
	}
	// mv blog-9.0.0.zip Updates_Pending/blog-1.2.0.zip, then let it go on.
	if err := os.Rename(evil, filepath.Join(pend, "blog-1.2.0.zip")); err != nil {
		t.Fatal(err)
	}
	os.Remove(paused)
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("killed: %v", ee)
		}
		code = ee.ExitCode()
	}
	r := result{stdout: out.String(), stderr: errb.String(), code: code}
	r.want(t, 6, nil, []string{"upkeep: error: install failed (batch ", ", blog-1.2.0.zip, at stage:blog): ",
		"blog-1.2.0.zip replaced since it was checked (it now holds blog 9.0.0, not blog 1.2.0)", "everything was put back as it was"})
	if strings.Contains(r.stdout, "Installed") {
		t.Fatalf("stdout says something was installed:\n%s", r.stdout)
	}
	if after := fingerprint(t, filepath.Join(root, "packs")); !maps.Equal(before, after) {
		t.Fatalf("packs/ changed:\n before %v\n after  %v", before, after)
	}
	// The database still records blog 1.1.0, and the replaced zip is
	// judged by what it is now: not installable here.
	r = run(t, root, "--check-updates")
	r.want(t, 3, []string{"blog-1.2.0.zip", "9.0.0"}, nil)
	run(t, root, "packs", "list").want(t, 0, []string{"blog", "1.1.0"}, []string{})
}
