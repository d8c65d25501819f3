package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/internal/golden"
	"github.com/upkeep/upkeep/internal/lock"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
)

func TestTokenFileIsMadeOnceWithMode0600(t *testing.T) {
	root := newRoot(t)
	path := filepath.Join(root, ".upkeep", TokenFile)
	tok, made, err := LoadToken(path)
	if err != nil || !made || len(tok) != 64 {
		t.Fatalf("first: %q %v %v", tok, made, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %04o, want 0600", info.Mode().Perm())
	}
	again, made, err := LoadToken(path)
	if err != nil || made || again != tok {
		t.Fatalf("second: %q %v %v, want the same token, not made", again, made, err)
	}
	os.Chmod(path, 0o644)
	if _, _, err := LoadToken(path); !errors.Is(err, ErrTokenFile) || !strings.Contains(err.Error(), path) {
		t.Fatalf("readable by others: %v, want ErrTokenFile naming the file", err)
	}
}

func TestNonLoopbackIsRefusedWithoutTLS(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:8383", "[::]:0", "example.com:80"} {
		ln, err := Listen(addr, false)
		if err == nil {
			ln.Close()
			t.Errorf("%s: listened without TLS", addr)
			continue
		}
		if !errors.Is(err, ErrNotLoopback) || !strings.Contains(err.Error(), "--tls-cert") {
			t.Errorf("%s: %v, want ErrNotLoopback saying how", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		ln, err := Listen(addr, false)
		if err != nil {
			t.Errorf("%s: %v", addr, err)
			continue
		}
		ln.Close()
	}
	// With TLS files any address is accepted (here loopback, to stay on
	// this machine): the check is the refusal above.
	ln, err := Listen("127.0.0.2:0", true)
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	// Serve refuses before it makes anything.
	err = Serve(context.Background(), Options{Options: updates.Options{ScanOptions: updates.ScanOptions{Root: newRoot(t)}}}, ServeOptions{Addr: "0.0.0.0:0"})
	if !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("Serve on 0.0.0.0: %v", err)
	}
}

func TestWithoutLoginEverythingIsRefused(t *testing.T) {
	ts := startServer(t, newRoot(t), "")
	c := ts.browser(t)
	for _, p := range []string{"/", "/pending", "/backups", "/history", "/state", "/action"} {
		code, _, h := do(t, c, "GET", ts.url(p), nil, nil)
		if code != http.StatusSeeOther || h.Get("Location") != "/login" {
			t.Errorf("GET %s: %d to %q, want 303 to /login", p, code, h.Get("Location"))
		}
	}
	for _, p := range []string{"/api/report", "/api/status", "/api/backups", "/api/history", "/api/action", "/api/events"} {
		code, body, _ := do(t, c, "GET", ts.url(p), nil, nil)
		if code != http.StatusUnauthorized || !strings.Contains(body, `"json_format": 1`) || !strings.Contains(body, "not logged in") {
			t.Errorf("GET %s: %d %s, want 401 JSON", p, code, body)
		}
		code, _, _ = do(t, c, "GET", ts.url(p), nil, map[string]string{"Authorization": "Bearer wrong"})
		if code != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong token: %d, want 401", p, code)
		}
	}
	for _, p := range []string{"/api/install", "/api/migrate", "/api/backups"} {
		code, _, _ := ts.form(t, c, p, nil, nil)
		if code != http.StatusUnauthorized {
			t.Errorf("POST %s: %d, want 401", p, code)
		}
	}
	code, _, _ := do(t, c, "GET", ts.url("/login?token=wrong"), nil, nil)
	if code != http.StatusUnauthorized {
		t.Errorf("login with a wrong token: %d", code)
	}
	if _, err := os.Stat(filepath.Join(ts.root, "Updates_Backups")); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(ts.root, "Updates_Backups")); len(entries) != 0 {
		t.Fatalf("a refused POST made a backup: %v", entries)
	}
}

