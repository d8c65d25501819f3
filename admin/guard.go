package admin

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
)

// guardEvery is how often Guard looks at the root and the database again.
const guardEvery = time.Second

// RetryAfter is the Retry-After, in seconds, of Guard's 503 answers.
const RetryAfter = 30

// Guard wraps the application's own routes. While database updates are
// pending, or a batch is being installed (or was interrupted, waiting for
// the next start), or a restore runs, or another host migrates the shared
// database (its maintenance row, see packs.Maintenance), it answers 503 with Retry-After and
// a maintenance page instead of calling next; otherwise it calls next. It
// looks at the root and the database at most once a second, so it costs
// next almost nothing. Mount the admin Handler beside it, not inside it.
func Guard(opts Options, next http.Handler) http.Handler {
	return &guard{opts: opts, next: next, tmpl: template.Must(template.ParseFS(assets, "assets/maintenance.html"))}
}

type guard struct {
	opts Options
	next http.Handler
	tmpl *template.Template

	mu      sync.Mutex
	checked time.Time
	reason  string // why the application is closed; "" when open
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if why := g.closed(r.Context()); why != "" {
		var b bytes.Buffer
		g.tmpl.ExecuteTemplate(&b, "maintenance.html", why)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write(b.Bytes())
		return
	}
	g.next.ServeHTTP(w, r)
}

// closed is why the application must not serve now, or "".
func (g *guard) closed(ctx context.Context) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if time.Since(g.checked) < guardEvery {
		return g.reason
	}
	g.reason = maintenanceReason(ctx, g.opts.Options)
	g.checked = time.Now()
	return g.reason
}

// maintenanceReason says why the application must wait, or "".
func maintenanceReason(ctx context.Context, opts updates.Options) string {
	root, err := layout.Open(opts.Root)
	if err != nil {
		return "The application's files cannot be read."
	}
	st, err := updates.ReadState(root.Dir)
	if err != nil {
		return "The application's update state cannot be read."
	}
	if st.Batch != nil {
		if st.Batch.Running {
			return "An update is being installed."
		}
		return "An update was interrupted; it is finished or undone at the next start."
	}
	if st.Lock.Held {
		h := st.Lock.Holder
		for _, what := range []string{"install", "restore", "migrate", "db up", "db down"} {
			if strings.Contains(h, what) {
				return "The application is being updated."
			}
		}
	}
	code, err := updates.CodePacks(opts)
	if err != nil {
		return "The application's packs cannot be read."
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	db, err := packs.OpenReadOnly(ctx, opts.DB, root.Dir)
	if err != nil {
		return "The database cannot be reached."
	}
	defer db.Close()
	// Another host migrating the shared database (MySQL/MariaDB: see
	// packs.Maintenance), or killed while it did.
	if m, err := db.ActiveMaintenance(ctx); err != nil {
		return "The database cannot be read."
	} else if m != nil {
		return "The database is being updated."
	}
	s, err := db.Status(ctx, code)
	if err != nil {
		return "The database cannot be read."
	}
	for _, p := range s.Packs {
		if p.Database != p.Code {
			return "The database is waiting for updates."
		}
	}
	return ""
}
