package feed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-version"

	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/internal/progress"
	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/manifest"
)

// maxSigSize caps what is read of a .minisig.
const maxSigSize = 64 << 10

// FetchOptions says what to fetch from where into which root.
type FetchOptions struct {
	Root layout.Root
	// URL is the feed's index.json, or the folder that holds it (a URL
	// ending in "/").
	URL string
	// Keys are the root's trusted keys; with none, every feed is refused.
	Keys *signing.Keyring
	// Installed maps each installed pack to its version.
	Installed map[string]*version.Version
	// Packs are packs not installed to fetch too (--pack).
	Packs []string
	// AllowExpired accepts an index past its expires.
	AllowExpired bool
	// App, when set, refuses an index for another application.
	App    string
	Limits manifest.Limits // zero: manifest.DefaultLimits()
	Now    func() time.Time
	// Client downloads; its zero value is fine.
	Client Client
	// Progress, when not nil, shows the downloads: a bar on a terminal.
	Progress io.Writer
}

// Result is what a fetch did.
type Result struct {
	URL      string    `json:"url"`
	Serial   int64     `json:"serial"`
	IssuedAt time.Time `json:"issued_at"`
	Expires  time.Time `json:"expires"`
	Fetched  []Fetched `json:"fetched"`           // now in Updates_Pending
	Pending  []string  `json:"already_pending"`   // already in Updates_Pending, identical
	Skipped  []Skip    `json:"skipped,omitempty"` // newer versions the rules leave out
	Failed   []string  `json:"failed,omitempty"`  // one line per zip that could not be fetched
}

// Fetched is one zip a fetch put into Updates_Pending.
type Fetched struct {
	File        string `json:"file"`
	Pack        string `json:"pack"`
	Version     string `json:"version"`
	Size        int64  `json:"size"`
	Resumed     int64  `json:"resumed"`     // bytes an earlier run had brought
	Transferred int64  `json:"transferred"` // bytes this run received
}

// IndexURL is the URL of a feed's index.json: u itself, or u's
// index.json when u names a folder (ends in "/", or has no path).
func IndexURL(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("feed URL %q: %w", u, err)
	}
	if p.Scheme != "http" && p.Scheme != "https" {
		return "", fmt.Errorf("feed URL %q: want an http:// or https:// URL", u)
	}
	if p.Path == "" || strings.HasSuffix(p.Path, "/") {
		p.Path += IndexName
	}
	return p.String(), nil
}

// Fetch downloads a feed's index, refuses it unless a trusted key signed
// it, it has not expired (unless AllowExpired) and its serial is not lower
// than the last one this root accepted from that URL (nor the same with
// other content), records it in .upkeep/feed.json, and brings what
// [Select] picks into Updates_Pending: each zip downloaded into
// Updates_Pending/.incoming/NAME.zip.part (resumed when an earlier run
// left one), checked (size, sha256, signature, and its manifest against
// the index), fsynced, and renamed into Updates_Pending with its
// .minisig. A crash at any instant leaves at most a .part there, never a
// partial zip in Updates_Pending.
//
// The caller holds the root's lock. A zip that fails does not stop the
// others; the error then joins a [*DownloadError] per failed zip, and the
// result says what was fetched.
func Fetch(ctx context.Context, opts FetchOptions) (*Result, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Limits == (manifest.Limits{}) {
		opts.Limits = manifest.DefaultLimits()
	}
	indexURL, err := IndexURL(opts.URL)
	if err != nil {
		return nil, err
	}
	if opts.Keys.Len() == 0 {
		return nil, &RefusedError{URL: indexURL, Reason: "this root trusts no key, and a feed is only accepted signed by a trusted key: " + ErrNoTrustedKey.Error(),
			Hint: "trust the feed's public key: upkeep keys trust FILE.pub"}
	}
	ix, _, err := fetchIndex(ctx, &opts, indexURL)
	if err != nil {
		return nil, err
	}
	res := &Result{URL: indexURL, Serial: ix.Serial, IssuedAt: ix.IssuedAt, Expires: ix.Expires}

	chosen, skipped, err := Select(ix, opts.Installed, opts.Packs)
	if err != nil {
		return res, fmt.Errorf("feed %s: %w", indexURL, err)
	}
	res.Skipped = skipped
	if err := os.MkdirAll(opts.Root.Incoming(), 0o755); err != nil {
		return res, fmt.Errorf("create %s: %w", opts.Root.Incoming(), err)
	}
	removeStaleTemps(opts.Root.Incoming())

	var todo []Entry
	var total int64
	for _, e := range chosen {
		dest := filepath.Join(opts.Root.Pending(), e.FileName())
		same, err := sameFile(dest, e)
		switch {
		case err != nil:
			res.Failed = append(res.Failed, err.Error())
		case same:
			res.Pending = append(res.Pending, e.FileName())
		default:
			todo = append(todo, e)
			total += e.Size
		}
	}
	var errs []error
	for _, line := range res.Failed {
		errs = append(errs, errors.New(line))
	}
	meter := progress.New(opts.Progress, "fetch", len(todo), total, progress.Options{})
	opts.Client.Progress = meter
	base, _ := url.Parse(indexURL)
	for _, e := range todo {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		f, err := fetchOne(ctx, &opts, base, e)
		if err != nil {
			res.Failed = append(res.Failed, err.Error())
			errs = append(errs, err)
			continue
		}
		meter.Add(1, 0)
		res.Fetched = append(res.Fetched, *f)
	}
	meter.Done()
	return res, errors.Join(errs...)
}

