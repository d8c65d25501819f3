// Package admin is upkeep's live side: the admin pages, their JSON API, the
// limited mode of the start, and Guard for applications that embed upkeep.
//
// # Pages and API
//
// [Handler] serves the pages (overview, pending updates, backups, history,
// lock and journal, the running action) and the API under /api/: GET
// report, status, backups, history and action, the same documents as the
// CLI's --json; POST install, migrate, backups, backups/ID/restore and
// backups/ID/verify; GET events, server-sent events for scan changes,
// progress and results. Actions run in the server, one at a time, under the
// root's lock: a second one gets 409 naming the holder, and closing the
// browser stops nothing. Updates_Pending is watched ([updates.Watch]) and
// the pages change by themselves.
//
// # Access
//
// A token is made once into ROOT/.upkeep/admin-token (mode 0600). The login
// page trades it for an HttpOnly, SameSite=Strict session cookie; the API
// also takes Authorization: Bearer TOKEN. Every POST needs a session or the
// token (401), passes Go's [net/http.CrossOriginProtection], and, from a
// browser session, carries its form's CSRF token (403). [Listen] refuses
// addresses beyond loopback unless TLS files are given. The login needs no
// database, so it works while the database waits for updates.
//
// # Embedding
//
// An application mounts the pages and guards its own routes:
//
//	opts := admin.Options{Options: start, Prefix: "/admin"}
//	mux.Handle("/admin/", admin.Handler(opts))
//	mux.Handle("/", admin.Guard(opts, appRoutes))
//
// [Guard] answers 503 with Retry-After and a maintenance page while the
// database waits for updates or a batch is being installed. [Limited] is
// the start that serves the pages instead of stopping (--admin-listen).
//
// admin imports updates and the packages below it; only the CLI imports
// admin.
package admin
