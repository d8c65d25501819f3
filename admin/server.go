package admin

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/upkeep/upkeep/jsondoc"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/updates"
)

// Server is the admin pages, their JSON API and the actions they start.
// It watches Updates_Pending for as long as it lives. [Handler] makes one;
// Close stops it.
type Server struct {
	opts  Options
	root  layout.Root
	auth  *auth
	hub   *hub
	cop   *http.CrossOriginProtection
	mux   *http.ServeMux
	tmpl  *template.Template
	token string
	made  bool // the token was made by this server

	ctx     context.Context // the watcher's; cancelled by Close
	cancel  context.CancelFunc
	done    chan struct{}
	watched chan struct{} // closed once the first scan is in
	actions sync.WaitGroup

	// version counts the changes of the state the pages show; every
	// cached page and document is for one version.
	version atomic.Uint64

	mu        sync.Mutex // guards what follows
	report    *updates.Report
	reportErr error
	watching  string
	view      *view // nil until the first refresh
	refreshed time.Time
	action    *Action // the running action, or the last one
	cache     map[string]*cached

	refreshMu  sync.Mutex // one refresh at a time
	backupsKey string     // Updates_Backups's listing when the view's backups were read
}

// cached is a rendered page or document of one version of the state.
type cached struct {
	version uint64
	window  int64
	body    []byte
	gz      []byte
	ctype   string
	etag    string
}

// New makes the admin server for opts.Root: it reads (or makes) the admin
// token and starts watching Updates_Pending.
func New(opts Options) (*Server, error) {
	root, err := layout.Open(opts.Root)
	if err != nil {
		return nil, err
	}
	if err := root.Ensure(); err != nil {
		return nil, err
	}
	opts.Root = root.Dir
	opts.Prefix = strings.TrimSuffix(opts.Prefix, "/")
	if opts.TokenFile == "" {
		opts.TokenFile = root.AdminToken()
	}
	if opts.Refresh == 0 {
		opts.Refresh = 2 * time.Second
	}
	token, made, err := LoadToken(opts.TokenFile)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts: opts, root: root, token: token, made: made,
		auth:    &auth{token: token, now: time.Now},
		hub:     newHub(),
		cop:     http.NewCrossOriginProtection(),
		done:    make(chan struct{}),
		watched: make(chan struct{}),
		cache:   map[string]*cached{},
	}
	s.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusForbidden, "cross-origin request refused: this form must be sent from the admin pages themselves", "")
	}))
	s.tmpl = template.Must(template.New("").Funcs(s.funcs()).ParseFS(assets, "assets/pages.html"))
	s.action = loadAction(root)
	s.routes()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.watch()
	return s, nil
}

// Handler returns the admin pages for opts, to mount at opts.Prefix:
//
//	mux.Handle("/admin/", admin.Handler(admin.Options{Options: start, Prefix: "/admin"}))
//
// When the server cannot be made (the root or the token file is unusable),
// every request gets a 500 page that says why. Use [New] to see the error.
func Handler(opts Options) http.Handler {
	s, err := New(opts)
	if err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "upkeep admin: "+err.Error(), http.StatusInternalServerError)
		})
	}
	return s
}

// Token is the admin token; TokenMade tells whether this server made it
// (then it is the first start, and the login address should be shown).
func (s *Server) Token() string   { return s.token }
func (s *Server) TokenMade() bool { return s.made }

// Close stops watching and ends the event streams. It waits for a running
// action to end: an action is never cut short by the pages going away.
func (s *Server) Close() error {
	s.cancel()
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	s.actions.Wait()
	return nil
}