// fetchIndex downloads, verifies and records the index.
func fetchIndex(ctx context.Context, opts *FetchOptions, indexURL string) (*Index, []byte, error) {
	raw, err := opts.Client.Get(ctx, indexURL, MaxIndexSize)
	if err != nil {
		return nil, nil, fmt.Errorf("feed %s: %w", indexURL, err)
	}
	sig, err := opts.Client.Get(ctx, indexURL+signing.SigExt, maxSigSize)
	var he *httpError
	if errors.As(err, &he) && he.code == http.StatusNotFound {
		sig = nil // unsigned: refused below, with the reason
	} else if err != nil {
		return nil, nil, fmt.Errorf("feed %s%s: %w", indexURL, signing.SigExt, err)
	}
	if check := opts.Keys.CheckBytes(IndexName, raw, sig); check.State != signing.Valid {
		problem := check.Problem
		if problem == "" {
			problem = string(check.State)
		}
		return nil, nil, &RefusedError{URL: indexURL, Reason: problem, Hint: "the index must be signed (upkeep feed build --sign KEY) by a key this root trusts (upkeep keys trust FILE.pub)"}
	}
	ix, err := Parse(indexURL, raw)
	if err != nil {
		return nil, nil, err
	}
	if opts.App != "" && ix.App != opts.App {
		return nil, nil, &RefusedError{URL: indexURL, Reason: fmt.Sprintf("the index is for app %q, not %q", ix.App, opts.App)}
	}
	now := opts.Now()
	if now.After(ix.Expires) && !opts.AllowExpired {
		return nil, nil, &RefusedError{URL: indexURL,
			Reason: fmt.Sprintf("the index (serial %d) expired at %s, %s ago; a stale feed could hide newer fixes",
				ix.Serial, ix.Expires.UTC().Format(time.RFC3339), now.Sub(ix.Expires).Round(time.Second)),
			Hint: "the publisher rebuilds the feed (upkeep feed build); --allow-expired accepts it anyway"}
	}
	sum := sha256.Sum256(raw)
	digest := hex.EncodeToString(sum[:])
	stPath := opts.Root.FeedState()
	st, err := LoadState(stPath)
	if err != nil {
		return nil, nil, err
	}
	if last, ok := st.Feeds[indexURL]; ok {
		switch {
		case ix.Serial < last.Serial:
			return nil, nil, &RefusedError{URL: indexURL,
				Reason: fmt.Sprintf("serial %d is lower than serial %d accepted at %s: refused as a rollback (an old index replayed)",
					ix.Serial, last.Serial, last.AcceptedAt.UTC().Format(time.RFC3339))}
		case ix.Serial == last.Serial && digest != last.SHA256:
			return nil, nil, &RefusedError{URL: indexURL,
				Reason: fmt.Sprintf("serial %d was accepted before with other content: refused (a publisher bumps the serial at every build)", ix.Serial)}
		case ix.Serial == last.Serial:
			return ix, raw, nil // the same index again: nothing to record
		}
	}
	st.Feeds[indexURL] = &FeedRecord{Serial: ix.Serial, SHA256: digest, IssuedAt: ix.IssuedAt.UTC(), Expires: ix.Expires.UTC(), AcceptedAt: now.UTC().Truncate(time.Second)}
	if err := os.MkdirAll(filepath.Dir(stPath), 0o755); err != nil {
		return nil, nil, err
	}
	if err := st.Save(stPath); err != nil {
		return nil, nil, err
	}
	return ix, raw, nil
}

// sameFile reports whether Updates_Pending already holds e's zip. A file
// of that name with other content is an error: it is left alone.
func sameFile(dest string, e Entry) (bool, error) {
	info, err := os.Lstat(dest)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if info.Mode().IsRegular() && info.Size() == e.Size {
		f, err := os.Open(dest)
		if err != nil {
			return false, err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return false, fmt.Errorf("read %s: %w", dest, err)
		}
		if hex.EncodeToString(h.Sum(nil)) == e.SHA256 {
			return true, nil
		}
	}
	return false, &DownloadError{File: e.FileName(), URL: e.URL,
		Err: fmt.Errorf("%s already holds another file of that name; left alone (move it away to fetch %s %s)", dest, e.Pack, e.Version)}
}

