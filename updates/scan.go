package updates

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/manifest"
	"github.com/upkeep/upkeep/packs"
)

// Status is what the scan found an update zip to be.
type Status string

// The statuses of an update zip. Only [Ready] updates are installed.
const (
	Ready      Status = "ready"      // valid, signed as required, and its needs are met
	Invalid    Status = "invalid"    // the zip or its manifest is wrong: Problems say how
	Incomplete Status = "incomplete" // still being copied into Updates_Pending: left alone
	Refused    Status = "refused"    // keys are trusted and the signature is missing or wrong
	Installed  Status = "installed"  // this version of the pack is already installed
	Downgrade  Status = "downgrade"  // older than the installed version: refused
	Blocked    Status = "blocked"    // requires or upgrades_from not met, or another zip of the same pack
	// Failed is a ready zip whose last install failed (LastFailure says
	// why), until it is replaced. --install-updates tries it again.
	Failed Status = "failed"
)

// installable tells whether u goes into the next batch: ready, or ready
// but failed last time.
func (u *Update) installable() bool { return u.Status == Ready || u.Status == Failed }

// DefaultSettle is how long after its last change a zip without an end of
// central directory is taken to be still being copied, rather than damaged.
const DefaultSettle = time.Minute

// ScanOptions says where and how to scan.
type ScanOptions struct {
	Root        string          // the application's system directory; "" is the current one
	TrustedKeys []string        // public key files trusted besides .upkeep/trusted/*.pub
	Limits      manifest.Limits // zero value: manifest.DefaultLimits()
	Settle      time.Duration   // zero value: DefaultSettle
	// Steady, when set, is how long a zip's size and time must stay
	// unchanged before it is taken as whole: a zip changed less than Steady
	// ago is reported incomplete. [Watch] sets it; a start leaves it zero.
	Steady time.Duration
	Now    func() time.Time
}

// Update is one zip of Updates_Pending as the scan found it.
type Update struct {
	File     string   `json:"file"` // name in Updates_Pending, or the path given to ScanOne
	Size     int64    `json:"size"`
	Status   Status   `json:"status"`
	Problems []string `json:"problems,omitempty"` // one line each, for every status but Ready
	Order    int      `json:"order,omitempty"`    // 1-based install order of a Ready update

	Pack             string            `json:"pack,omitempty"`
	Version          string            `json:"version,omitempty"`
	InstalledVersion string            `json:"installed_version,omitempty"` // "" when the pack is new
	Title            string            `json:"title,omitempty"`
	Released         string            `json:"released,omitempty"`
	WhatsNew         string            `json:"whats_new,omitempty"`
	UpgradesFrom     string            `json:"upgrades_from,omitempty"`
	Requires         map[string]string `json:"requires,omitempty"`
	Database         *DatabaseChange   `json:"database,omitempty"`
	Signature        Signature         `json:"signature"`
	LastFailure      string            `json:"last_failure,omitempty"` // why installing this zip failed last time

	path     string
	info     os.FileInfo // as the scan found the file
	manifest *manifest.Manifest
	// manifestSum is the sha256 of the zip's manifest.json as the scan
	// read it: staging refuses a zip that no longer holds it.
	manifestSum [32]byte
}

// DatabaseChange is what an update does to its pack's schema.
type DatabaseChange struct {
	From       int      `json:"from"`
	To         int      `json:"to"`
	Migrations []string `json:"migrations,omitempty"` // up files that will run, in order
	Tables     []string `json:"tables,omitempty"`
	Changes    string   `json:"changes,omitempty"`
	// DatabaseSchema is the database's schema version of the pack when it
	// is past From already (another host sharing the database installed
	// a newer version first); Migrations then lists only those still to
	// run, and FilesOnly says there are none: the update installs its
	// files only. MigratedBy names the batch that migrated it.
	DatabaseSchema int         `json:"database_schema,omitempty"`
	FilesOnly      bool        `json:"files_only,omitempty"`
	MigratedBy     *MigratedBy `json:"migrated_by,omitempty"`
}

// Signature is the state of an update's signature.
type Signature struct {
	State   string `json:"state"` // unsigned, unverified (no key trusted), valid, untrusted (signed by a key that is not trusted), invalid or unreadable
	KeyID   string `json:"key_id,omitempty"`
	Problem string `json:"problem,omitempty"` // what is wrong with it, also when no key is trusted and it is not required
}

