package feed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upkeep/upkeep/internal/signing"
)

const zipSize = 300_000

func blogFixture(t *testing.T) *feedFixture {
	return newFixture(t, []zipSpec{{pack: "blog", version: "1.1.0", payload: zipSize}}, zipSpec{pack: "blog", version: "1.0.0", payload: 100})
}

// wantFetched fails unless Updates_Pending holds exactly the named zips
// and their signatures, byte-identical to the feed's, and .incoming is
// empty.
func wantFetched(t *testing.T, fx *feedFixture, names ...string) {
	t.Helper()
	var want []string
	for _, n := range names {
		want = append(want, n, n+signing.SigExt)
		sameBytes(t, filepath.Join(fx.root.Pending(), n), filepath.Join(fx.dir, n))
		sameBytes(t, filepath.Join(fx.root.Pending(), n+signing.SigExt), filepath.Join(fx.dir, n+signing.SigExt))
	}
	slices.Sort(want)
	if got := pending(t, fx.root); !slices.Equal(got, want) {
		t.Fatalf("Updates_Pending holds %v, want %v", got, want)
	}
	if left, _ := os.ReadDir(fx.root.Incoming()); len(left) > 0 {
		t.Fatalf(".incoming still holds %v", left)
	}
}

// wantNothing fails unless Updates_Pending holds no zip.
func wantNothing(t *testing.T, fx *feedFixture) {
	t.Helper()
	for _, n := range pending(t, fx.root) {
		if strings.HasSuffix(n, ".zip") {
			t.Fatalf("Updates_Pending holds %s, want no zip", n)
		}
	}
}

func TestFetchBringsTheNewestVersion(t *testing.T) {
	fx := blogFixture(t)
	res, err := Fetch(context.Background(), fx.opts(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Fetched) != 1 || res.Fetched[0].File != "blog-1.1.0.zip" || res.Serial != 1 || res.Fetched[0].Transferred != res.Fetched[0].Size {
		t.Fatalf("result %+v", res)
	}
	wantFetched(t, fx, "blog-1.1.0.zip")
	// .upkeep/feed.json records the serial per feed URL.
	st, err := LoadState(fx.root.FeedState())
	must(t, err)
	if rec := st.Feeds[fx.srv.URL+"/index.json"]; rec == nil || rec.Serial != 1 || len(rec.SHA256) != 64 {
		t.Fatalf("feed.json %+v", st.Feeds)
	}
	// Again: already pending, nothing downloaded.
	n := len(fx.srv.requests(".zip"))
	res, err = Fetch(context.Background(), fx.opts(t))
	if err != nil || len(res.Fetched) != 0 || !slices.Equal(res.Pending, []string{"blog-1.1.0.zip"}) {
		t.Fatalf("second fetch: %+v, %v", res, err)
	}
	if m := len(fx.srv.requests(".zip")); m != n {
		t.Fatalf("second fetch downloaded the zip again (%d requests, was %d)", m, n)
	}
}

func TestFetchResumesAfterDrops(t *testing.T) {
	for trial := range 5 {
		t.Run(fmt.Sprint(trial), func(t *testing.T) {
			fx := blogFixture(t)
			zipPath := filepath.Join(fx.dir, "blog-1.1.0.zip")
			info, _ := os.Stat(zipPath)
			at := 1 + rand.Int64N(info.Size()-2)
			dropped := false
			fx.srv.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
				if strings.HasSuffix(r.URL.Path, ".zip") && !dropped {
					dropped = true
					dropAfter(t, w, zipPath, at)
					return true
				}
				return false
			})
			res, err := Fetch(context.Background(), fx.opts(t))
			if err != nil {
				t.Fatal(err)
			}
			wantFetched(t, fx, "blog-1.1.0.zip")
			reqs := fx.srv.requests(".zip")
			if len(reqs) != 2 {
				t.Fatalf("%d requests for the zip, want 2", len(reqs))
			}
			if got, want := reqs[1].Header.Get("Range"), fmt.Sprintf("bytes=%d-", at); got != want {
				t.Fatalf("second request's Range %q, want %q", got, want)
			}
			if reqs[1].Header.Get("If-Range") == "" {
				t.Fatal("second request has no If-Range")
			}
			if f := res.Fetched[0]; f.Transferred != info.Size() {
				t.Fatalf("transferred %d bytes in all, want %d (resumed, not restarted)", f.Transferred, info.Size())
			}
		})
	}
}

