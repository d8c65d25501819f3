package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// served is an upkeep process serving the admin pages.
type served struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:PORT
	token  string
	stdout *bytes.Buffer
	mu     *sync.Mutex
	stderr *strings.Builder
	done   chan error
}

var loginLine = regexp.MustCompile(`admin pages at (http://[0-9.:]+)/login\?token=([0-9a-f]+)`)

// startServing runs upkeep with args in dir and waits for its login line.
func startServing(t *testing.T, dir string, args ...string) *served {
	t.Helper()
	cmd := exec.Command(upkeepBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "UPKEEP_ROOT=")
	s := &served{cmd: cmd, stdout: &bytes.Buffer{}, mu: &sync.Mutex{}, stderr: &strings.Builder{}, done: make(chan error, 1)}
	cmd.Stdout = s.stdout
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.mu.Lock()
			s.stderr.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := loginLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		s.done <- err
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
	})
	select {
	case m := <-found:
		s.base, s.token = m[1], m[2]
	case err := <-s.done:
		t.Fatalf("upkeep ended before serving: %v\n%s", err, s.errText())
	case <-time.After(20 * time.Second):
		t.Fatalf("no login line within 20s:\n%s", s.errText())
	}
	return s
}

func (s *served) errText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

func (s *served) do(t *testing.T, method, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc)
	return resp.StatusCode, doc
}

// wait waits for the process to end and returns its exit code.
func (s *served) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case err := <-s.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(d):
		t.Fatalf("upkeep did not end within %s:\n%s", d, s.errText())
	}
	return -1
}

// The limited mode: a start that would exit 3 serves the pages; an install
// from the API lets it go on and exec its command.
func TestLimitedModeInstallsFromThePagesThenStarts(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "Updates_Pending"), 0o755)
	packExample(t, "core", filepath.Join(root, "Updates_Pending", "core-2.1.0.zip"))
	marker := filepath.Join(root, "app-started")
	s := startServing(t, root, "--admin-listen", "127.0.0.1:0", "--", "sh", "-c", "echo the app runs; touch "+marker)
	if !strings.Contains(s.errText(), "serving the admin pages until that is dealt with") {
		t.Errorf("stderr:\n%s", s.errText())
	}
	if info, err := os.Stat(filepath.Join(root, ".upkeep", "admin-token")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", info, err)
	}
	code, doc := s.do(t, "GET", "/api/report")
	if code != 200 || doc["json_format"] != float64(1) || len(doc["updates"].([]any)) != 1 {
		t.Fatalf("report: %d %v", code, doc)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the app started before the install")
	}
	code, doc = s.do(t, "POST", "/api/install")
	if code != http.StatusAccepted {
		t.Fatalf("install: %d %v", code, doc)
	}
	if code := s.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, s.errText())
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the app did not start: %v\nstdout:\n%s\nstderr:\n%s", err, s.stdout, s.errText())
	}
	// Stdout is the application's; upkeep's own lines went to stderr.
	if s.stdout.String() != "the app runs\n" || !strings.Contains(s.errText(), "No updates pending") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", s.stdout, s.errText())
	}
	if _, err := os.Stat(filepath.Join(root, "packs", "core", "manifest.json")); err != nil {
		t.Fatal(err)
	}
	r := run(t, root, "db", "status")
	r.want(t, 0, []string{"core", "up to date"}, nil)
}

// The limited mode with the database behind (exit 4 otherwise): a
// migration from the API lets the start go on.
func TestLimitedModeMigratesFromThePagesThenStarts(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "Updates_Pending"), 0o755)
	packExample(t, "core", filepath.Join(root, "Updates_Pending", "core-2.1.0.zip"))
	run(t, root, "--install-updates", "--no-backup").want(t, 0, nil, nil)
	run(t, root, "db", "down", "--pack", "core", "--to", "0", "--no-backup").want(t, 0, nil, nil)
	run(t, root).want(t, 4, nil, nil)
	marker := filepath.Join(root, "app-started")
	s := startServing(t, root, "--admin-listen", "127.0.0.1:0", "--", "touch", marker)
	code, doc := s.do(t, "GET", "/api/status")
	if code != 200 {
		t.Fatalf("status: %d %v", code, doc)
	}
	if p := doc["packs"].([]any)[0].(map[string]any); p["state"] != "behind" {
		t.Fatalf("status: %v", doc)
	}
	code, doc = s.do(t, "POST", "/api/migrate")
	if code != http.StatusAccepted {
		t.Fatalf("migrate: %d %v", code, doc)
	}
	if code := s.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, s.errText())
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the app did not start: %v\n%s", err, s.errText())
	}
	run(t, root, "db", "status").want(t, 0, []string{"up to date"}, nil)
}

