package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Building the app twice in one process must not print the EXIT CODES block
// twice: the help template is the app's own, not urfave's global.
func TestHelpTemplateIsPerApp(t *testing.T) {
	for i := range 3 {
		var out, errb bytes.Buffer
		code := Main([]string{"upkeep", "--help"}, &out, &errb)
		if code != 0 {
			t.Fatalf("run %d: exit %d: %s", i, code, errb.String())
		}
		if n := strings.Count(out.String(), "EXIT CODES:"); n != 1 {
			t.Fatalf("run %d: EXIT CODES %d times in the help:\n%s", i, n, out.String())
		}
		if !strings.Contains(out.String(), "\n\nEXIT CODES:\n") {
			t.Errorf("run %d: EXIT CODES does not follow a blank line:\n%s", i, out.String())
		}
	}
}

func TestPrintJSON(t *testing.T) {
	type item struct {
		At    time.Time `json:"at"`
		Names []string  `json:"names"`
	}
	var out bytes.Buffer
	loc := time.FixedZone("CET", 3600)
	err := printJSON(&out, struct {
		Requires string  `json:"requires"`
		Items    []item  `json:"items"`
		None     []item  `json:"none"`
		Ptr      *item   `json:"ptr"`
		Nested   []*item `json:"nested"`
	}{
		Requires: ">= 1.2, < 2.0 & <b>",
		Items:    []item{{At: time.Date(2026, 12, 6, 21, 0, 0, 0, loc)}},
		Ptr:      &item{},
		Nested:   []*item{nil, {Names: []string{"a"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "json_format": 1,
  "requires": ">= 1.2, < 2.0 & <b>",
  "items": [
    {
      "at": "2026-12-06T20:00:00Z",
      "names": []
    }
  ],
  "none": [],
  "ptr": {
    "at": "0001-01-01T00:00:00Z",
    "names": []
  },
  "nested": [
    null,
    {
      "at": "0001-01-01T00:00:00Z",
      "names": [
        "a"
      ]
    }
  ]
}
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	if err := printJSON(&out, []string{"a"}); err == nil {
		t.Error("a list at the top level was accepted")
	}
	out.Reset()
	if err := printJSON(&out, struct{}{}); err != nil || out.String() != "{\n  \"json_format\": 1\n}\n" {
		t.Errorf("empty object: %q, %v", out.String(), err)
	}
}

func TestJSONErrorDocument(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main([]string{"upkeep", "--json", "--check-updates", "--ignore-updates"}, &out, &errb)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	want := `{
  "json_format": 1,
  "error": {
    "message": "--check-updates, --install-updates and --ignore-updates exclude each other",
    "hint": "run 'upkeep --help' for usage",
    "exit_code": 2
  }
}
`
	if out.String() != want {
		t.Errorf("stdout:\n%s\nwant\n%s", out.String(), want)
	}
	if !strings.Contains(errb.String(), "upkeep: error: --check-updates") {
		t.Errorf("stderr lacks the error: %s", errb.String())
	}
}

// A global flag given before the command beats the environment, as one
// given after it does.
func TestGlobalFlagBeatsEnvironment(t *testing.T) {
	env, flag := filepath.Join(t.TempDir(), "from-env"), filepath.Join(t.TempDir(), "from-flag")
	t.Setenv("UPKEEP_ROOT", env)
	for _, args := range [][]string{{"--root", flag, "db", "status"}, {"db", "status", "--root", flag}, {"--root", flag}} {
		var out, errb bytes.Buffer
		code := Main(append([]string{"upkeep"}, args...), &out, &errb)
		if code != exitError || !strings.Contains(errb.String(), "not an upkeep root: "+flag+" does not exist") {
			t.Errorf("upkeep %v with UPKEEP_ROOT set: exit %d\n%s", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"upkeep", "db", "status"}, &out, &errb); code != exitError || !strings.Contains(errb.String(), env+" does not exist") {
		t.Errorf("UPKEEP_ROOT alone: exit %d\n%s", code, errb.String())
	}
}