// Path is the zip's path on disk.
func (u *Update) Path() string { return u.path }

// Manifest is the zip's manifest, or nil when it could not be read.
func (u *Update) Manifest() *manifest.Manifest { return u.manifest }

// Report is the result of a scan.
type Report struct {
	Root      string          `json:"root"`
	Recovery  *Recovery       `json:"recovery,omitempty"` // an interrupted batch this start finished or undid
	Fetch     *FetchReport    `json:"fetch,omitempty"`    // what --fetch-updates brought
	Batch     *Batch          `json:"batch,omitempty"`    // the batch this start installed
	DryRun    *DryRun         `json:"dry_run,omitempty"`  // what --install-updates --dry-run would do
	Database  *DatabaseReport `json:"database,omitempty"` // every installed pack's schema, after the updates
	Installed []InstalledPack `json:"installed"`
	Updates   []*Update       `json:"updates"` // Ready ones first in install order, then the rest by file name
}

// InstalledPack is a pack installed in the root.
type InstalledPack struct {
	Pack          string `json:"pack"`
	Version       string `json:"version"`
	SchemaVersion int    `json:"schema_version"`
}

// Ready returns the updates the next batch installs, in install order:
// those ready, and those that failed last time (status Failed).
func (r *Report) Ready() []*Update {
	var out []*Update
	for _, u := range r.Updates {
		if u.installable() {
			out = append(out, u)
		}
	}
	return out
}

// Scan reads every update zip in the root's Updates_Pending and plans the
// batch. It changes nothing on disk. Files other than *.zip are ignored
// (a NAME.zip.minisig belongs to NAME.zip), and so are dot-files and names
// ending in .part or .tmp: "copy as NAME.zip.part, then rename" is the safe
// way to drop a zip.
func Scan(ctx context.Context, opts ScanOptions) (*Report, error) {
	root, err := layout.Open(opts.Root)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(root.Pending())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("scan %s: %w", root.Pending(), err)
	}
	var paths []string
	for _, e := range entries {
		if Ignored(e.Name()) {
			continue // also .incoming, a fetch's downloads in progress
		}
		if strings.EqualFold(filepath.Ext(e.Name()), ".zip") {
			paths = append(paths, filepath.Join(root.Pending(), e.Name()))
		}
	}
	return scan(ctx, opts, root, paths)
}

