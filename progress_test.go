package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// packProgressSource is a pack of 200 files of 50 kB.
func packProgressSource(t *testing.T) string {
	t.Helper()
	files := map[string]string{}
	for i := range 200 {
		files[fmt.Sprintf("data/f%03d.txt", i)] = fmt.Sprintf("%-49999d\n", i) // 50,000 bytes
	}
	return source(t, "big", "1.0.0", files, nil)
}

// On a terminal, pack's progress is a bar redrawn in place that ends at
// 100% with a newline; the zip is the same. upkeep runs on a real
// pseudo-terminal made by script(1).
func TestPackProgressBarOnTerminal(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) is not installed")
	}
	src := packProgressSource(t)
	out := filepath.Join(t.TempDir(), "big.zip")
	cmd := exec.Command(script, "-q", "-e", "-c", fmt.Sprintf("%s pack %s -o %s", upkeepBin, src, out), "/dev/null")
	cmd.Env = append(os.Environ(), "UPKEEP_ROOT=", "TERM=xterm")
	tty, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("upkeep pack on a terminal: %v\n%q", err, tty)
	}
	text := string(tty)
	for _, label := range []string{"pack: checksums", "pack: zip"} {
		// The bar's last drawing: full, at the totals, erased to the end
		// of the line, then the newline that ends it (\r\n on a tty).
		last := regexp.MustCompile(`\r` + label + ` \[={30}\] 100% ([0-9.]+ [kMG]?B)/([0-9.]+ [kMG]?B) 200/200 files [^\r\n]*\x1b\[K\r?\n`)
		m := last.FindStringSubmatch(text)
		if m == nil || m[1] != m[2] || m[1] != "10 MB" {
			t.Errorf("no finished %q bar at 10 MB in:\n%q", label, text)
		}
	}
	if strings.Contains(text, "pack: zip: ") {
		t.Errorf("plain progress lines on a terminal:\n%q", text)
	}
	if !strings.Contains(text, "wrote "+out) {
		t.Errorf("no wrote line:\n%q", text)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
}

// Without a terminal, pack's progress is plain lines, the last at the
// totals, and no bar or escape sequence.
func TestPackProgressLinesWithoutTerminal(t *testing.T) {
	src := packProgressSource(t)
	out := filepath.Join(t.TempDir(), "big.zip")
	r := run(t, ".", "pack", src, "-o", out)
	r.want(t, 0, []string{"wrote " + out}, []string{"pack: checksums: 200/200 files, 10 MB/10 MB\n", "pack: zip: 200/200 files, 10 MB/10 MB\n"})
	if strings.ContainsAny(r.stderr, "\r\x1b[") {
		t.Errorf("a bar or escape sequence without a terminal:\n%q", r.stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if !regexp.MustCompile(`^pack: (checksums|zip): \d+/200 files, [0-9.]+ [kM]?B/10 MB$`).MatchString(line) {
			t.Errorf("not a progress line: %q", line)
		}
	}
}
