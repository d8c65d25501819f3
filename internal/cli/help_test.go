package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/internal/golden"
)

// commandPaths lists every command of the app: "updates", "updates list", ...
func commandPaths() []string {
	var paths []string
	var walk func(cmds []*cli.Command, parent string)
	walk = func(cmds []*cli.Command, parent string) {
		for _, c := range cmds {
			p := strings.TrimSpace(parent + " " + c.Name)
			paths = append(paths, p)
			walk(c.Subcommands, p)
		}
	}
	app, release := newApp(io.Discard, io.Discard, nil)
	defer release()
	walk(app.Commands, "")
	return paths
}

// The help of the root and of a few commands, as the binary prints it.
func TestHelpGolden(t *testing.T) {
	dir := t.TempDir()
	for name, args := range map[string][]string{
		"root.txt":          {"--help"},
		"db.txt":            {"db", "--help"},
		"db_down.txt":       {"db", "down", "--help"},
		"pack.txt":          {"pack", "--help"},
		"keys_generate.txt": {"keys", "generate", "--help"},
		"feed_fetch.txt":    {"feed", "fetch", "--help"},
	} {
		r := runUpkeep(t, dir, nil, args...)
		r.wantCode(t, 0)
		golden.Check(t, filepath.Join("help", name), []byte(r.stdout))
	}
}

// Every command's help: the global flags in one GLOBAL OPTIONS line, not
// repeated as options; no internal defaults; a placeholder for every flag
// that takes a value; `upkeep help CMD` prints the same.
func TestHelpOfEveryCommand(t *testing.T) {
	dir := t.TempDir()
	bad := regexp.MustCompile(`\(default: (false|-1|0|"")\)|\bvalue\b|\[\$UPKEEP|(?m)^   --(root|db|json|quiet|trusted-key|lock-timeout)( [A-Z]+)?  `)
	for _, path := range commandPaths() {
		if path == "help" { // upkeep help --help is upkeep's help
			continue
		}
		args := strings.Fields(path)
		r := runUpkeep(t, dir, nil, append(args, "--help")...)
		r.wantCode(t, 0)
		if !strings.HasPrefix(r.stdout, "NAME:\n   upkeep "+path+" - ") {
			t.Errorf("%s --help starts with:\n%s", path, r.stdout[:min(200, len(r.stdout))])
		}
		if m := bad.FindString(r.stdout); m != "" {
			t.Errorf("%s --help shows %q:\n%s", path, m, r.stdout)
		}
		if !strings.Contains(r.stdout, "GLOBAL OPTIONS (before or after the command; 'upkeep --help' says what each does):\n   --root DIR, --db URL, --json, --quiet, --trusted-key FILE, --lock-timeout DURATION\n") {
			t.Errorf("%s --help lacks the GLOBAL OPTIONS block:\n%s", path, r.stdout)
		}
		h := runUpkeep(t, dir, nil, append([]string{"help"}, args...)...)
		h.wantCode(t, 0)
		if h.stdout != r.stdout {
			t.Errorf("upkeep help %s differs from upkeep %s --help:\n%s", path, path, h.stdout)
		}
	}
	// The root: --check-updates says "(the default)" once, --migrate-db is
	// in the usage, EXIT CODES follows a blank line.
	r := runUpkeep(t, dir, nil, "help")
	r.wantCode(t, 0)
	for _, want := range []string{
		"   --check-updates            report pending updates and exit 3 when there are any (the default)\n",
		"[--migrate-db]", "--db URL", "--lock-timeout DURATION  wait up to DURATION (like 30s or 5m)",
		"\n\nEXIT CODES:\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("upkeep help lacks %q:\n%s", want, r.stdout)
		}
	}
	if m := regexp.MustCompile(`\(default: (false|-1|0|"")\)|\bvalue\b`).FindString(r.stdout); m != "" {
		t.Errorf("upkeep help shows %q", m)
	}
	r = runUpkeep(t, dir, nil, "help", "db", "stat")
	r.wantCode(t, 2)
	if !strings.Contains(r.stderr, "did you mean 'upkeep db status'?") {
		t.Errorf("help db stat: %s", r.stderr)
	}
}