func TestSessionCookieAndFormTokens(t *testing.T) {
	root := newRoot(t)
	ts := startServer(t, root, "/admin")
	c := ts.browser(t)
	resp, err := c.Get(ts.url("/login?token=" + ts.s.Token()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/admin/" {
		t.Fatalf("session cookie %+v, want HttpOnly, SameSite=Strict, Path /admin/", sess)
	}
	// The form login works too.
	c2 := ts.browser(t)
	code, _, h := do(t, c2, "POST", ts.url("/login"), strings.NewReader("token="+ts.s.Token()), map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": ts.URL})
	if code != http.StatusSeeOther || h.Get("Location") != "/admin/" {
		t.Fatalf("form login: %d %q", code, h.Get("Location"))
	}

	// Without the form's token, or with another form's, or from another
	// origin: 403, and nothing happens.
	for name, tc := range map[string]struct {
		csrf   string
		header map[string]string
	}{
		"no token":       {csrf: "", header: nil},
		"another form":   {csrf: ts.s.auth.formToken("/api/migrate", window(time.Now())), header: nil},
		"foreign origin": {header: map[string]string{"Origin": "https://evil.example"}},
		"cross-site":     {header: map[string]string{"Origin": "", "Sec-Fetch-Site": "cross-site"}},
	} {
		vals := map[string][]string{}
		if tc.csrf != "" || tc.header == nil {
			vals["csrf"] = []string{tc.csrf}
		}
		code, body, _ := ts.form(t, c, "/api/backups", vals, tc.header)
		if code != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403", name, code, body)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "Updates_Backups")); len(entries) != 0 {
		t.Fatalf("a refused POST made a backup: %v", entries)
	}
	// With it: the backup runs, and the browser is sent to the action.
	code, _, h = ts.form(t, c, "/api/backups", nil, nil)
	if code != http.StatusSeeOther || h.Get("Location") != "/admin/action" {
		t.Fatalf("backup form: %d to %q", code, h.Get("Location"))
	}
	a := ts.waitAction(t)
	if a.State != "done" || a.Kind != "backup" {
		t.Fatalf("backup: %+v", a)
	}
	list, _ := filepath.Glob(filepath.Join(root, "Updates_Backups", "*_admin.zip"))
	if len(list) != 1 {
		t.Fatalf("backups on disk: %v", list)
	}
	// Log out: the cookie is cleared.
	code, _, _ = ts.form(t, c, "/logout", nil, nil)
	if code != http.StatusSeeOther {
		t.Fatalf("logout: %d", code)
	}
	if code, _, _ := do(t, c, "GET", ts.url("/api/report"), nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", code)
	}
}

// Every page and document, as golden files: the pages' structure and the
// documents with what differs between runs normalized.
func TestPagesAndDocumentsGolden(t *testing.T) {
	root := newRoot(t)
	dropZip(t, root, "core", "core-2.1.0.zip")
	ts := startServer(t, root, "")
	c := ts.login(t)
	check := func(stage string) {
		t.Helper()
		for _, p := range []struct{ name, path string }{
			{"overview", "/"}, {"pending", "/pending"}, {"backups", "/backups"}, {"history", "/history"}, {"state", "/state"}, {"action", "/action"},
		} {
			code, body, h := do(t, c, "GET", ts.url(p.path), nil, nil)
			if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
				t.Fatalf("GET %s: %d %s", p.path, code, body)
			}
			golden.Check(t, stage+"-"+p.name+".html.golden", []byte(structure(body)))
		}
		for _, d := range []string{"report", "status", "backups", "history", "action"} {
			code, body, _ := do(t, c, "GET", ts.url("/api/"+d), nil, nil)
			if code != 200 {
				t.Fatalf("GET /api/%s: %d %s", d, code, body)
			}
			if nullList.MatchString(body) || strings.Contains(body, `\u003e`) {
				t.Errorf("/api/%s has a null list or escaped HTML: %s", d, body)
			}
			golden.Check(t, stage+"-"+d+".json.golden", []byte(normalize(body, root)))
		}
	}
	check("pending")

	code, body, _ := ts.form(t, c, "/api/install", nil, map[string]string{"Accept": "application/json"})
	if code != http.StatusSeeOther {
		t.Fatalf("install: %d %s", code, body)
	}
	if a := ts.waitAction(t); a.State != "done" {
		t.Fatalf("install: %+v", a.Error)
	}
	ts.s.refresh(context.Background(), true)
	// A backup to list, in the next second, so that the order of the
	// two backups' names is their order in time.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	code, _, _ = do(t, http.DefaultClient, "POST", ts.url("/api/backups"), nil, ts.bearer())
	if code != http.StatusAccepted {
		t.Fatalf("backup: %d", code)
	}
	ts.waitAction(t)
	ts.s.refresh(context.Background(), true)
	check("installed")
}

func TestInstallFromTheAPIRunsInTheBackground(t *testing.T) {
	root := newRoot(t)
	dropZip(t, root, "core", "core-2.1.0.zip")
	ts := startServer(t, root, "")
	var rep struct {
		JSONFormat int `json:"json_format"`
		updates.Report
	}
	ts.getJSON(t, "/api/report", &rep)
	if rep.JSONFormat != 1 || len(rep.Updates) != 1 || rep.Updates[0].Status != updates.Ready {
		t.Fatalf("report: %+v", rep)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := ts.events(t, ctx)
	code, body, h := do(t, http.DefaultClient, "POST", ts.url("/api/install"), nil, ts.bearer())
	if code != http.StatusAccepted || h.Get("Location") != "/api/action" || !strings.Contains(body, `"state": "running"`) {
		t.Fatalf("install: %d %s", code, body)
	}
	a := ts.waitAction(t)
	if a.State != "done" || a.Error != nil {
		t.Fatalf("install: %+v %+v", a, a.Error)
	}
	// The pack is in place, its zip in Updates_Installed, the database at
	// its schema.
	if _, err := os.Stat(filepath.Join(root, "packs", "core", "templates", "layout.html")); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(filepath.Join(root, "Updates_Pending")); len(left) != 0 {
		t.Fatalf("left in Updates_Pending: %v", left)
	}
	if moved, _ := filepath.Glob(filepath.Join(root, "Updates_Installed", "core-2.1.0_*.zip")); len(moved) != 1 {
		t.Fatalf("Updates_Installed: %v", moved)
	}
	db, err := packs.Open(ctx, "", root)
	if err != nil {
		t.Fatal(err)
	}
	var v string
	var schema int
	if err := db.SQL().QueryRowContext(ctx, "SELECT version, schema_version FROM upkeep_packs WHERE pack = 'core'").Scan(&v, &schema); err != nil || v != "2.1.0" || schema != 2 {
		t.Fatalf("upkeep_packs: %q %d %v", v, schema, err)
	}
	db.Close()
	// The events told the story: the action, its result, the rescan.
	seen := map[string]bool{}
	deadline := time.After(5 * time.Second)
	for !(seen["action"] && seen["result"] && seen["scan"]) {
		select {
		case ev := <-events:
			seen[ev.name] = true
			if ev.name == "result" && !strings.Contains(ev.data, `"state":"done"`) {
				t.Errorf("result event: %s", ev.data)
			}
		case <-deadline:
			t.Fatalf("events seen: %v", seen)
		}
	}
	// A restarted server still shows the last action.
	if la := loadAction(ts.s.root); la == nil || la.State != "done" || la.Kind != "install" {
		t.Fatalf("saved action: %+v", la)
	}
}

func TestTwoInstallsAtOnceOneRunsTheOtherIsTold(t *testing.T) {
	root := newRoot(t)
	dropZip(t, root, "core", "core-2.1.0.zip")
	ts := startServer(t, root, "")
	var wg sync.WaitGroup
	codes := make([]int, 2)
	bodies := make([]string, 2)
	start := make(chan struct{})
	for i := range 2 {
		wg.Go(func() {
			<-start
			codes[i], bodies[i], _ = do(t, http.DefaultClient, "POST", ts.url("/api/install"), nil, ts.bearer())
		})
	}
	close(start)
	wg.Wait()
	ok, busy := 0, 0
	for i, c := range codes {
		switch c {
		case http.StatusAccepted:
			ok++
		case http.StatusConflict:
			busy++
			if !strings.Contains(bodies[i], "install started at") {
				t.Errorf("409 does not name the running install: %s", bodies[i])
			}
		}
	}
	if ok != 1 || busy != 1 {
		t.Fatalf("codes %v, want one 202 and one 409: %v", codes, bodies)
	}
	ts.waitAction(t)

	// Another process holds the root's lock: 409 naming it.
	l, err := lock.Acquire(context.Background(), filepath.Join(root, ".upkeep", "lock"), "db up", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	code, body, _ := do(t, http.DefaultClient, "POST", ts.url("/api/migrate"), nil, ts.bearer())
	var e errorDoc
	json.Unmarshal([]byte(body), &e)
	if code != http.StatusConflict || !strings.Contains(e.Error.Message, "db up since") || !strings.Contains(e.Error.Message, "pid ") {
		t.Fatalf("with the lock held elsewhere: %d %s", code, body)
	}
	// The lock page says who holds it.
	ts.s.refresh(context.Background(), true)
	_, page, _ := do(t, ts.login(t), "GET", ts.url("/state"), nil, nil)
	if !regexp.MustCompile(`<p id="lock">Held by pid \d+ [^<]*db up since`).MatchString(page) {
		t.Fatalf("lock page:\n%s", page)
	}
}

func TestEventsTellARenamedZipWithoutReload(t *testing.T) {
	root := newRoot(t)
	ts := startServer(t, root, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := ts.events(t, ctx)
	if ev := <-events; ev.name != "hello" {
		t.Fatalf("first event %q", ev.name)
	}
	<-ts.s.watched // the first scan is in: the zip comes after it
	start := time.Now()
	dropZip(t, root, "core", "core-2.1.0.zip")
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.name == "scan" && strings.Contains(ev.data, `"file":"core-2.1.0.zip","status":"ready"`) {
				if d := ev.at.Sub(start); d > 2*time.Second {
					t.Errorf("event after %s", d)
				}
				var rep updates.Report
				ts.getJSON(t, "/api/report", &rep)
				if len(rep.Updates) != 1 || rep.Updates[0].Status != updates.Ready {
					t.Fatalf("report after the event: %+v", rep)
				}
				_, page, _ := do(t, ts.login(t), "GET", ts.url("/pending"), nil, nil)
				if !strings.Contains(page, "Updates_Pending is watched (events)") {
					t.Fatalf("pending page:\n%s", page)
				}
				return
			}
		case <-deadline:
			t.Fatal("no scan event for the zip within 5s")
		}
	}
}

func TestPagesAreGzippedAndCachedPerVersion(t *testing.T) {
	root := newRoot(t)
	dropZip(t, root, "core", "core-2.1.0.zip")
	ts := startServer(t, root, "")
	tr := &http.Transport{DisableCompression: true}
	c := &http.Client{Transport: tr}
	_, _, h1 := do(t, c, "GET", ts.url("/api/report"), nil, map[string]string{"Authorization": "Bearer " + ts.s.Token(), "Accept-Encoding": "gzip"})
	if h1.Get("Content-Encoding") != "gzip" || h1.Get("ETag") == "" {
		t.Fatalf("headers %v", h1)
	}
	code, _, _ := do(t, c, "GET", ts.url("/api/report"), nil, map[string]string{"Authorization": "Bearer " + ts.s.Token(), "If-None-Match": h1.Get("ETag")})
	if code != http.StatusNotModified {
		t.Fatalf("same version: %d, want 304", code)
	}
	os.Remove(filepath.Join(root, "Updates_Pending", "core-2.1.0.zip"))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		code, _, _ = do(t, c, "GET", ts.url("/api/report"), nil, map[string]string{"Authorization": "Bearer " + ts.s.Token(), "If-None-Match": h1.Get("ETag")})
		if code == http.StatusOK {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the report did not change after the zip went")
}

func TestGuardAnswers503WhileTheDatabaseIsBehind(t *testing.T) {
	root := newRoot(t)
	// The core pack's files are installed, its migrations never ran.
	ctx := context.Background()
	dropZip(t, root, "core", "core-2.1.0.zip")
	opts := updates.Options{ScanOptions: updates.ScanOptions{Root: root}, Mode: updates.Install, NoBackup: true}
	if _, err := updates.Bootstrap(ctx, opts); err != nil {
		t.Fatal(err)
	}
	db, err := packs.Open(ctx, "", root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Down(ctx, packs.DownOptions{Packs: mustPacks(t, root), Pack: "core", To: 0}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("the app")) })
	g := Guard(Options{Options: updates.Options{ScanOptions: updates.ScanOptions{Root: root}}}, app)
	ts := startServer(t, root, "/admin")
	mux := http.NewServeMux()
	mux.Handle("/admin/", ts.s)
	mux.Handle("/", g)
	rec := httpDo(mux, "GET", "/posts")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "30" || !strings.Contains(rec.Body.String(), "maintenance") {
		t.Fatalf("guarded route: %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	// The admin pages still answer: the login needs no database.
	if rec := httpDo(mux, "GET", "/admin/login"); rec.Code != 200 {
		t.Fatalf("admin login page: %d", rec.Code)
	}
	code, body, _ := do(t, http.DefaultClient, "POST", ts.url("/api/migrate"), nil, ts.bearer())
	if code != http.StatusAccepted {
		t.Fatalf("migrate: %d %s", code, body)
	}
	if a := ts.waitAction(t); a.State != "done" {
		t.Fatalf("migrate: %+v", a.Error)
	}
	time.Sleep(guardEvery + 100*time.Millisecond)
	if rec := httpDo(mux, "GET", "/posts"); rec.Code != 200 || rec.Body.String() != "the app" {
		t.Fatalf("after the migration: %d %s", rec.Code, rec.Body)
	}
}

// nullList matches a list key ("updates", "packs") whose value is null.
var nullList = regexp.MustCompile(`"[a-z_]*s": null`)

func mustPacks(t *testing.T, root string) []packs.Pack {
	t.Helper()
	p, err := packs.LoadPacks(root)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// An interrupted batch shows on the lock and journal page with what the
// next start will do with it, and Guard keeps the application closed.
func TestStatePageShowsAnInterruptedBatch(t *testing.T) {
	root := newRoot(t)
	journal := `{"batch": "20261121T080000Z", "phase": "staging", "started": "2026-11-21T08:00:00Z",
 "packs": [{"pack": "core", "version": "2.1.0", "zip": "core-2.1.0.zip", "installed": "core-2.1.0_20261121T080000Z.zip", "had_old": false}]}`
	if err := os.WriteFile(filepath.Join(root, ".upkeep", "journal.json"), []byte(journal), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, root, "")
	b := ts.s.snap(context.Background()).view.State.Batch
	if b == nil || b.ID != "20261121T080000Z" || b.Phase != "staging" || b.Running || b.NextStart != "undo" || b.Packs[0] != "core 2.1.0" {
		t.Fatalf("batch state: %+v", b)
	}
	c := ts.login(t)
	_, body, _ := do(t, c, "GET", ts.url("/state"), nil, nil)
	if !strings.Contains(body, "It was interrupted. The next start will undo it") || !strings.Contains(body, "Batch 20261121T080000Z, started 2026-11-21 08:00:00 UTC, phase <strong>staging</strong>: core 2.1.0.") {
		t.Fatalf("state page:\n%s", body)
	}
	g := Guard(Options{Options: updates.Options{ScanOptions: updates.ScanOptions{Root: root}}}, http.NotFoundHandler())
	if rec := httpDo(g, "GET", "/"); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "interrupted") {
		t.Fatalf("guard: %d %s", rec.Code, rec.Body)
	}
}

// rootWithExport returns a root with core 2.1.0 installed, a row in its
// users table, and the table export db down took when it took core to
// schema 0.
func rootWithExport(t *testing.T) (root, export string) {
	t.Helper()
	root = newRoot(t)
	ctx := context.Background()
	dropZip(t, root, "core", "core-2.1.0.zip")
	if _, err := updates.Bootstrap(ctx, updates.Options{ScanOptions: updates.ScanOptions{Root: root}, Mode: updates.Install, NoBackup: true}); err != nil {
		t.Fatal(err)
	}
	db, err := packs.Open(ctx, "", root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, "INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.com')"); err != nil {
		t.Fatal(err)
	}
	lroot, _ := layout.Open(root)
	res, err := db.Down(ctx, packs.DownOptions{Packs: mustPacks(t, root), Pack: "core", To: 0, Tables: backupstore.Tables{Root: lroot}})
	if err != nil || res.Export == "" {
		t.Fatalf("db down: %+v %v", res, err)
	}
	db.Close()
	return root, res.Export
}

// A table export (db export) is restored from the pages: the confirmation
// names the packs' tables and the migrations whose work is lost, and the
// restore puts the tables, their rows and the schema version back without
// touching the root's files.
func TestRestoreATableExportFromThePages(t *testing.T) {
	ctx := context.Background()
	root, export := rootWithExport(t)
	layoutFile := filepath.Join(root, "packs", "core", "templates", "layout.html")
	os.WriteFile(layoutFile, []byte("changed after the export"), 0o644)

	ts := startServer(t, root, "")
	c := ts.login(t)
	_, page, _ := do(t, c, "GET", ts.url("/backups"), nil, nil)
	if !strings.Contains(page, `data-backup="`+export+`" data-kind="db export"`) || !strings.Contains(page, `href="/backups/`+export+`/restore"`) {
		t.Fatalf("backups page:\n%s", page)
	}
	code, page, _ := do(t, c, "GET", ts.url("/backups/"+export+"/restore"), nil, nil)
	for _, want := range []string{
		"The tables, settings and schema versions of the pack <strong>core</strong> go back",
		"Every row written to the tables of core since",
		"Migration core 2_add_reset_token (down,",
		"Migration core 1_create_users (down,",
		"The root's files and the other packs' tables stay as they are.",
		`<button id="restore" class="danger">Restore the tables of core from ` + export,
	} {
		if code != 200 || !strings.Contains(page, want) {
			t.Fatalf("confirmation lacks %q:\n%s", want, page)
		}
	}
	code, body, _ := ts.form(t, c, "/api/backups/"+export+"/restore", nil, nil)
	if code != http.StatusSeeOther {
		t.Fatalf("restore: %d %s", code, body)
	}
	a := ts.waitAction(t)
	if a.State != "done" || a.Kind != "restore" {
		t.Fatalf("restore: %+v %+v", a, a.Error)
	}
	_, page, _ = do(t, c, "GET", ts.url("/action"), nil, nil)
	if !strings.Contains(page, `<p id="restored">Restored the tables, settings and schema versions of core from `+export+`.</p>`) {
		t.Fatalf("action page:\n%s", page)
	}
	db, err := packs.Open(ctx, "", root)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var email string
	var schema int
	if err := db.SQL().QueryRowContext(ctx, "SELECT email FROM users").Scan(&email); err != nil || email != "ada@example.com" {
		t.Fatalf("users after the restore: %q %v", email, err)
	}
	if err := db.SQL().QueryRowContext(ctx, "SELECT schema_version FROM upkeep_packs WHERE pack = 'core'").Scan(&schema); err != nil || schema != 2 {
		t.Fatalf("core's schema after the restore: %d %v", schema, err)
	}
	if data, _ := os.ReadFile(layoutFile); string(data) != "changed after the export" {
		t.Fatalf("the root's files were touched: %q", data)
	}
}

// The overview lists the hosts upkeep_hosts records; on a database other
// hosts used in the last 7 days, restoring a table export from the pages
// is refused, naming the hosts, as backups restore refuses it without
// --all-hosts; nothing is restored.
func TestRestoreRefusedOnASharedDatabase(t *testing.T) {
	ctx := context.Background()
	root, export := rootWithExport(t)
	db, err := packs.Open(ctx, "", root)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.RecordHost(ctx, packs.Host{ID: "0123456789abcdef", Hostname: "web-2", Root: "/srv/app"}); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, root, "")
	c := ts.login(t)
	_, page, _ := do(t, c, "GET", ts.url("/"), nil, nil)
	if !strings.Contains(page, `<tr data-host="0123456789abcdef"><td>web-2</td><td><code>0123456789abcdef</code></td><td><code>/srv/app</code></td>`) {
		t.Fatalf("the overview does not list the other host:\n%s", page)
	}
	code, body, _ := ts.form(t, c, "/api/backups/"+export+"/restore", nil, nil)
	if code != http.StatusConflict || !strings.Contains(body, "web-2 (host id 0123456789abcdef, root /srv/app)") {
		t.Fatalf("restore on a shared database: %d\n%s", code, body)
	}
	var schema int
	if err := db.SQL().QueryRowContext(ctx, "SELECT schema_version FROM upkeep_packs WHERE pack = 'core'").Scan(&schema); err != nil || schema != 0 {
		t.Fatalf("core's schema after the refusal: %d %v, want 0", schema, err)
	}
}

// The pages only look: the overview, /api/status and /api/report of a root
// whose SQLite database does not exist yet make none (nor its -wal and
// -shm), and say what the database holds: nothing.
func TestPagesMakeNoDatabase(t *testing.T) {
	root := newRoot(t)
	ts := startServer(t, root, "")
	c := ts.login(t)
	for _, path := range []string{"/", "/api/status", "/api/report"} {
		if code, body, _ := do(t, c, "GET", ts.url(path), nil, ts.bearer()); code != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, code, body)
		}
	}
	if entries, err := os.ReadDir(filepath.Join(root, "data")); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the pages made data/: %v (%v)", entries, err)
	}
}