// fetchOne downloads one entry and, when it checks out, moves it into
// Updates_Pending with its signature.
func fetchOne(ctx context.Context, opts *FetchOptions, base *url.URL, e Entry) (*Fetched, error) {
	name := e.FileName()
	ref, _ := url.Parse(e.URL)
	zipURL := base.ResolveReference(ref).String()
	fail := func(err error) (*Fetched, error) {
		return nil, &DownloadError{File: name, URL: zipURL, Err: err}
	}
	sig, err := opts.Client.Get(ctx, zipURL+signing.SigExt, maxSigSize)
	var he *httpError
	if errors.As(err, &he) && he.code == http.StatusNotFound {
		sig = nil
	} else if err != nil {
		return fail(fmt.Errorf("signature: %w", err))
	}
	verifier := opts.Keys.Expect(name, sig)
	if res := verifier.Result(); verifier.Decided() && res.Refused {
		return fail(fmt.Errorf("%s; not downloaded", res.Problem))
	}

	part := filepath.Join(opts.Root.Incoming(), name+".part")
	f, out, err := opts.Client.Download(ctx, Job{URL: zipURL, Size: e.Size, SHA256: e.SHA256, Part: part, Verify: verifier})
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	if err := checkManifest(f, e, opts.Limits); err != nil {
		f.Close()
		removePart(part)
		return fail(fmt.Errorf("%w; removed", err))
	}
	dest := filepath.Join(opts.Root.Pending(), name)
	// The signature first: a lone .minisig is ignored by scans; the zip
	// appears whole, by rename, after it. Both are written in .incoming and
	// renamed, so a kill leaves no temporary file in Updates_Pending.
	sigTmp := filepath.Join(opts.Root.Incoming(), name+signing.SigExt)
	if err := atomicfile.Write(sigTmp, 0o644, func(w io.Writer) error {
		_, err := w.Write(sig)
		return err
	}); err != nil {
		return fail(err)
	}
	if err := os.Rename(sigTmp, dest+signing.SigExt); err != nil {
		return fail(fmt.Errorf("move into %s: %w", opts.Root.Pending(), err))
	}
	if err := os.Rename(part, dest); err != nil {
		return fail(fmt.Errorf("move into %s: %w", opts.Root.Pending(), err))
	}
	if err := atomicfile.SyncDir(opts.Root.Pending()); err != nil {
		return fail(err)
	}
	os.Remove(part + ".json")
	return &Fetched{File: name, Pack: e.Pack, Version: e.Version, Size: e.Size, Resumed: out.Resumed, Transferred: out.Transferred}, nil
}

// checkManifest opens the downloaded zip as an update and checks that its
// manifest says what the index says.
func checkManifest(f *os.File, e Entry, lim manifest.Limits) error {
	z, err := manifest.NewZip(f, e.Size, e.FileName(), lim)
	if err != nil {
		return fmt.Errorf("not a valid update zip: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	defer z.Close()
	m := z.Manifest
	var diffs []string
	differ := func(field, zip, index string) {
		if zip != index {
			diffs = append(diffs, fmt.Sprintf("%s %q (the index says %q)", field, zip, index))
		}
	}
	differ("pack", m.Pack, e.Pack)
	if !m.SemVersion().Equal(e.SemVersion()) {
		differ("version", m.Version, e.Version)
	}
	differ("upgrades_from", m.UpgradesFrom, e.UpgradesFrom)
	for _, k := range sortedKeys(m.Requires) {
		differ("requires["+k+"]", m.Requires[k], e.Requires[k])
	}
	for _, k := range sortedKeys(e.Requires) {
		if _, ok := m.Requires[k]; !ok {
			differ("requires["+k+"]", "", e.Requires[k])
		}
	}
	zs, is := -1, -1
	if m.Database != nil {
		zs = m.Database.SchemaVersion
	}
	if e.Database != nil {
		is = e.Database.SchemaVersion
	}
	if zs != is {
		diffs = append(diffs, fmt.Sprintf("database.schema_version %d (the index says %d; -1: none)", zs, is))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("its manifest disagrees with the index: %s", strings.Join(diffs, ", "))
	}
	return nil
}

// removeStaleTemps removes the temporary files (".NAME.*.tmp") a killed
// fetch left in .incoming; the caller holds the root's lock, so no other
// fetch is writing them.
func removeStaleTemps(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".tmp") && e.Type().IsRegular() {
			os.Remove(filepath.Join(dir, n))
		}
	}
}
