package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// upkeepBin is the binary under test, built once by TestMain.
var upkeepBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "upkeep-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	upkeepBin = filepath.Join(dir, "upkeep")
	// The crash and fault tests inject faults through UPKEEP_TEST_FAULT,
	// which only a binary built with the tag upkeep_faults reads.
	build := exec.Command("go", "build", "-tags", "upkeep_faults", "-o", upkeepBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build upkeep:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs the built upkeep in dir with args and returns what it printed
// and its exit code.
func run(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd, out, errb := command(dir, args...)
	code := exitStatus(t, cmd.Run())
	return result{out.String(), errb.String(), code}
}

// command is the built upkeep with args, to run in dir, printing into out
// and errb.
func command(dir string, args ...string) (cmd *exec.Cmd, out, errb *bytes.Buffer) {
	cmd = exec.Command(upkeepBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "UPKEEP_ROOT=", "UPKEEP_KEY_PASSWORD=")
	out, errb = new(bytes.Buffer), new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = out, errb
	return cmd, out, errb
}

// exitStatus is the exit code of a run that ended with err.
func exitStatus(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0
}

func (r result) want(t *testing.T, code int, stdout, stderr []string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stdout {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
		}
	}
	for _, s := range stderr {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
}

// fingerprint records name, size, mode and sha256 of every file in dir.
func fingerprint(t *testing.T, dir string) map[string]string {
	t.Helper()
	fp := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		fp[path] = fmt.Sprintf("%d %v %s %s", info.Size(), info.Mode(), info.ModTime(), hex.EncodeToString(sum[:]))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

// newRoot returns a new upkeep root in a temporary folder, made by upkeep
// init as a person makes one.
func newRoot(t *testing.T) string {
	t.Helper()
	return initRoot(t, t.TempDir())
}

// initRoot makes dir an upkeep root with upkeep init and returns it.
func initRoot(t *testing.T, dir string) string {
	t.Helper()
	run(t, ".", "init", "--quiet", dir).want(t, 0, nil, nil)
	return dir
}

// packExample builds examples/NAME into dir/file with upkeep pack.
func packExample(t *testing.T, name, out string, extra ...string) {
	t.Helper()
	args := append([]string{"pack", filepath.Join("examples", name), "-o", out}, extra...)
	r := run(t, ".", args...)
	r.want(t, 0, []string{"wrote " + out}, nil)
}

func TestStartNothingPending(t *testing.T) {
	root := newRoot(t)
	r := run(t, root, "--check-updates")
	r.want(t, 0, []string{"No updates pending in " + root + "/Updates_Pending."}, nil)
	if r.stderr != "" {
		t.Errorf("stderr %q, want nothing", r.stderr)
	}
	for _, d := range []string{"Updates_Pending", "Updates_Installed", "Updates_Backups", "packs", ".upkeep"} {
		if info, err := os.Stat(filepath.Join(root, d)); err != nil || !info.IsDir() {
			t.Errorf("%s not created: %v", d, err)
		}
	}
	// The default mode is --check-updates; --quiet prints nothing.
	r = run(t, root, "--quiet")
	r.want(t, 0, nil, nil)
	if r.stdout != "" {
		t.Errorf("--quiet printed %q", r.stdout)
	}
}

func TestStartReportsPending(t *testing.T) {
	root := t.TempDir()
	pend := filepath.Join(root, "Updates_Pending")
	os.MkdirAll(pend, 0o755)
	packExample(t, "core", filepath.Join(pend, "core-2.1.0.zip"))
	packExample(t, "blog", filepath.Join(pend, "blog-1.4.0.zip"))
	os.WriteFile(filepath.Join(pend, "broken.zip"), []byte("PK\x03\x04 this is no zip"), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(pend, "broken.zip"), old, old)
	before := fingerprint(t, pend)

	r := run(t, root)
	r.want(t, 3, []string{
		"3 update zips in " + pend + " (2 ready to install):",
		"1. core-2.1.0.zip: ready",
		"   Core (core): new pack -> 2.1.0, released 2026-11-01",
		"   What's new: Users can reset their password by mail.",
		"   Database: schema 0 -> 2, 2 migrations: 0001_create_users.up.sql, 0002_add_reset_token.up.sql",
		"2. blog-1.4.0.zip: ready",
		"   Requires: core >= 2.0, < 3.0",
		"   Signature: unsigned",
		"broken.zip: invalid",
		"   - broken.zip:",
	}, []string{
		"upkeep: 3 update zips pending in " + pend + "; nothing was changed",
		"upkeep: hint: install the 2 ready with --install-updates (the other stays in " + pend + "), or start with --ignore-updates",
	})
	if after := fingerprint(t, pend); !reflect.DeepEqual(before, after) {
		t.Errorf("the check changed files:\nbefore %v\nafter  %v", before, after)
	}

	// The same report as JSON.
	r = run(t, root, "--check-updates", "--json")
	if r.code != 3 {
		t.Fatalf("--json: exit %d, want 3; stderr %s", r.code, r.stderr)
	}
	var rep struct {
		Root    string `json:"root"`
		Updates []struct {
			File     string   `json:"file"`
			Status   string   `json:"status"`
			Order    int      `json:"order"`
			Pack     string   `json:"pack"`
			Problems []string `json:"problems"`
			Database *struct {
				From, To   int
				Migrations []string
			} `json:"database"`
		} `json:"updates"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, r.stdout)
	}
	if rep.Root != root || len(rep.Updates) != 3 || rep.Updates[0].Pack != "core" || rep.Updates[1].Pack != "blog" ||
		rep.Updates[2].Status != "invalid" || len(rep.Updates[2].Problems) == 0 || rep.Updates[0].Database.To != 2 {
		t.Errorf("JSON report %+v", rep)
	}

	// --ignore-updates goes on without looking.
	r = run(t, root, "--ignore-updates")
	r.want(t, 0, nil, nil)
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("--ignore-updates printed %q %q", r.stdout, r.stderr)
	}
	if after := fingerprint(t, pend); !reflect.DeepEqual(before, after) {
		t.Errorf("files changed")
	}
}

func TestStartExecsCommand(t *testing.T) {
	root := newRoot(t)
	marker := filepath.Join(root, "started")
	r := run(t, root, "--quiet", "--", "sh", "-c", `echo "app started with $1" > "$0"; exit 9`, marker, "arg1")
	if r.code != 9 {
		t.Fatalf("exit %d, want the application's 9; stderr %s", r.code, r.stderr)
	}
	if data, err := os.ReadFile(marker); err != nil || string(data) != "app started with arg1\n" {
		t.Fatalf("application not run as asked: %q, %v", data, err)
	}

	// With updates pending, the check stops the start: the command does not run.
	os.Remove(marker)
	packExample(t, "core", filepath.Join(root, "Updates_Pending", "core.zip"))
	r = run(t, root, "--", "sh", "-c", `touch "$0"`, marker)
	r.want(t, 3, nil, []string{"core.zip: ready"}) // with -- CMD, upkeep's report is on stderr
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the application ran although updates are pending")
	}
	// --ignore-updates runs it anyway.
	r = run(t, root, "--ignore-updates", "--", "sh", "-c", `touch "$0"`, marker)
	r.want(t, 0, nil, nil)
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("--ignore-updates did not run the application")
	}
	// A command that cannot be started exits 127 with an error naming it.
	r = run(t, root, "--ignore-updates", "--", "no-such-app-here")
	r.want(t, 127, nil, []string{"upkeep: error: cannot start the application: no-such-app-here:", "upkeep: hint: check the command after --"})
	notExec := filepath.Join(root, "not-executable")
	os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644)
	r = run(t, root, "--ignore-updates", "--", notExec)
	r.want(t, 127, nil, []string{"upkeep: error: cannot start the application: " + notExec + ":"})
}

func TestUsageErrors(t *testing.T) {
	root := newRoot(t)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--check-updates", "--ignore-updates"}, "upkeep: error: --check-updates, --install-updates and --ignore-updates exclude each other"},
		{[]string{"--install-updates", "--ignore-updates"}, "exclude each other"},
		{[]string{"frobnicate"}, `upkeep: error: unknown command "frobnicate"`},
		{[]string{"--no-such-flag"}, "upkeep: error: flag provided but not defined: --no-such-flag"},
		{[]string{"updates", "show"}, "upkeep: error: upkeep updates show takes one argument, ZIP"},
		{[]string{"pack", "examples/core"}, "upkeep: error: pack needs -o OUT.zip"},
		{[]string{"updates", "list", "--", "sh"}, `upkeep: error: -- CMD goes with the start only, not with command "updates"`},
	} {
		r := run(t, root, tc.args...)
		r.want(t, 2, nil, []string{tc.msg, "upkeep: hint: run 'upkeep --help' for usage"})
	}
}

func TestHelpListsExitCodes(t *testing.T) {
	r := run(t, ".", "--help")
	r.want(t, 0, []string{"--check-updates", "--ignore-updates", "EXIT CODES:", "3  updates pending (reported)", "7  could not roll back"}, nil)
}