// ServeHTTP serves the pages below opts.Prefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.Prefix != "" {
		p, ok := strings.CutPrefix(r.URL.Path, s.opts.Prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		if p == "" {
			http.Redirect(w, r, s.opts.Prefix+"/", http.StatusMovedPermanently)
			return
		}
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path, u.RawPath = p, ""
		r2.URL = &u
		r = r2
	}
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /login", s.serveLogin)
	m.HandleFunc("POST /login", s.postLogin)
	m.Handle("GET /assets/", http.FileServerFS(assets))
	page := func(name string) http.HandlerFunc {
		return s.authed(func(w http.ResponseWriter, r *http.Request) { s.servePage(w, r, name) })
	}
	m.HandleFunc("GET /{$}", page("overview"))
	m.HandleFunc("GET /pending", page("pending"))
	m.HandleFunc("GET /backups", page("backups"))
	m.HandleFunc("GET /history", page("history"))
	m.HandleFunc("GET /state", page("state"))
	m.HandleFunc("GET /action", page("action"))
	m.HandleFunc("GET /backups/{id}/restore", s.authed(s.serveRestoreConfirm))
	m.HandleFunc("POST /logout", s.posted("/logout", s.postLogout))

	m.HandleFunc("GET /api/report", s.authed(func(w http.ResponseWriter, r *http.Request) { s.serveDoc(w, r, "report") }))
	m.HandleFunc("GET /api/status", s.authed(func(w http.ResponseWriter, r *http.Request) { s.serveDoc(w, r, "status") }))
	m.HandleFunc("GET /api/backups", s.authed(func(w http.ResponseWriter, r *http.Request) { s.serveDoc(w, r, "backups") }))
	m.HandleFunc("GET /api/history", s.authed(func(w http.ResponseWriter, r *http.Request) { s.serveDoc(w, r, "history") }))
	m.HandleFunc("GET /api/action", s.authed(func(w http.ResponseWriter, r *http.Request) { s.serveDoc(w, r, "action") }))
	m.HandleFunc("GET /api/events", s.authed(s.serveEvents))
	m.HandleFunc("POST /api/install", s.posted("/api/install", s.postInstall))
	m.HandleFunc("POST /api/migrate", s.posted("/api/migrate", s.postMigrate))
	m.HandleFunc("POST /api/backups", s.posted("/api/backups", s.postBackup))
	m.HandleFunc("POST /api/backups/{id}/restore", s.posted("/api/backups/{id}/restore", s.postRestore))
	m.HandleFunc("POST /api/backups/{id}/verify", s.posted("/api/backups/{id}/verify", s.postVerify))
	m.HandleFunc("/", s.authed(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "no such page: "+r.URL.Path, "")
	}))
	s.mux = m
}

// isAPI tells whether a request wants JSON rather than a page.
func isAPI(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/") && !strings.Contains(r.Header.Get("Content-Type"), "form")
}