func TestServeRefusesBeyondLoopbackWithoutTLS(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "Updates_Pending"), 0o755)
	r := run(t, root, "serve", "--listen", "0.0.0.0:0")
	r.want(t, 1, nil, []string{"upkeep: error: admin: refusing to listen beyond loopback without TLS", "--tls-cert"})
	if _, err := os.Stat(filepath.Join(root, ".upkeep", "admin-token")); err == nil {
		t.Error("a token was made by a refused serve")
	}
	r = run(t, t.TempDir(), "serve", "--root", "nowhere")
	r.want(t, 1, nil, []string{"not an upkeep root", "upkeep init"})
}

func TestServeShowsTheLinkOnceAndStopsOnSIGTERM(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "Updates_Pending"), 0o755)
	s := startServing(t, root, "serve", "--listen", "127.0.0.1:0")
	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar}).Get(s.base + "/login?token=" + s.token)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Overview") {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	// The second start does not print the token again.
	cmd := exec.Command(upkeepBin, "serve", "--listen", "127.0.0.1:0")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "UPKEEP_ROOT=")
	pr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(pr).ReadString('\n')
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if strings.Contains(line, s.token) || !strings.Contains(line, "log in with the token in") {
		t.Fatalf("second start printed %q", line)
	}
}

func TestUpdatesWatchPrintsOneLinePerChange(t *testing.T) {
	root := t.TempDir()
	pending := filepath.Join(root, "Updates_Pending")
	os.MkdirAll(pending, 0o755)
	cmd := exec.Command(upkeepBin, "updates", "watch", "--json")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "UPKEEP_ROOT=")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan map[string]any, 10)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("not a JSON line: %q", sc.Text())
				continue
			}
			lines <- m
		}
		close(lines)
	}()
	time.Sleep(300 * time.Millisecond)
	packExample(t, "core", filepath.Join(pending, "core-2.1.0.zip.part"))
	old := time.Now().Add(-time.Minute)
	os.Chtimes(filepath.Join(pending, "core-2.1.0.zip.part"), old, old)
	os.Rename(filepath.Join(pending, "core-2.1.0.zip.part"), filepath.Join(pending, "core-2.1.0.zip"))
	select {
	case m := <-lines:
		if m["file"] != "core-2.1.0.zip" || m["status"] != "ready" || m["pack"] != "core" || m["json_format"] != float64(1) || m["ready"] != float64(1) {
			t.Fatalf("line %v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no line within 10s")
	}
	os.Remove(filepath.Join(pending, "core-2.1.0.zip"))
	select {
	case m := <-lines:
		if m["file"] != "core-2.1.0.zip" || m["status"] != "gone" {
			t.Fatalf("line %v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no line within 10s")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("watch after SIGTERM: %v", err)
	}
}

// SIGINT and SIGTERM stop `upkeep serve` cleanly, with exit 0: an action
// under way ends first and is recorded as done, the event streams end, and
// the root's lock is free. `upkeep updates watch` stops on both with exit
// 0 too.
func TestServeAndWatchStopCleanlyOnSIGINTAndSIGTERM(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			root := t.TempDir()
			os.MkdirAll(filepath.Join(root, "Updates_Pending"), 0o755)
			os.MkdirAll(filepath.Join(root, "assets"), 0o755)
			blob := make([]byte, 8<<20)
			for i := range blob {
				blob[i] = byte(i * 7919 >> 3)
			}
			os.WriteFile(filepath.Join(root, "assets", "blob.bin"), blob, 0o644)
			s := startServing(t, root, "serve", "--listen", "127.0.0.1:0")
			req, _ := http.NewRequest("GET", s.base+"/api/events", nil)
			req.Header.Set("Authorization", "Bearer "+s.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			streamEnded := make(chan error, 1)
			go func() {
				_, err := io.Copy(io.Discard, resp.Body)
				streamEnded <- err
			}()
			if code, doc := s.do(t, "POST", "/api/backups"); code != http.StatusAccepted {
				t.Fatalf("backup: %d %v", code, doc)
			}
			s.cmd.Process.Signal(sig)
			if code := s.wait(t, 30*time.Second); code != 0 {
				t.Fatalf("exit %d after %s:\n%s", code, sig, s.errText())
			}
			select {
			case err := <-streamEnded:
				if err != nil {
					t.Errorf("event stream: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("the event stream did not end")
			}
			var a struct{ State, Kind string }
			data, _ := os.ReadFile(filepath.Join(root, ".upkeep", "admin-action.json"))
			if json.Unmarshal(data, &a); a.Kind != "backup" || a.State != "done" {
				t.Fatalf("the action was not finished before the exit: %s", data)
			}
			list, _ := filepath.Glob(filepath.Join(root, "Updates_Backups", "*_admin.zip"))
			if len(list) != 1 {
				t.Fatalf("backups: %v", list)
			}
			id := strings.TrimSuffix(filepath.Base(list[0]), ".zip")
			run(t, root, "backups", "verify", id, "--lock-timeout", "0s").want(t, 0, []string{"ok"}, nil)
			// The lock is free: a command that takes it does not wait.
			run(t, root, "backups", "prune", "--keep", "1", "--lock-timeout", "0s").want(t, 0, nil, nil)

			cmd := exec.Command(upkeepBin, "updates", "watch", "--json")
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "UPKEEP_ROOT=")
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			packExample(t, "core", filepath.Join(root, "Updates_Pending", "core-2.1.0.zip"))
			line, err := bufio.NewReader(out).ReadString('\n')
			if !strings.Contains(line, `"core-2.1.0.zip"`) {
				t.Fatalf("watch: %q %v", line, err)
			}
			cmd.Process.Signal(sig)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("watch after %s: %v", sig, err)
			}
		})
	}
}

