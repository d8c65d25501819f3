package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The units in examples/systemd say what the README says (upkeep before
// the application, User=, UPKEEP_ROOT, no restart on exit 3 or 4), and
// systemd-analyze verify accepts them when it is installed.
func TestSystemdExample(t *testing.T) {
	units, _ := filepath.Glob(filepath.Join("examples", "systemd", "*.service"))
	if len(units) < 2 {
		t.Fatalf("examples/systemd holds %d units", len(units))
	}
	dir := t.TempDir()
	var copies []string
	for _, unit := range units {
		data, err := os.ReadFile(unit)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		lines := map[string]string{}
		for _, l := range strings.Split(text, "\n") {
			if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
				lines[k] = v
			}
		}
		upkeep := lines["ExecStart"]
		if pre := lines["ExecStartPre"]; pre != "" {
			upkeep = pre
		}
		if !strings.HasPrefix(upkeep, "/usr/local/bin/upkeep ") {
			t.Errorf("%s: upkeep runs neither as ExecStart= nor as ExecStartPre=", unit)
		}
		if lines["ExecStartPre"] == "" && !strings.Contains(upkeep, " -- ") {
			t.Errorf("%s: ExecStart=upkeep without -- CMD", unit)
		}
		if lines["User"] == "" || !strings.HasPrefix(lines["Environment"], "UPKEEP_ROOT=/") {
			t.Errorf("%s: User= or Environment=UPKEEP_ROOT= missing", unit)
		}
		prevent := " " + lines["RestartPreventExitStatus"] + " "
		for _, code := range []string{" 3 ", " 4 ", " 6 ", " 7 "} {
			if !strings.Contains(prevent, code) {
				t.Errorf("%s: RestartPreventExitStatus= lacks%s", unit, code)
			}
		}
		// The upkeep flags in the unit are upkeep's: its own parser says so.
		args := strings.Fields(strings.TrimPrefix(upkeep, "/usr/local/bin/upkeep "))
		if i := indexOf(args, "--"); i >= 0 {
			args = args[:i]
		}
		if r := run(t, dir, append(args, "--help")...); r.code != 0 {
			t.Errorf("%s: upkeep %s: %s", unit, strings.Join(args, " "), r.stderr)
		}
		// For systemd-analyze, the binaries it checks must exist.
		text = strings.ReplaceAll(text, "/usr/local/bin/upkeep", upkeepBin)
		text = strings.ReplaceAll(text, "/srv/myapp/bin/myapp", "/bin/true")
		cp := filepath.Join(dir, filepath.Base(unit))
		os.WriteFile(cp, []byte(text), 0o644)
		copies = append(copies, cp)
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed: the units' contents were checked only")
	}
	out, err := exec.Command("systemd-analyze", append([]string{"verify"}, copies...)...).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