func TestVersion(t *testing.T) {
	dir := t.TempDir()
	r := runUpkeep(t, dir, nil, "version")
	r.wantCode(t, 0)
	line := regexp.MustCompile(`^upkeep (\S+), commit ([0-9a-f]{12}( \(modified\))?|unknown), (go\S+), (\S+)\n$`)
	m := line.FindStringSubmatch(r.stdout)
	if m == nil || m[1] != Version || m[4] != runtime.Version() || m[5] != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("upkeep version: %q", r.stdout)
	}
	if v := runUpkeep(t, dir, nil, "--version"); v.stdout != r.stdout {
		t.Errorf("--version %q, version %q", v.stdout, r.stdout)
	}
	r = runUpkeep(t, dir, nil, "version", "--json")
	r.wantCode(t, 0)
	var doc struct {
		Format  int    `json:"json_format"`
		Version string `json:"version"`
		Commit  string `json:"commit"`
		Go      string `json:"go"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Format != 1 || doc.Version != Version || doc.Go != runtime.Version() {
		t.Errorf("version --json: %v: %s", err, r.stdout)
	}
	if doc.Commit != "" && !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(doc.Commit) {
		t.Errorf("commit %q", doc.Commit)
	}
	runUpkeep(t, dir, nil, "version", "extra").wantCode(t, 2)
}

// bash completes commands, subcommands and flags by asking upkeep.
func TestCompletionBash(t *testing.T) {
	bin := upkeepBinary(t)
	dir := t.TempDir()
	r := runUpkeep(t, dir, nil, "completion", "bash")
	r.wantCode(t, 0)
	script := filepath.Join(dir, "upkeep.bash")
	os.WriteFile(script, []byte(r.stdout), 0o644)
	complete := func(words ...string) string {
		t.Helper()
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		sh := "source " + script + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
			string(rune('0'+len(words)-1)) + "\n_upkeep_complete\necho \"${COMPREPLY[@]}\"\n"
		cmd := exec.Command("bash", "--norc", "-c", sh)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := complete("upkeep", "db", "st"); got != "status" {
		t.Errorf("upkeep db st<TAB>: %q", got)
	}
	if got := complete("upkeep", "back"); got != "backups" {
		t.Errorf("upkeep back<TAB>: %q", got)
	}
	if got := complete("upkeep", "pack", "--ou"); got != "--output" {
		t.Errorf("upkeep pack --ou<TAB>: %q", got)
	}
}

func TestCompletionZshFish(t *testing.T) {
	dir := t.TempDir()
	for shell, want := range map[string]string{"zsh": "#compdef upkeep\n", "fish": "complete -c upkeep "} {
		r := runUpkeep(t, dir, nil, "completion", shell)
		r.wantCode(t, 0)
		if !strings.Contains(r.stdout, want) {
			t.Errorf("completion %s lacks %q:\n%s", shell, want, r.stdout)
		}
		if _, err := exec.LookPath(shell); err == nil {
			cmd := exec.Command(shell, "-n")
			cmd.Stdin = strings.NewReader(r.stdout)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s -n: %v\n%s", shell, err, out)
			}
		}
	}
	if r := runUpkeep(t, dir, nil, "completion", "tcsh"); r.code != 2 || !strings.Contains(r.stderr, "bash, zsh or fish") {
		t.Errorf("completion tcsh: %d %s", r.code, r.stderr)
	}
}

// upkeep man is a roff page man can read without warnings, with every
// command in it.
func TestManPage(t *testing.T) {
	dir := t.TempDir()
	r := runUpkeep(t, dir, nil, "man")
	r.wantCode(t, 0)
	page := r.stdout
	for _, want := range []string{".TH UPKEEP 1 ", ".SH NAME\nupkeep \\- ", ".SH SYNOPSIS", ".SH GLOBAL OPTIONS", ".SH EXIT STATUS", ".SS upkeep db down\n.nf\nupkeep db down \\-\\-pack PACK \\-\\-to VERSION"} {
		if !strings.Contains(page, want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	for _, line := range strings.Split(page, "\n") {
		if strings.HasPrefix(line, ".") && !regexp.MustCompile(`^\.(TH|SH|SS|TP|B|BR|PP|nf|fi|br)( |$)`).MatchString(line) {
			t.Errorf("unknown request: %q", line)
		}
	}
	if _, err := exec.LookPath("man"); err != nil {
		t.Skip("man is not installed: the page's structure was checked only")
	}
	file := filepath.Join(dir, "upkeep.1")
	os.WriteFile(file, []byte(page), 0o644)
	cmd := exec.Command("man", "--warnings", "-l", file)
	cmd.Env = append(os.Environ(), "MANWIDTH=100")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil || errb.Len() > 0 {
		t.Fatalf("man -l: %v\n%s", err, errb.String())
	}
	for _, path := range commandPaths() {
		if !strings.Contains(out.String(), "upkeep "+path) {
			t.Errorf("the rendered page lacks %q", "upkeep "+path)
		}
	}
}
