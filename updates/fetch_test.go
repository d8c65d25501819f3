package updates

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/upkeep/upkeep/feed"
	"github.com/upkeep/upkeep/internal/lock"
)

func TestFetchWaitsForTheRootsLock(t *testing.T) {
	root := newRoot(t)
	l, err := lock.Acquire(context.Background(), root.Lock(), "install", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	start := time.Now()
	_, err = Fetch(context.Background(), FetchOptions{ScanOptions: ScanOptions{Root: root.Dir}, LockTimeout: 200 * time.Millisecond,
		FeedOptions: FeedOptions{Feed: "http://127.0.0.1:1/"}})
	if !errors.Is(err, lock.ErrLocked) || !strings.Contains(err.Error(), "install since") {
		t.Fatalf("err %v, want the lock held by the install", err)
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Fatalf("gave up after %s, before the lock timeout", took)
	}
}

func TestBootstrapGoesOnWhenTheFetchFails(t *testing.T) {
	root := newRoot(t)
	r, err := Bootstrap(context.Background(), Options{ScanOptions: ScanOptions{Root: root.Dir}, Mode: Check,
		Fetch: &FeedOptions{Feed: "http://127.0.0.1:1/", Client: feed.Client{Retries: 1}}})
	if err != nil {
		t.Fatalf("a failed fetch stopped the start: %v", err)
	}
	if r.Fetch == nil || !strings.Contains(r.Fetch.Error, "trusts no key") {
		t.Fatalf("fetch report %+v, want the refusal", r.Fetch)
	}
}