// ScanOne reads one update zip, given as a path or as a name in
// Updates_Pending, and classifies it against the installed packs and the
// other zips in Updates_Pending.
func ScanOne(ctx context.Context, opts ScanOptions, zip string) (*Update, error) {
	root, err := layout.Open(opts.Root)
	if err != nil {
		return nil, err
	}
	abs, err := locate(root, zip)
	if err != nil {
		return nil, err
	}
	r, err := Scan(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, u := range r.Updates {
		if u.path == abs {
			return u, nil
		}
	}
	// A zip outside Updates_Pending: plan it alone against what is installed.
	r, err = scan(ctx, opts, root, []string{abs})
	if err != nil {
		return nil, err
	}
	u := r.Updates[0]
	u.File = zip
	return u, nil
}

// Ignored tells whether a name in Updates_Pending is left out of every
// scan: dot-files (and dot-folders such as .incoming) and names ending in
// .part or .tmp, the names of files still being written.
func Ignored(name string) bool {
	lower := strings.ToLower(name)
	return strings.HasPrefix(name, ".") || strings.HasSuffix(lower, ".part") || strings.HasSuffix(lower, ".tmp")
}

// fill sets the defaults of the options left zero.
func fill(opts *ScanOptions) {
	if opts.Limits == (manifest.Limits{}) {
		opts.Limits = manifest.DefaultLimits()
	}
	if opts.Settle == 0 {
		opts.Settle = DefaultSettle
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
}

func scan(ctx context.Context, opts ScanOptions, root layout.Root, paths []string) (*Report, error) {
	fill(&opts)
	installed, err := packs.List(root.Packs())
	if err != nil {
		return nil, err
	}
	keys, err := signing.LoadKeyring(root.Trusted(), opts.TrustedKeys)
	if err != nil {
		return nil, err
	}
	r := &Report{Root: root.Dir}
	have := map[string]*manifest.Manifest{}
	for _, p := range installed {
		have[p.Name] = p.Manifest
		r.Installed = append(r.Installed, InstalledPack{Pack: p.Name, Version: p.Manifest.Version, SchemaVersion: p.Manifest.SchemaVersion()})
	}

	failures := loadFailures(root)
	r.Updates = make([]*Update, len(paths))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(paths)) {
		wg.Go(func() {
			for i := range work {
				r.Updates[i] = read(opts, keys, paths[i])
				r.Updates[i].LastFailure = lastFailure(failures, r.Updates[i].File, r.Updates[i].info)
			}
		})
	}
	for i := range paths {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	plan(r.Updates, have)
	for _, u := range r.Updates {
		if u.Status == Ready && u.LastFailure != "" {
			u.Status = Failed
		}
	}
	sort.SliceStable(r.Updates, func(i, j int) bool {
		a, b := r.Updates[i], r.Updates[j]
		if a.installable() != b.installable() {
			return a.installable()
		}
		if a.installable() {
			return a.Order < b.Order
		}
		return a.File < b.File
	})
	return r, nil
}

// read classifies one zip on its own: readable, valid, signed as required.
func read(opts ScanOptions, keys *signing.Keyring, path string) *Update {
	u := &Update{File: filepath.Base(path), path: path}
	before, err := os.Lstat(path)
	if err != nil {
		return u.fail(Invalid, err.Error())
	}
	u.Size, u.info = before.Size(), before
	if !before.Mode().IsRegular() {
		what := "not a regular file"
		switch {
		case before.IsDir():
			what = "a folder, not a zip file"
		case before.Mode()&os.ModeSymlink != 0:
			what = "a symlink; put the zip file itself in Updates_Pending"
		}
		return u.fail(Invalid, fmt.Sprintf("%s: %s", u.File, what))
	}
	age := opts.Now().Sub(before.ModTime())
	if opts.Steady > 0 && age < opts.Steady {
		return u.fail(Incomplete, fmt.Sprintf("%s: still being copied (changed %s ago); left alone", u.File, age.Round(time.Millisecond)))
	}
	z, err := manifest.OpenZip(path, opts.Limits)
	if err == nil {
		defer z.Close()
	}
	// A zip whose size or time changed while it was read is being written.
	if after, serr := os.Lstat(path); serr == nil && (after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime())) {
		u.Size = after.Size()
		return u.fail(Incomplete, fmt.Sprintf("%s: still being copied (it changed while upkeep read it); left alone", u.File))
	}
	if err != nil {
		if errors.Is(err, manifest.ErrNotZip) && age < opts.Settle {
			return u.fail(Incomplete, fmt.Sprintf("%s: still being copied (no end of central directory yet, last changed %s ago); left alone", u.File, age.Round(time.Second)))
		}
		return u.fail(Invalid, problemLines(path, u.File, err)...)
	}
	u.describe(z.Manifest)
	u.manifestSum = z.ManifestSHA256()

	sig := keys.Check(path)
	u.Signature = Signature{State: string(sig.State), KeyID: sig.KeyID, Problem: sig.Problem}
	if sig.Refused {
		return u.fail(Refused, sig.Problem)
	}
	u.Status = Ready
	return u
}

// describe copies what the report shows from the manifest.
func (u *Update) describe(m *manifest.Manifest) {
	u.manifest = m
	u.Pack, u.Version, u.Title = m.Pack, m.Version, m.Title
	u.Released, u.WhatsNew = m.Released, m.WhatsNew
	u.UpgradesFrom, u.Requires = m.UpgradesFrom, m.Requires
	if m.Database != nil {
		u.Database = &DatabaseChange{To: m.Database.SchemaVersion, Tables: m.Database.Tables, Changes: m.Database.Changes}
	}
}

func (u *Update) fail(s Status, problems ...string) *Update {
	u.Status = s
	u.Problems = append(u.Problems, problems...)
	return u
}

// problemLines turns an error, possibly a join of several, into one line per
// problem, each naming the zip by its file name.
func problemLines(path, file string, err error) []string {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []string
	for _, e := range errs {
		msg := strings.ReplaceAll(e.Error(), path, file)
		for _, line := range strings.Split(msg, "\n") {
			if line == "" {
				continue
			}
			if !strings.Contains(line, file) {
				line = file + ": " + line
			}
			out = append(out, line)
		}
	}
	return out
}
