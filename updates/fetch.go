package updates

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/go-version"

	"github.com/upkeep/upkeep/feed"
	"github.com/upkeep/upkeep/internal/lock"
	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

// FetchOptions configures [Fetch].
type FetchOptions struct {
	ScanOptions // the root, its trusted keys, the limits of a zip
	FeedOptions
	// LockTimeout bounds the wait for the root's lock; 0 is
	// DefaultLockTimeout.
	LockTimeout time.Duration
}

// FeedOptions says which feed to fetch and how, for [Fetch] and for the
// fetch of a start (Options.Fetch).
type FeedOptions struct {
	// Feed is the feed's URL: its index.json, or the folder holding it.
	Feed string
	// Packs are packs not installed to fetch too; installed packs are
	// always considered.
	Packs []string
	// AllowExpired accepts an index past its expires.
	AllowExpired bool
	// App, when set, refuses an index made for another application.
	App string
	// Client tunes the downloads (stall timeout, retries, backoff, HTTP
	// client); the zero value is fine.
	Client feed.Client
	// Progress, when not nil, shows the downloads.
	Progress io.Writer
}

// FetchReport is what the fetch of a start did; Error says why it failed
// (the start goes on with what Updates_Pending holds).
type FetchReport struct {
	*feed.Result
	Error string `json:"error,omitempty"`
}

// Fetch brings what the feed offers this root into Updates_Pending (see
// [feed.Fetch] for the rules), under the root's lock so that one fetch
// (or install) runs at a time. It installs nothing: a start with
// --install-updates does that.
func Fetch(ctx context.Context, opts FetchOptions) (*feed.Result, error) {
	root, err := layout.Open(opts.Root)
	if err != nil {
		return nil, err
	}
	if err := root.Ensure(); err != nil {
		return nil, err
	}
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = DefaultLockTimeout
	}
	l, err := lock.Acquire(ctx, root.Lock(), "feed fetch", timeout)
	if err != nil {
		return nil, err
	}
	defer l.Release()
	return fetchLocked(ctx, root, opts.ScanOptions, opts.FeedOptions)
}

// fetchLocked is Fetch for a caller that holds the root's lock.
func fetchLocked(ctx context.Context, root layout.Root, scan ScanOptions, opts FeedOptions) (*feed.Result, error) {
	fill(&scan)
	keys, err := signing.LoadKeyring(root.Trusted(), scan.TrustedKeys)
	if err != nil {
		return nil, err
	}
	list, err := packs.List(root.Packs())
	if err != nil {
		return nil, err
	}
	installed := map[string]*version.Version{}
	for _, p := range list {
		installed[p.Name] = p.Manifest.SemVersion()
	}
	res, err := feed.Fetch(ctx, feed.FetchOptions{
		Root: root, URL: opts.Feed, Keys: keys, Installed: installed, Packs: opts.Packs,
		AllowExpired: opts.AllowExpired, App: opts.App, Limits: scan.Limits, Now: scan.Now,
		Client: opts.Client, Progress: opts.Progress,
	})
	if err != nil {
		return res, fmt.Errorf("fetch: %w", err)
	}
	return res, nil
}
