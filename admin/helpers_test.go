package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/upkeep/upkeep/manifest"
	"github.com/upkeep/upkeep/updates"
)

// newRoot makes a root with its folders.
func newRoot(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"Updates_Pending", "Updates_Installed", "Updates_Backups", "packs", ".upkeep"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// buildZip writes the example pack in ../examples/NAME as an update zip.
func buildZip(t testing.TB, name, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := manifest.Build(filepath.Join("..", "examples", name), f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// dropZip puts the example pack name into Updates_Pending as its safe
// writers do: written beside, then renamed in.
func dropZip(t testing.TB, root, name, file string) {
	t.Helper()
	part := filepath.Join(root, "Updates_Pending", file+".part")
	buildZip(t, name, part)
	old := time.Now().Add(-time.Minute)
	os.Chtimes(part, old, old)
	if err := os.Rename(part, filepath.Join(root, "Updates_Pending", file)); err != nil {
		t.Fatal(err)
	}
}

type testServer struct {
	*httptest.Server
	s    *Server
	root string
}

func startServer(t testing.TB, root, prefix string) *testServer {
	t.Helper()
	s, err := New(Options{Options: updates.Options{ScanOptions: updates.ScanOptions{Root: root}}, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = s
	if prefix != "" {
		mux := http.NewServeMux()
		mux.Handle(prefix+"/", s)
		h = mux
	}
	ts := httptest.NewServer(h)
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return &testServer{Server: ts, s: s, root: root}
}

func (ts *testServer) url(path string) string { return ts.URL + ts.s.opts.Prefix + path }

// browser is a client with a cookie jar that does not follow redirects.
func (ts *testServer) browser(t testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login logs a browser in with the token, as the printed link does.
func (ts *testServer) login(t testing.TB) *http.Client {
	t.Helper()
	c := ts.browser(t)
	resp, err := c.Get(ts.url("/login?token=" + ts.s.Token()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != ts.s.opts.Prefix+"/" {
		t.Fatalf("login: %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	return c
}

// do sends a request and returns the status and body.
func do(t testing.TB, c *http.Client, method, url string, body io.Reader, header map[string]string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(data), resp.Header
}

func (ts *testServer) bearer() map[string]string {
	return map[string]string{"Authorization": "Bearer " + ts.s.Token()}
}

func (ts *testServer) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	code, body, _ := do(t, http.DefaultClient, "GET", ts.url(path), nil, ts.bearer())
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}

// form posts a form with the page's CSRF token for action.
func (ts *testServer) form(t testing.TB, c *http.Client, action string, vals url.Values, header map[string]string) (int, string, http.Header) {
	t.Helper()
	if vals == nil {
		vals = url.Values{}
	}
	if _, ok := vals["csrf"]; !ok {
		vals.Set("csrf", ts.s.auth.formToken(action, window(time.Now())))
	}
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": ts.URL}
	for k, v := range header {
		h[k] = v
	}
	return do(t, c, "POST", ts.url(action), strings.NewReader(vals.Encode()), h)
}

// waitAction polls /api/action until the action is no longer running.
func (ts *testServer) waitAction(t testing.TB) *Action {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var d struct {
			Action *Action `json:"action"`
		}
		ts.getJSON(t, "/api/action", &d)
		if d.Action != nil && !d.Action.Running() {
			return d.Action
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the action did not end within 30s")
	return nil
}

// events reads server-sent events from /api/events into a channel.
type sse struct {
	name, data string
	at         time.Time
}

func (ts *testServer) events(t testing.TB, ctx context.Context) <-chan sse {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.url("/api/events"), nil)
	req.Header.Set("Authorization", "Bearer "+ts.s.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	out := make(chan sse, 100)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			case line == "" && ev.name != "":
				ev.at = time.Now()
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
				ev = sse{}
			}
		}
	}()
	return out
}

// structure is the skeleton of an HTML page, for golden files: one line
// per element with its id, class and data-* attributes, indented by depth;
// text, times and paths are left out, so the golden file holds what the
// page is made of, not what this run's data were.
func structure(html string) string {
	tag := regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>`)
	attr := regexp.MustCompile(`\s(id|class|data-[a-z]+|name|type|action|href|method|aria-current)="([^"]*)"`)
	void := map[string]bool{"meta": true, "link": true, "input": true, "br": true, "img": true}
	var b strings.Builder
	depth := 0
	for _, m := range tag.FindAllStringSubmatch(html, -1) {
		closing, name, rest := m[1] == "/", strings.ToLower(m[2]), m[3]
		if closing {
			depth--
			continue
		}
		b.WriteString(strings.Repeat("  ", max(depth, 0)) + name)
		for _, a := range attr.FindAllStringSubmatch(rest, -1) {
			v := a[2]
			if a[1] == "data-version" || a[1] == "data-backup" || a[1] == "data-id" || a[1] == "data-host" || a[1] == "data-batch" || strings.HasPrefix(v, "/tmp") {
				v = "*"
			}
			b.WriteString(" " + a[1] + "=" + v)
		}
		b.WriteString("\n")
		if !void[name] && !strings.HasSuffix(rest, "/") {
			depth++
		}
	}
	return regexp.MustCompile(`\d{8}T\d{6}Z`).ReplaceAllString(b.String(), "STAMP")
}

// normalize replaces what differs between runs in a JSON document: the
// root's path, times, durations, sizes and the batch and backup IDs.
func normalize(doc, root string) string {
	doc = strings.ReplaceAll(doc, root, "ROOT")
	for _, re := range []struct{ re, to string }{
		{`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"`, `"TIME"`},
		{`\d{8}T\d{6}(\.\d{3})?Z`, `STAMP`},
		{`"(duration_ms|size|bytes)": \d+`, `"$1": N`},
		{`pid \d+ on [^,]+`, `pid PID on HOST`},
		{`"[0-9a-f]{32}"`, `"HOSTID"`},
		{`"hostname": "[^"]*"`, `"hostname": "HOSTNAME"`},
	} {
		doc = regexp.MustCompile(re.re).ReplaceAllString(doc, re.to)
	}
	return doc
}

func httpDo(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}
