// Command webapp is a small web application that embeds upkeep the way
// the README tells others to:
//
//   - its own pack ("webapp": the table notes, migrations in migrations/)
//     is compiled in, and updates.Bootstrap runs first thing at its start;
//   - admin.Handler serves the admin pages at /admin/;
//   - admin.Guard wraps its own routes, which answer 503 while the database
//     waits for updates or a batch is being installed.
//
// A start whose database is behind, or with update zips pending, still
// serves: the admin pages are where they are dealt with.
//
//	go run ./examples/webapp -root /srv/app -listen 127.0.0.1:8080
package main

import (
	"context"
	"database/sql"
	"embed"
	"flag"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/upkeep/upkeep/admin"
	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
)

// version is the application's version, recorded with its pack.
const version = "1.0.0"

//go:embed migrations
var migrations embed.FS

func main() {
	root := flag.String("root", ".", "the application's system `DIR`")
	db := flag.String("db", "", "the database: sqlite:PATH (default sqlite:data/app.db in the root), postgres://... or mysql://...")
	listen := flag.String("listen", "127.0.0.1:8080", "serve on `ADDR`")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *root, *db, *listen); err != nil {
		log.Fatal(err)
	}
}

// corePack is the application's own pack, compiled in.
func corePack() (packs.Pack, error) {
	ms, err := packs.ReadMigrationsFS(migrations, "migrations")
	if err != nil {
		return packs.Pack{}, err
	}
	return packs.Pack{Name: "webapp", Version: version, Tables: []string{"notes"}, Migrations: ms}, nil
}

func run(ctx context.Context, root, dbAddr, listen string) error {
	core, err := corePack()
	if err != nil {
		return err
	}
	start := updates.Options{
		ScanOptions:   updates.ScanOptions{Root: root},
		DB:            dbAddr,
		Packs:         []packs.Pack{core},
		Mode:          updates.Check,
		UpkeepVersion: "webapp " + version,
	}
	// 1. The start: recover an interrupted batch, report pending updates,
	// check the database.
	_, err = updates.Bootstrap(ctx, start)
	switch {
	case err == nil:
	case admin.Limits(err):
		log.Printf("webapp: %v; the application answers 503 until this is dealt with at /admin/", err)
	default:
		return err
	}

	// 2. The admin pages at /admin/, the application's routes behind Guard.
	opts := admin.Options{Options: start, Prefix: "/admin"}
	pages, err := admin.New(opts)
	if err != nil {
		return err
	}
	defer pages.Close()
	database, err := packs.Open(ctx, dbAddr, root)
	if err != nil {
		return err
	}
	defer database.Close()
	mux := http.NewServeMux()
	mux.Handle("/admin/", pages)
	mux.Handle("/", admin.Guard(opts, appRoutes(database.SQL())))

	ln, err := admin.Listen(listen, false)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	if pages.TokenMade() {
		log.Printf("webapp: serving %s/ ; admin pages at %s/admin/login?token=%s", base, base, pages.Token())
	} else {
		log.Printf("webapp: serving %s/ ; admin pages at %s/admin/ (the token is in %s/.upkeep/admin-token)", base, base, root)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

var page = template.Must(template.New("notes").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Notes</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem">
<h1>Notes</h1>
<ul id="notes">{{range .}}<li>{{.}}</li>{{else}}<li>No notes yet.</li>{{end}}</ul>
<form method="post" action="/notes"><input name="body" required> <button>Add</button></form>
<p><a href="/admin/">Admin pages</a></p>
</body></html>
`))

// appRoutes are the application's own pages: a list of notes, kept in its
// own table.
func appRoutes(db *sql.DB) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		rows, err := db.QueryContext(r.Context(), "SELECT body FROM notes ORDER BY id")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer rows.Close()
		var notes []string
		for rows.Next() {
			var b string
			if err := rows.Scan(&b); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			notes = append(notes, b)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page.Execute(w, notes)
	})
	mux.HandleFunc("POST /notes", func(w http.ResponseWriter, r *http.Request) {
		if _, err := db.ExecContext(r.Context(), "INSERT INTO notes (body) VALUES (?)", r.PostFormValue("body")); err != nil {
			http.Error(w, fmt.Sprintf("add note: %v", err), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	return http.NewCrossOriginProtection().Handler(mux)
}
