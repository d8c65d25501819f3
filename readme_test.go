package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's tour, run as a reader would: each ```sh block of "A tour"
// in order, with the binary under test as ./upkeep and the tour's folders
// (/tmp/app, /tmp/release) made in a temporary folder; the output of each
// block that the README shows is compared with what it shows, timestamps
// masked. Nothing is written into the repository.
func TestREADMETour(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "\n## A tour\n")
	end := strings.Index(text[start+1:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("README has no section \"A tour\"")
	}
	tour := text[start : start+1+end]
	blocks := regexp.MustCompile("(?s)```(sh)?\n(.*?)```").FindAllStringSubmatch(tour, -1)

	tmp := t.TempDir()
	paths := strings.NewReplacer("/tmp/app", filepath.Join(tmp, "app"), "/tmp/release", filepath.Join(tmp, "release"), "./upkeep ", upkeepBin+" ")
	unpaths := strings.NewReplacer(filepath.Join(tmp, "app"), "/tmp/app", filepath.Join(tmp, "release"), "/tmp/release")
	stamp := regexp.MustCompile(`\d{8}T\d{6}Z|(?m)^(backup|staging): .*$`)
	before := fingerprint(t, "examples")
	ran := 0
	for i := 0; i < len(blocks); i++ {
		if blocks[i][1] != "sh" {
			continue
		}
		var script []string
		for _, line := range strings.Split(blocks[i][2], "\n") {
			if strings.HasPrefix(line, "go build ") { // the binary under test is built already
				continue
			}
			script = append(script, paths.Replace(line))
		}
		cmd := exec.Command("bash", "-c", "exec 2>&1\n"+strings.Join(script, "\n"))
		cmd.Env = append(os.Environ(), "UPKEEP_ROOT=", "UPKEEP_KEY_PASSWORD=tour password")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("tour block %d failed: %v\n%s\n%s", i, err, strings.Join(script, "\n"), out)
		}
		ran++
		if i+1 < len(blocks) && blocks[i+1][1] == "" {
			got := stamp.ReplaceAllString(unpaths.Replace(string(out)), "<stamp>")
			want := stamp.ReplaceAllString(blocks[i+1][2], "<stamp>")
			if got != want {
				t.Errorf("tour block %d prints\n%s\nthe README shows\n%s", i, got, want)
			}
			i++
		}
	}
	if ran < 3 {
		t.Errorf("ran %d blocks of the tour", ran)
	}
	for _, f := range []string{"blog.zip", "release.key", "release.pub", "upkeep"} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("the tour wrote %s into the repository", f)
		}
	}
	if after := fingerprint(t, "examples"); len(after) != len(before) {
		t.Error("the tour changed examples/")
	}
}