func TestFetchResumesAcrossRuns(t *testing.T) {
	fx := blogFixture(t)
	zipPath := filepath.Join(fx.dir, "blog-1.1.0.zip")
	info, _ := os.Stat(zipPath)
	half := info.Size() / 2
	fx.srv.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if strings.HasSuffix(r.URL.Path, ".zip") {
			dropAfter(t, w, zipPath, half)
			return true
		}
		return false
	})
	opts := fx.opts(t)
	opts.Client.Retries = 1
	_, err := Fetch(context.Background(), opts)
	var de *DownloadError
	if !errors.As(err, &de) || !errors.Is(err, ErrDownload) {
		t.Fatalf("err %v, want a DownloadError", err)
	}
	wantNothing(t, fx)
	part := filepath.Join(fx.root.Incoming(), "blog-1.1.0.zip.part")
	if pi, err := os.Stat(part); err != nil || pi.Size() != half {
		t.Fatalf("part %v %v, want %d bytes", pi, err, half)
	}
	fx.srv.setHook(nil)
	res, err := Fetch(context.Background(), fx.opts(t))
	if err != nil {
		t.Fatal(err)
	}
	wantFetched(t, fx, "blog-1.1.0.zip")
	if f := res.Fetched[0]; f.Resumed != half || f.Transferred != info.Size()-half {
		t.Fatalf("resumed %d transferred %d, want %d and %d", f.Resumed, f.Transferred, half, info.Size()-half)
	}
	reqs := fx.srv.requests(".zip")
	if got := reqs[len(reqs)-1].Header.Get("Range"); got != fmt.Sprintf("bytes=%d-", half) {
		t.Fatalf("Range %q", got)
	}
}

func TestFetchStartsOverWhenRangeIsIgnored(t *testing.T) {
	fx := blogFixture(t)
	zipPath := filepath.Join(fx.dir, "blog-1.1.0.zip")
	info, _ := os.Stat(zipPath)
	dropped := false
	fx.srv.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !strings.HasSuffix(r.URL.Path, ".zip") {
			return false
		}
		if !dropped {
			dropped = true
			dropAfter(t, w, zipPath, 1000)
			return true
		}
		r.Header.Del("Range") // a server that ignores Range: 200 and the whole file
		next.ServeHTTP(w, r)
		return true
	})
	res, err := Fetch(context.Background(), fx.opts(t))
	if err != nil {
		t.Fatal(err)
	}
	wantFetched(t, fx, "blog-1.1.0.zip")
	if f := res.Fetched[0]; f.Transferred != 1000+info.Size() {
		t.Fatalf("transferred %d, want %d (started over)", f.Transferred, 1000+info.Size())
	}
}

func TestFetchStartsOverOnA206Elsewhere(t *testing.T) {
	fx := blogFixture(t)
	zipPath := filepath.Join(fx.dir, "blog-1.1.0.zip")
	data, _ := os.ReadFile(zipPath)
	n := 0
	fx.srv.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !strings.HasSuffix(r.URL.Path, ".zip") {
			return false
		}
		n++
		switch {
		case n == 1:
			dropAfter(t, w, zipPath, 5000)
		case r.Header.Get("Range") != "":
			// Answer a range that does not start where asked.
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 100-%d/%d", len(data)-1, len(data)))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data[100:])
		default:
			next.ServeHTTP(w, r)
		}
		return true
	})
	if _, err := Fetch(context.Background(), fx.opts(t)); err != nil {
		t.Fatal(err)
	}
	wantFetched(t, fx, "blog-1.1.0.zip")
	reqs := fx.srv.requests(".zip")
	if len(reqs) != 3 || reqs[1].Header.Get("Range") != "bytes=5000-" || reqs[2].Header.Get("Range") != "" {
		t.Fatalf("requests' ranges: %v", ranges(reqs))
	}
}

func ranges(reqs []*http.Request) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Header.Get("Range"))
	}
	return out
}