// The API serves the CLI's documents: for the same root and database,
// GET /api/NAME and the command's --json are the same bytes, for every
// document the API serves (the action document is the server's own).
func TestAPIDocumentsAreTheCLIsDocuments(t *testing.T) {
	root := t.TempDir()
	pending := filepath.Join(root, "Updates_Pending")
	os.MkdirAll(pending, 0o755)
	packExample(t, "core", filepath.Join(pending, "core-2.1.0.zip"))
	run(t, root, "--install-updates").want(t, 0, nil, nil)
	run(t, root, "db", "down", "--pack", "core", "--to", "1").want(t, 0, nil, nil) // a table export
	packExample(t, "core", filepath.Join(pending, "core-2.1.0.zip"))               // pending again: "installed"
	old := time.Now().Add(-time.Minute)                                            // and whole: not being copied
	os.Chtimes(filepath.Join(pending, "core-2.1.0.zip"), old, old)
	s := startServing(t, root, "serve", "--listen", "127.0.0.1:0")
	for _, d := range []struct {
		path string
		cli  []string
	}{
		{"/api/report", []string{"updates", "list", "--json"}},
		{"/api/status", []string{"db", "status", "--json"}},
		{"/api/backups", []string{"backups", "list", "--json"}},
		{"/api/history", []string{"history", "--json"}},
	} {
		req, _ := http.NewRequest("GET", s.base+d.path, nil)
		req.Header.Set("Authorization", "Bearer "+s.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		api, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", d.path, resp.StatusCode, api)
		}
		r := run(t, root, d.cli...)
		if r.code != 0 {
			t.Fatalf("upkeep %v: exit %d\n%s", d.cli, r.code, r.stderr)
		}
		if string(api) != r.stdout {
			t.Errorf("GET %s differs from upkeep %s:\n--- API\n%s\n--- CLI\n%s", d.path, strings.Join(d.cli, " "), api, r.stdout)
		}
		var doc map[string]any
		if err := json.Unmarshal(api, &doc); err != nil || len(doc) < 2 {
			t.Errorf("GET %s: %v %s", d.path, err, api)
		}
	}
	// The documents are not empty ones: the state set up above is in them.
	for path, want := range map[string]string{
		"/api/report":  `"status": "installed"`,
		"/api/status":  `"state": "behind"`,
		"/api/backups": `"kind": "db export"`,
		"/api/history": `"outcome": "committed"`,
	} {
		_, doc := s.do(t, "GET", path)
		b, _ := json.MarshalIndent(doc, "", "  ")
		if !strings.Contains(string(b), want) {
			t.Errorf("GET %s lacks %s:\n%s", path, want, b)
		}
	}
}

// The limited mode is a start: SIGTERM ends it with 143 and a line that
// says the application was not started.
func TestLimitedModeExits143OnSIGTERM(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "Updates_Pending"), 0o755)
	packExample(t, "core", filepath.Join(root, "Updates_Pending", "core-2.1.0.zip"))
	marker := filepath.Join(root, "app-started")
	s := startServing(t, root, "--admin-listen", "127.0.0.1:0", "--", "touch", marker)
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t, 20*time.Second); code != 143 {
		t.Fatalf("exit %d, want 143:\n%s", code, s.errText())
	}
	if !strings.Contains(s.errText(), "upkeep: error: interrupted by SIGTERM; stopped serving the admin pages; the start did not go on") {
		t.Errorf("stderr:\n%s", s.errText())
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the application was started")
	}
}