// authed lets through requests with a session cookie or a bearer token;
// others are sent to the login page (pages) or get 401 (API).
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.auth.check(r) == authNone {
			if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/api/") {
				http.Redirect(w, r, s.url("/login"), http.StatusSeeOther)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="upkeep"`)
			s.fail(w, r, http.StatusUnauthorized, "not logged in", "log in with the link upkeep printed, or send Authorization: Bearer TOKEN (the token is in "+s.opts.TokenFile+")")
			return
		}
		h(w, r)
	}
}

// posted guards a POST: authenticated (401), same origin (403, Go's
// CrossOriginProtection), and, for a browser session, the form's own CSRF
// token (403). A bearer token needs no form token: browsers do not send it
// by themselves.
func (s *Server) posted(action string, h http.HandlerFunc) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request) {
		if err := s.cop.Check(r); err != nil {
			s.fail(w, r, http.StatusForbidden, "cross-origin request refused: "+err.Error(), "")
			return
		}
		if s.auth.check(r) == authSession {
			form := action
			if id := r.PathValue("id"); id != "" {
				form = strings.Replace(action, "{id}", id, 1)
			}
			t := r.Header.Get(csrfHeader)
			if t == "" {
				t = r.PostFormValue(csrfField)
			}
			if !s.auth.checkForm(form, t) {
				s.fail(w, r, http.StatusForbidden, "the form's token is missing or out of date", "reload the page and send the form again")
				return
			}
		}
		h(w, r)
	})
}

func (s *Server) url(path string) string { return s.opts.Prefix + path }

// errorDoc is the JSON of an error, as the CLI prints it with --json,
// with the HTTP status instead of the exit code.
type errorDoc struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
	Status  int    `json:"status"`
}

// fail answers an error: JSON for the API, a page for a browser.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, msg, hint string) {
	if strings.HasPrefix(r.URL.Path, "/api/") && !strings.Contains(r.Header.Get("Content-Type"), "form") {
		writeJSON(w, code, errorDoc{Error: errorBody{Message: msg, Hint: hint, Status: code}})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	s.tmpl.ExecuteTemplate(w, "error.html", s.data("error", map[string]any{"Code": code, "Status": http.StatusText(code), "Message": msg, "Hint": hint}))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := jsondoc.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(body)
}

// watch runs the watcher of Updates_Pending for the server's life.
func (s *Server) watch() {
	var once sync.Once
	err := updates.Watch(s.ctx, updates.WatchOptions{ScanOptions: s.opts.ScanOptions, Poll: s.opts.Poll, Rescan: s.opts.Rescan}, func(c updates.Change) {
		s.mu.Lock()
		if c.Report != nil {
			s.report = c.Report
		}
		s.reportErr = c.Err
		s.watching = "events"
		if c.Polling {
			s.watching = "polling: " + c.Why
		}
		s.refreshed = time.Time{} // installed packs may have changed too
		v := s.bump()
		s.mu.Unlock()
		once.Do(func() { close(s.watched) })
		files := c.Files
		if files == nil {
			files = []updates.FileChange{}
		}
		msg := map[string]any{"version": v, "files": files}
		if c.Err != nil {
			msg["error"] = c.Err.Error()
		}
		s.hub.publish("scan", msg)
	})
	once.Do(func() { close(s.watched) })
	if err != nil {
		s.mu.Lock()
		s.reportErr = err
		s.bump()
		s.mu.Unlock()
	}
}

// bump marks the state changed; s.mu is held.
func (s *Server) bump() uint64 { return s.version.Add(1) }

// snapshot is the state one page or document is made from.
type snapshot struct {
	version   uint64
	report    *updates.Report
	reportErr error
	watching  string
	view      view
	action    *Action
}

// snap returns the current state, reading the database and the root again
// when what it has is older than opts.Refresh.
func (s *Server) snap(ctx context.Context) snapshot {
	select {
	case <-s.watched:
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
	}
	s.mu.Lock()
	stale := time.Since(s.refreshed) > s.opts.Refresh
	never := s.view == nil
	s.mu.Unlock()
	switch {
	case never:
		s.refresh(ctx, false)
	case stale && s.refreshMu.TryLock():
		// The state is read again in the background: this request and the
		// others serve what there is, and pages see the new state by the
		// next version (an event tells them).
		go func() {
			defer s.refreshMu.Unlock()
			s.refreshLocked(context.Background(), false)
		}()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var a *Action
	if s.action != nil {
		a = s.action.clone()
	}
	sn := snapshot{version: s.version.Load(), report: s.report, reportErr: s.reportErr, watching: s.watching, action: a}
	if s.view != nil {
		sn.view = *s.view
	}
	return sn
}

// refresh reads the database's and the root's state again; the version
// moves only when something differs.
func (s *Server) refresh(ctx context.Context, force bool) {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	s.refreshLocked(ctx, force)
}

// refreshLocked is refresh with refreshMu held.
func (s *Server) refreshLocked(ctx context.Context, force bool) {
	s.mu.Lock()
	fresh := time.Since(s.refreshed) <= s.opts.Refresh
	s.mu.Unlock()
	if fresh && !force {
		return // another request refreshed it meanwhile
	}
	ctx = context.WithoutCancel(ctx)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	nv := readView(ctx, s.opts.Options, s.root)
	nv.Backups, nv.BackupsErr = s.readBackups()
	s.mu.Lock()
	changed := !sameJSON(s.view, &nv)
	s.view, s.refreshed = &nv, time.Now()
	var v uint64
	if changed {
		v = s.bump()
	}
	s.mu.Unlock()
	if changed {
		s.hub.publish("state", map[string]any{"version": v})
	}
}

// readBackups lists Updates_Backups again only when its files changed:
// listing reads every backup's manifest.
func (s *Server) readBackups() (*jsondoc.Backups, string) {
	key := listing(s.root.Backups())
	s.mu.Lock()
	var old *jsondoc.Backups
	if s.view != nil && s.view.BackupsErr == "" {
		old = s.view.Backups
	}
	oldKey := s.backupsKey
	s.mu.Unlock()
	if old != nil && key == oldKey && key != "" {
		return old, ""
	}
	d, err := readBackups(s.root)
	if err != nil {
		return nil, err.Error()
	}
	s.mu.Lock()
	s.backupsKey = key
	s.mu.Unlock()
	return d, ""
}

// listing is a fingerprint of a folder: names, sizes and times.
func listing(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			fmt.Fprintf(&b, "%s\x00%d\x00%d\n", e.Name(), info.Size(), info.ModTime().UnixNano())
		}
	}
	return b.String()
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// doc is the JSON document name as of snapshot sn, or why it cannot be
// made.
func (sn snapshot) doc(name string) (any, string) {
	switch name {
	case "report":
		if sn.report == nil {
			if sn.reportErr != nil {
				return nil, sn.reportErr.Error()
			}
			return nil, "Updates_Pending has not been scanned yet"
		}
		return sn.report, ""
	case "status":
		return sn.view.Status, sn.view.StatusErr
	case "backups":
		return sn.view.Backups, sn.view.BackupsErr
	case "history":
		return sn.view.History, sn.view.HistoryErr
	case "action":
		return struct {
			Action *Action `json:"action"`
		}{sn.action}, ""
	}
	return nil, "no such document: " + name
}

// serveDoc serves a JSON document from the cache of the current version:
// the bytes the CLI's --json prints for it. A document that cannot be made
// is an error document (500).
func (s *Server) serveDoc(w http.ResponseWriter, r *http.Request, name string) {
	sn := s.snap(r.Context())
	d, problem := sn.doc(name)
	if problem != "" {
		s.fail(w, r, http.StatusInternalServerError, problem, "")
		return
	}
	s.serveCached(w, r, "doc:"+name, sn.version, 0, "application/json", func() ([]byte, error) {
		return jsondoc.Marshal(d)
	})
}

// servePage serves a page; with the header X-Upkeep-Fragment, only its
// <main>, for the live update of an open page.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request, name string) {
	sn := s.snap(r.Context())
	frag := r.Header.Get("X-Upkeep-Fragment") != ""
	key := "page:" + name
	tmpl := name + ".html"
	if frag {
		key, tmpl = "frag:"+name, name
	}
	win := window(time.Now())
	s.serveCached(w, r, key, sn.version, win, "text/html; charset=utf-8", func() ([]byte, error) {
		var b bytes.Buffer
		err := s.tmpl.ExecuteTemplate(&b, tmpl, s.data(name, sn))
		return b.Bytes(), err
	})
}

// gzPool keeps gzip writers between renders.
var gzPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}

// serveCached serves what render makes for this version (and CSRF window)
// of the state, rendering and compressing it once per version.
func (s *Server) serveCached(w http.ResponseWriter, r *http.Request, key string, version uint64, win int64, ctype string, render func() ([]byte, error)) {
	s.mu.Lock()
	c := s.cache[key]
	s.mu.Unlock()
	if c == nil || c.version != version || c.window != win {
		body, err := render()
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, err.Error(), "")
			return
		}
		var gz bytes.Buffer
		zw := gzPool.Get().(*gzip.Writer)
		zw.Reset(&gz)
		zw.Write(body)
		zw.Close()
		gzPool.Put(zw)
		c = &cached{version: version, window: win, body: body, gz: gz.Bytes(), ctype: ctype,
			etag: `"` + strconv.FormatUint(version, 10) + "-" + strconv.FormatInt(win, 10) + "-" + strings.ReplaceAll(key, ":", "-") + `"`}
		s.mu.Lock()
		if old := s.cache[key]; old == nil || old.version <= version {
			s.cache[key] = c
		}
		s.mu.Unlock()
	}
	h := w.Header()
	h.Set("Content-Type", c.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", c.etag)
	h.Set("Vary", "Accept-Encoding, X-Upkeep-Fragment")
	if r.Header.Get("If-None-Match") == c.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := c.body
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = c.gz
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// pageData is what every template gets.
type pageData struct {
	Page     string
	Prefix   string
	Root     string
	Version  uint64
	Report   *updates.Report
	ScanErr  string
	Watching string
	view
	Action *Action
	Extra  any
}

func (s *Server) data(page string, v any) pageData {
	d := pageData{Page: page, Prefix: s.opts.Prefix, Root: s.root.Dir}
	switch x := v.(type) {
	case snapshot:
		d.Version, d.Report, d.Watching = x.version, x.report, x.watching
		if x.reportErr != nil {
			d.ScanErr = x.reportErr.Error()
		}
		d.view, d.Action = x.view, x.action
	default:
		d.Extra = v
	}
	return d
}

func (s *Server) funcs() template.FuncMap {
	return template.FuncMap{
		"url":  s.url,
		"csrf": func(action string) string { return s.auth.formToken(action, window(time.Now())) },
		"time": func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"size": func(n int64) string { return sizeText(n) },
		"ready": func(r *updates.Report) int {
			if r == nil {
				return 0
			}
			return len(r.Ready())
		},
		"join":    strings.Join,
		"running": func(a *Action) bool { return a.Running() },
		"json": func(v any) string {
			b, _ := jsondoc.Marshal(v)
			return string(b)
		},
		"add":    func(a, b int) int { return a + b },
		"result": result,
		"ms": func(ms int64) string {
			return (time.Duration(ms) * time.Millisecond).String()
		},
	}
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// serveLogin shows the login form, or, given ?token=, logs in.
func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	if t := r.URL.Query().Get("token"); t != "" {
		s.login(w, r, t)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	s.tmpl.ExecuteTemplate(w, "login.html", s.data("login", map[string]any{"TokenFile": s.opts.TokenFile}))
}

func (s *Server) postLogin(w http.ResponseWriter, r *http.Request) {
	if err := s.cop.Check(r); err != nil {
		s.fail(w, r, http.StatusForbidden, "cross-origin login refused: "+err.Error(), "")
		return
	}
	s.login(w, r, r.PostFormValue("token"))
}

// login trades the token for a session cookie. The login never touches
// the application's database: it works while the database waits for
// updates.
func (s *Server) login(w http.ResponseWriter, r *http.Request, token string) {
	if !s.auth.checkToken(token) {
		w.Header().Set("Cache-Control", "no-store")
		s.fail(w, r, http.StatusUnauthorized, "wrong token", "the token is in "+s.opts.TokenFile)
		return
	}
	path := s.opts.Prefix + "/"
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.auth.newSession(), Path: path, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.opts.Secure, MaxAge: int(sessionLife / time.Second)})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, path, http.StatusSeeOther)
}

func (s *Server) postLogout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: s.opts.Prefix + "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.opts.Secure, MaxAge: -1})
	http.Redirect(w, r, s.url("/login"), http.StatusSeeOther)
}

// errNotFound reports an unknown backup.
var errNotFound = errors.New("not found")