func TestFetchRefusesFlippedBytes(t *testing.T) {
	fx := blogFixture(t)
	zipPath := filepath.Join(fx.dir, "blog-1.1.0.zip")
	data, _ := os.ReadFile(zipPath)
	data[len(data)/2] ^= 0x40
	must(t, os.WriteFile(zipPath, data, 0o644))
	_, err := Fetch(context.Background(), fx.opts(t))
	if !errors.Is(err, ErrDownload) || !strings.Contains(err.Error(), "sha256 of the") || !strings.Contains(err.Error(), "blog-1.1.0.zip") {
		t.Fatalf("err %v, want a sha256 mismatch naming the zip", err)
	}
	wantNothing(t, fx)
	if left, _ := os.ReadDir(fx.root.Incoming()); len(left) > 0 {
		t.Fatalf("the bad bytes are kept in .incoming: %v", left)
	}
}

func TestFetchCutsOffALongerBody(t *testing.T) {
	fx := blogFixture(t)
	zipPath := filepath.Join(fx.dir, "blog-1.1.0.zip")
	data, _ := os.ReadFile(zipPath)
	fx.srv.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !strings.HasSuffix(r.URL.Path, ".zip") {
			return false
		}
		w.WriteHeader(http.StatusOK) // no Content-Length: the body ends when the server says
		w.Write(data)
		junk := make([]byte, 64<<10)
		for range 100 { // 6.4 MB more than announced
			if _, err := w.Write(junk); err != nil {
				break
			}
		}
		return true
	})
	if _, err := Fetch(context.Background(), fx.opts(t)); err != nil {
		t.Fatal(err)
	}
	wantFetched(t, fx, "blog-1.1.0.zip")
}

func TestFetchGivesUpOnAStall(t *testing.T) {
	fx := blogFixture(t)
	zipPath := filepath.Join(fx.dir, "blog-1.1.0.zip")
	data, _ := os.ReadFile(zipPath)
	release := make(chan struct{})
	defer close(release)
	fx.srv.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !strings.HasSuffix(r.URL.Path, ".zip") {
			return false
		}
		w.Header().Set("Content-Length", itoa(int64(len(data))))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:1000])
		w.(http.Flusher).Flush()
		select { // then nothing, for far longer than the stall timeout
		case <-release:
		case <-r.Context().Done():
		}
		return true
	})
	opts := fx.opts(t)
	opts.Client.StallTimeout = 300 * time.Millisecond
	opts.Client.Retries = 2
	start := time.Now()
	_, err := Fetch(context.Background(), opts)
	took := time.Since(start)
	if !errors.Is(err, ErrDownload) || !strings.Contains(err.Error(), "stalled: no data for 300ms") {
		t.Fatalf("err %v, want a stall", err)
	}
	// Two attempts of 300ms each, and a short backoff.
	if took > 3*time.Second {
		t.Fatalf("gave up after %s, want within about 2 stall timeouts", took)
	}
	wantNothing(t, fx)
}

func TestFetchHTTPFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hook     func(w http.ResponseWriter, r *http.Request) bool
		want     string
		attempts int
	}{
		{"404", func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, ".zip") {
				http.NotFound(w, r)
				return true
			}
			return false
		}, "HTTP 404 Not Found", 1},
		{"500", func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, ".zip") {
				http.Error(w, "boom", http.StatusInternalServerError)
				return true
			}
			return false
		}, "HTTP 500 Internal Server Error (gave up after 3 attempts in a row)", 3},
		{"redirect loop", func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, ".zip") {
				http.Redirect(w, r, r.URL.Path+"x.zip", http.StatusFound)
				return true
			}
			return false
		}, "stopped after 5 redirects", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := blogFixture(t)
			fx.srv.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool { return tc.hook(w, r) })
			_, err := Fetch(context.Background(), fx.opts(t))
			if !errors.Is(err, ErrDownload) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "blog-1.1.0.zip") {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if n := len(fx.srv.requests(".zip")); n != tc.attempts {
				t.Fatalf("%d requests, want %d", n, tc.attempts)
			}
			wantNothing(t, fx)
		})
	}
}
