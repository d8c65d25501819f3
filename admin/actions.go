package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/internal/lock"
	"github.com/upkeep/upkeep/jsondoc"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
)

// Action is an install, a migration, a backup, a restore or a verification
// started from the pages or the API. It runs in the server, not in the
// request: closing the browser does not stop it, and every page shows it.
type Action struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`             // install, migrate, backup, restore, verify
	Target     string     `json:"target,omitempty"` // the backup of a restore or verify
	State      string     `json:"state"`            // running, done, failed, interrupted (the server stopped)
	Started    time.Time  `json:"started"`
	Ended      *time.Time `json:"ended,omitempty"`
	DurationMS int64      `json:"duration_ms"`
	Progress   []string   `json:"progress"` // the last lines of its progress
	// Result is what the action made, as the CLI's --json prints it: the
	// start's report (install, migrate), the backup (backup), the restore
	// (restore) or the verification (verify).
	Result json.RawMessage `json:"result,omitempty"`
	Error  *errorBody      `json:"error,omitempty"`
}

func (a *Action) clone() *Action {
	c := *a
	c.Progress = append([]string{}, a.Progress...)
	return &c
}

// Running tells whether the action is still going on.
func (a *Action) Running() bool { return a != nil && a.State == "running" }

// .upkeep/admin-action.json (layout.Root.AdminAction) keeps the last
// action, so that a restarted server shows it.

func loadAction(root layout.Root) *Action {
	data, err := os.ReadFile(root.AdminAction())
	if err != nil {
		return nil
	}
	var a Action
	if json.Unmarshal(data, &a) != nil {
		return nil
	}
	if a.State == "running" {
		// The server stopped while it ran; the journal says what the next
		// start does with an install (the lock and journal page).
		a.State = "interrupted"
	}
	return &a
}

func (s *Server) saveAction(a *Action) {
	data, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return
	}
	atomicfile.Write(s.root.AdminAction(), 0o644, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

// maxProgress is how many progress lines an action keeps.
const maxProgress = 200

// start runs fn in the background as the one action of the root. It
// refuses with ErrBusy while another action of this server runs, or
// while another process holds the root's lock.
func (s *Server) start(kind, target string, fn func(ctx context.Context, progress io.Writer) (any, error)) (*Action, error) {
	s.mu.Lock()
	if s.action.Running() {
		a := s.action
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %s started at %s from the admin pages", ErrBusy, actionName(a), a.Started.Format(time.RFC3339))
	}
	held, holder, err := lock.Probe(s.root.Lock())
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if held {
		s.mu.Unlock()
		if holder == "" {
			holder = "another process"
		}
		return nil, fmt.Errorf("%w: the root's lock is held by %s", ErrBusy, holder)
	}
	now := time.Now().UTC()
	a := &Action{ID: now.Format("20060102T150405.000Z"), Kind: kind, Target: target, State: "running", Started: now, Progress: []string{}}
	s.action = a
	v := s.bump()
	snap := a.clone()
	s.mu.Unlock()
	s.saveAction(snap)
	s.hub.publish("action", map[string]any{"version": v, "action": snap})

	s.actions.Add(1)
	go func() {
		defer s.actions.Done()
		pw := &progressWriter{s: s, a: a}
		// The action outlives the request and the server's watcher.
		res, err := fn(context.Background(), pw)
		pw.flush()
		var doc json.RawMessage
		if res != nil {
			if doc, err = jsondoc.Marshal(res); err != nil {
				doc = nil
			}
		}
		end := time.Now().UTC()
		s.mu.Lock()
		a.Ended, a.DurationMS, a.Result = &end, end.Sub(a.Started).Milliseconds(), doc
		a.State = "done"
		if err != nil {
			a.State = "failed"
			a.Error = &errorBody{Message: err.Error(), Hint: hintOf(err), Status: statusOf(err)}
		}
		s.refreshed = time.Time{}
		v := s.bump()
		snap := a.clone()
		s.mu.Unlock()
		s.saveAction(snap)
		s.refresh(context.Background(), true)
		s.hub.publish("result", map[string]any{"version": s.version.Load(), "action": snap})
		_ = v
		if s.opts.OnAction != nil {
			s.opts.OnAction(*snap)
		}
	}()
	return snap, nil
}

func actionName(a *Action) string {
	if a.Target != "" {
		return a.Kind + " " + a.Target
	}
	return a.Kind
}

// progressWriter turns the progress lines of long work into the action's
// progress and "progress" events.
type progressWriter struct {
	s    *Server
	a    *Action
	mu   sync.Mutex
	line []byte
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range b {
		if c == '\n' || c == '\r' {
			p.emit()
			continue
		}
		p.line = append(p.line, c)
	}
	return len(b), nil
}

func (p *progressWriter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.emit()
}

func (p *progressWriter) emit() {
	line := strings.TrimSpace(string(p.line))
	p.line = p.line[:0]
	if line == "" {
		return
	}
	s := p.s
	s.mu.Lock()
	p.a.Progress = append(p.a.Progress, line)
	if n := len(p.a.Progress); n > maxProgress {
		p.a.Progress = p.a.Progress[n-maxProgress:]
	}
	v := s.bump()
	s.mu.Unlock()
	s.hub.publish("progress", map[string]any{"version": v, "id": p.a.ID, "line": line})
}

// hintOf is the next step an error names, if any.
func hintOf(err error) string {
	var manual *updates.ManualError
	if errors.As(err, &manual) {
		return manual.Hint()
	}
	switch {
	case errors.Is(err, lock.ErrLocked), errors.Is(err, ErrBusy):
		return "wait for it to end, then try again"
	case errors.Is(err, packs.ErrDatabaseBehind):
		return "migrate the database (the Migrate button, or POST /api/migrate)"
	case errors.Is(err, packs.ErrDowngrade):
		if de := (*packs.DowngradeError)(nil); errors.As(err, &de) && de.Shared {
			return "install the newer pack (other hosts share the database: a restore would take it back for them too)"
		}
		return "install the newer pack, or restore a backup"
	}
	return ""
}

// statusOf is the HTTP status that fits an action's error.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrBusy), errors.Is(err, lock.ErrLocked):
		return http.StatusConflict
	case errors.Is(err, errNotFound):
		return http.StatusNotFound
	case errors.Is(err, packs.ErrShared):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// refuseShared is the shared-database guard of backups restore: restoring
// backup id's database (a table export, or a full backup holding a
// snapshot) is refused while other hosts used the database in the last 7
// days, as the CLI refuses it without --all-hosts; the pages offer no way
// past it.
func (s *Server) refuseShared(ctx context.Context, id string) error {
	m, err := backupstore.Show(s.root, id)
	if err != nil {
		return err
	}
	if m.Kind != backupstore.KindTables && m.Database.Snapshot == nil {
		return nil
	}
	self, err := updates.HostID(s.root)
	if err != nil {
		return err
	}
	db, err := packs.OpenReadOnly(ctx, s.opts.DB, s.root.Dir)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.RefuseShared(ctx, self, "restoring backup "+id+" with its database")
}

// answer tells the client the action started: 202 and the action for the
// API, a redirect to the action's page for a form.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, a *Action, err error) {
	if err != nil {
		s.fail(w, r, statusOf(err), err.Error(), hintOf(err))
		return
	}
	if isAPI(r) {
		w.Header().Set("Location", s.url("/api/action"))
		writeJSON(w, http.StatusAccepted, struct {
			Action *Action `json:"action"`
		}{a})
		return
	}
	http.Redirect(w, r, s.url("/action"), http.StatusSeeOther)
}

// startOptions are the start's options for an action, with its progress.
func (s *Server) startOptions(progress io.Writer) updates.Options {
	o := s.opts.Options
	o.Progress = progress
	o.LockTimeout = 2 * time.Second
	return o
}

func (s *Server) postInstall(w http.ResponseWriter, r *http.Request) {
	a, err := s.start("install", "", func(ctx context.Context, progress io.Writer) (any, error) {
		o := s.startOptions(progress)
		o.Mode = updates.Install
		return reportResult(updates.Bootstrap(ctx, o))
	})
	s.answer(w, r, a, err)
}

// reportResult is the start's report as an action's result; nil when the
// start made none.
func reportResult(r *updates.Report, err error) (any, error) {
	if r == nil {
		return nil, err
	}
	return r, err
}

func (s *Server) postMigrate(w http.ResponseWriter, r *http.Request) {
	a, err := s.start("migrate", "", func(ctx context.Context, progress io.Writer) (any, error) {
		o := s.startOptions(progress)
		o.Mode, o.MigrateDB = updates.Ignore, true
		return reportResult(updates.Bootstrap(ctx, o))
	})
	s.answer(w, r, a, err)
}

// packVersions are the installed packs' versions, recorded in backups.
func (s *Server) packVersions() map[string]string {
	versions := map[string]string{}
	if installed, err := packs.List(s.root.Packs()); err == nil {
		for _, p := range installed {
			versions[p.Name] = p.Manifest.Version
		}
	}
	return versions
}

func (s *Server) rootLock(ctx context.Context, what string) (*lock.Lock, error) {
	return lock.Acquire(ctx, s.root.Lock(), what, 2*time.Second)
}

func (s *Server) postBackup(w http.ResponseWriter, r *http.Request) {
	reason := r.PostFormValue("reason")
	if reason == "" {
		reason = "admin"
	}
	a, err := s.start("backup", "", func(ctx context.Context, progress io.Writer) (any, error) {
		l, err := s.rootLock(ctx, "backups create (admin pages)")
		if err != nil {
			return nil, err
		}
		defer l.Release()
		b, err := backupstore.Create(ctx, backupstore.CreateOptions{Root: s.root, Reason: reason, UpkeepVersion: s.opts.UpkeepVersion,
			Packs: s.packVersions(), DB: s.opts.DB, Progress: progress})
		if err != nil {
			return nil, err
		}
		return jsondoc.BackupCreated{Backup: jsondoc.NewBackup(*b)}, nil
	})
	s.answer(w, r, a, err)
}

// findBackup is the backup id of Updates_Backups.
func (s *Server) findBackup(id string) (*backupstore.Backup, error) {
	list, err := backupstore.List(s.root)
	if err != nil {
		return nil, err
	}
	for _, b := range list {
		if b.ID == id {
			return &b, nil
		}
	}
	return nil, fmt.Errorf("%w: no backup %s in %s", errNotFound, id, s.root.Backups())
}

// postRestore restores a backup: the root's files and the database for a
// full backup, the packs' tables for a table export (db export), as
// `upkeep backups restore ID` does.
func (s *Server) postRestore(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.findBackup(id); err != nil {
		s.fail(w, r, statusOf(err), err.Error(), "")
		return
	}
	if err := s.refuseShared(r.Context(), id); err != nil {
		s.fail(w, r, statusOf(err), err.Error(), hintOf(err))
		return
	}
	a, err := s.start("restore", id, func(ctx context.Context, progress io.Writer) (any, error) {
		l, err := s.rootLock(ctx, "backups restore (admin pages)")
		if err != nil {
			return nil, err
		}
		defer l.Release()
		m, err := backupstore.Show(s.root, id)
		if err != nil {
			return nil, err
		}
		if m.Kind == backupstore.KindTables {
			fmt.Fprintf(progress, "restoring the tables of %s from %s\n", strings.Join(m.Tables, ", "), id)
			if err := updates.RestoreTables(ctx, s.root, s.opts.DB, id); err != nil {
				return nil, err
			}
			return jsondoc.Restored{Restored: id, Kind: jsondoc.KindDBExport, Tables: m.Tables}, nil
		}
		before, err := backupstore.Restore(ctx, backupstore.RestoreOptions{Root: s.root, ID: id, DB: s.opts.DB,
			UpkeepVersion: s.opts.UpkeepVersion, Packs: s.packVersions(), Progress: progress})
		if err != nil {
			return nil, err
		}
		// The restored root supersedes a batch whose recovery failed.
		if err := updates.DiscardBatch(s.root.Dir); err != nil {
			return nil, err
		}
		res := jsondoc.Restored{Restored: id, Kind: jsondoc.KindBackup, Tables: []string{}}
		if before != nil {
			b := jsondoc.NewBackup(*before)
			res.BeforeRestore = &b
		}
		return res, nil
	})
	s.answer(w, r, a, err)
}

// verifyResult is the result of a verification that passed.
type verifyResult struct {
	Backup string `json:"backup"`
	OK     bool   `json:"ok"`
}

func (s *Server) postVerify(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.findBackup(id); err != nil {
		s.fail(w, r, statusOf(err), err.Error(), "")
		return
	}
	a, err := s.start("verify", id, func(ctx context.Context, progress io.Writer) (any, error) {
		fmt.Fprintf(progress, "verifying %s\n", id)
		if err := backupstore.Verify(s.root, id); err != nil {
			return nil, err
		}
		return verifyResult{Backup: id, OK: true}, nil
	})
	s.answer(w, r, a, err)
}

// loss is what a restore loses: everything done since the backup was
// taken; for a table export, what was done to its packs' tables.
type loss struct {
	Backup     jsondoc.Backup
	Tables     []string            // the packs of a table export
	Batches    []jsondoc.Batch     // the installs since
	Migrations []jsondoc.Migration // the migrations since
	Newer      []jsondoc.Backup    // backups taken since, which stay
}

// serveRestoreConfirm asks before a restore, naming what is lost.
func (s *Server) serveRestoreConfirm(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	b, err := s.findBackup(id)
	if err != nil {
		s.fail(w, r, statusOf(err), err.Error(), "")
		return
	}
	sn := s.snap(r.Context())
	l := loss{Backup: jsondoc.NewBackup(*b)}
	if b.Kind == backupstore.KindTables {
		m, err := backupstore.Show(s.root, id)
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, err.Error(), "")
			return
		}
		l.Tables = m.Tables
	}
	if h := sn.view.History; h != nil {
		for _, bt := range h.Batches {
			if bt.Started.After(b.Created) && bt.Outcome == packs.OutcomeCommitted && (l.Tables == nil || batchTouches(bt, l.Tables)) {
				l.Batches = append(l.Batches, bt)
			}
		}
	}
	for _, m := range sn.view.Migrations {
		if m.AppliedAt.After(b.Created) && (l.Tables == nil || slices.Contains(l.Tables, m.Pack)) {
			l.Migrations = append(l.Migrations, m)
		}
	}
	if bk := sn.view.Backups; bk != nil {
		for _, o := range bk.Backups {
			if o.Created.After(b.Created) {
				l.Newer = append(l.Newer, o)
			}
		}
	}
	d := s.data("restore", sn)
	d.Extra = l
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.tmpl.ExecuteTemplate(w, "restore.html", d); err != nil {
		fmt.Fprintf(w, "<p>%s</p>", err)
	}
}

// batchTouches tells whether a batch installed one of the packs.
func batchTouches(b jsondoc.Batch, packNames []string) bool {
	for _, p := range b.Packs {
		if slices.Contains(packNames, p.Pack) {
			return true
		}
	}
	return false
}

// shownResult is an action's result, read back for its page: one of the
// fields is set, by the action's kind.
type shownResult struct {
	Report  *updates.Report   // install, migrate
	Backup  *jsondoc.Backup   // backup
	Restore *jsondoc.Restored // restore
	Verify  *verifyResult     // verify
}

// result reads a's result back for the action page; nil when it has none
// (or one this version of upkeep cannot read: the page shows it raw).
func result(a *Action) *shownResult {
	if a == nil || len(a.Result) == 0 {
		return nil
	}
	var r shownResult
	var err error
	switch a.Kind {
	case "install", "migrate":
		r.Report = &updates.Report{}
		err = json.Unmarshal(a.Result, r.Report)
	case "backup":
		var c jsondoc.BackupCreated
		err = json.Unmarshal(a.Result, &c)
		r.Backup = &c.Backup
	case "restore":
		r.Restore = &jsondoc.Restored{}
		err = json.Unmarshal(a.Result, r.Restore)
	case "verify":
		r.Verify = &verifyResult{}
		err = json.Unmarshal(a.Result, r.Verify)
	default:
		return nil
	}
	if err != nil {
		return nil
	}
	return &r
}
