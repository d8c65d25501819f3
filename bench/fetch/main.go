// Command fetch benchmarks `upkeep feed fetch` (updates.Fetch) against
// `curl -s -o F URL` followed by `sync F`, paired and alternating, on one
// update zip (400 MB by default, random, generated at run time in /tmp)
// served by Go's file server on loopback. upkeep's side checks the signed
// index, downloads into .incoming, hashes (sha256 and the signature's
// BLAKE2b-512) while the bytes arrive, checks the zip's manifest, fsyncs
// and renames; curl's side only writes the bytes, and sync makes them
// durable. Each side runs as its own process, so its wall time and peak RSS
// (VmHWM, read by the child itself) are its own; before each run the previous output
// is removed and `sync` writes back what is dirty, outside the timing.
//
// It also measures a resume: a fetch whose connection is cut at 50%, then
// the next fetch, and how many bytes of the zip that one transfers.
//
//	go run ./bench/fetch [-size MB] [-pairs N] [-dir DIR]
//	go run ./bench/fetch -child -root R -url URL [-cpuprofile F]   # one fetch
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/upkeep/upkeep/bench/internal/paired"
	"github.com/upkeep/upkeep/feed"
	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/manifest"
	"github.com/upkeep/upkeep/updates"
)

func main() {
	sizeMB := flag.Int("size", 400, "size of the zip's payload in MB")
	pairs := flag.Int("pairs", 5, "number of paired runs")
	dir := flag.String("dir", "/tmp/upkeep-bench-fetch", "work folder (the zip is generated here when missing)")
	child := flag.Bool("child", false, "run one fetch into -root from -url and exit (the measured side)")
	rootDir := flag.String("root", "", "with -child: the root")
	url := flag.String("url", "", "with -child: the feed")
	cpuprofile := flag.String("cpuprofile", "", "with -child: write a CPU profile here")
	serve := flag.String("serve", "", "only serve the feed on `ADDR` (to profile a -child by hand)")
	flag.Parse()

	if *serve != "" {
		feedDir, _ := prepare(*dir, *sizeMB)
		check(http.ListenAndServe(*serve, http.FileServer(http.Dir(feedDir))))
	}

	if *child {
		if *cpuprofile != "" {
			f, err := os.Create(*cpuprofile)
			check(err)
			check(pprof.StartCPUProfile(f))
			defer pprof.StopCPUProfile()
		}
		res, err := updates.Fetch(context.Background(), updates.FetchOptions{
			ScanOptions: updates.ScanOptions{Root: *rootDir},
			FeedOptions: updates.FeedOptions{Feed: *url, Packs: []string{"big"}, Client: feed.Client{Retries: 1}},
		})
		// First the peak memory of this process's own address space:
		// rusage's ru_maxrss of a child also counts the parent's peak, which
		// the child shared until exec (Go starts children with CLONE_VM).
		fmt.Printf("vmhwm %d\n", vmHWM())
		if res != nil {
			json.NewEncoder(os.Stdout).Encode(res)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			pprof.StopCPUProfile()
			os.Exit(1)
		}
		return
	}

	feedDir, pub := prepare(*dir, *sizeMB)
	zipName := "big-1.0.0.zip"
	info, err := os.Stat(filepath.Join(feedDir, zipName))
	check(err)
	size := info.Size()

	// The server: Go's file server; it counts the zip's bytes it sends and,
	// when armed, cuts the next zip transfer at half.
	var sent atomic.Int64
	var cut atomic.Bool
	files := http.FileServer(http.Dir(feedDir))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ".zip") {
			files.ServeHTTP(w, r)
			return
		}
		cw := &countingWriter{ResponseWriter: w, n: &sent, limit: -1}
		if cut.Swap(false) {
			cw.limit = size / 2
		}
		files.ServeHTTP(cw, r)
		if cw.limit >= 0 && cw.written >= cw.limit {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
		}
	}))
	base := "http://" + ln.Addr().String() + "/"
	self, err := os.Executable()
	check(err)

	curlOut := filepath.Join(*dir, "curl.out")
	root := filepath.Join(*dir, "root")
	clean := func() {
		os.Remove(curlOut)
		os.RemoveAll(root)
		r, err := layout.Open(root)
		check(err)
		check(r.Ensure())
		_, err = signing.Trust(pub, r.Trusted())
		check(err)
		check(exec.Command("sync").Run())
	}
	runCurl := func() (time.Duration, int64) {
		clean()
		d1, rss, err := paired.Run(exec.Command("curl", "-s", "-o", curlOut, base+zipName))
		check(err)
		d2, _, err := paired.Run(exec.Command("sync", curlOut))
		check(err)
		return d1 + d2, rss
	}
	fetchOnce := func() (time.Duration, int64, error) {
		cmd := exec.Command(self, "-child", "-root", root, "-url", base)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, os.Stderr
		d, rss, err := paired.Run(cmd)
		var hwm int64
		if _, serr := fmt.Sscanf(out.String(), "vmhwm %d", &hwm); serr == nil && hwm > 0 {
			rss = hwm
		}
		return d, rss, err
	}
	runUpkeep := func() (time.Duration, int64) {
		clean()
		d, rss, err := fetchOnce()
		check(err)
		got, err := os.Stat(filepath.Join(root, layout.PendingDir, zipName))
		check(err)
		if got.Size() != size {
			panic("fetched zip has the wrong size")
		}
		return d, rss
	}

	fmt.Printf("fetch of a %s zip from %s (Go's file server, loopback), %d pairs, alternating\n", progressBytes(size), base, *pairs)
	var ups, curls, ratios []float64
	var maxRSS int64
	for i := range *pairs {
		var du, dc time.Duration
		var rss int64
		if i%2 == 0 {
			du, rss = runUpkeep()
			dc, _ = runCurl()
		} else {
			dc, _ = runCurl()
			du, rss = runUpkeep()
		}
		maxRSS = max(maxRSS, rss)
		ups = append(ups, paired.Ms(du))
		curls = append(curls, paired.Ms(dc))
		ratios = append(ratios, paired.Ms(du)/paired.Ms(dc))
		fmt.Printf("  pair %d: upkeep %.0f ms (peak RSS %.1f MB), curl+sync %.0f ms, ratio %.2f\n", i+1, paired.Ms(du), float64(rss)/1e6, paired.Ms(dc), ratios[i])
	}
	ratio := paired.Median(ratios)
	fmt.Printf("median: upkeep %.0f ms, curl -s -o F + sync F %.0f ms; median paired ratio %.2fx (goal <= 1.25x: %s)\n",
		paired.Median(ups), paired.Median(curls), ratio, paired.Verdict(ratio <= 1.25))
	fmt.Printf("peak RSS of upkeep: %.1f MB (goal < 50 MB: %s)\n", float64(maxRSS)/1e6, paired.Verdict(maxRSS < 50e6))

	// Resume: cut at 50%, then fetch again.
	clean()
	cut.Store(true)
	sent.Store(0)
	if _, _, err := fetchOnce(); err == nil {
		panic("the cut fetch succeeded")
	}
	first := sent.Swap(0)
	d, _, err := fetchOnce()
	check(err)
	second := sent.Load()
	frac := float64(second) / float64(size)
	fmt.Printf("resume: the cut fetch brought %s (%.0f%%), the next one %s (%.1f%% of the zip) in %.0f ms (goal <= 55%%: %s)\n",
		progressBytes(first), 100*float64(first)/float64(size), progressBytes(second), 100*frac, paired.Ms(d), paired.Verdict(frac <= 0.55))
}

// countingWriter counts the bytes of a response, and stops writing at
// limit (>= 0).
type countingWriter struct {
	http.ResponseWriter
	n       *atomic.Int64
	limit   int64
	written int64
}

// ReadFrom keeps the file server's sendfile(2) path when no cut is armed:
// without it, the wrapper would make the server copy every byte through
// user space, on the cores the fetch is measured on.
func (w *countingWriter) ReadFrom(src io.Reader) (int64, error) {
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	if w.limit >= 0 || !ok {
		return io.Copy(struct{ io.Writer }{w}, src)
	}
	n, err := rf.ReadFrom(src)
	w.written += n
	w.n.Add(n)
	return n, err
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.limit >= 0 && w.written+int64(len(p)) > w.limit {
		p = p[:w.limit-w.written]
		n, _ := w.ResponseWriter.Write(p)
		w.written += int64(n)
		w.n.Add(int64(n))
		return n, io.ErrClosedPipe
	}
	n, err := w.ResponseWriter.Write(p)
	w.written += int64(n)
	w.n.Add(int64(n))
	return n, err
}

// prepare makes (once) the zip of a pack "big" with sizeMB of random
// payload, a key, and a signed feed of it; it returns the feed folder and
// the public key.
func prepare(dir string, sizeMB int) (feedDir, pub string) {
	check(os.MkdirAll(dir, 0o755))
	feedDir = filepath.Join(dir, "feed")
	zips := filepath.Join(dir, "zips")
	pub, sec := filepath.Join(dir, "k.pub"), filepath.Join(dir, "k.key")
	stamp := filepath.Join(dir, fmt.Sprintf("ready-%d", sizeMB))
	if _, err := os.Stat(stamp); err == nil {
		return feedDir, pub
	}
	fmt.Fprintf(os.Stderr, "generating a %d MB update zip in %s\n", sizeMB, dir)
	for _, d := range []string{feedDir, zips} {
		os.RemoveAll(d)
	}
	os.Remove(pub)
	os.Remove(sec)
	src := filepath.Join(dir, "src")
	os.RemoveAll(src)
	check(os.MkdirAll(src, 0o755))
	check(os.MkdirAll(zips, 0o755))
	check(os.WriteFile(filepath.Join(src, "manifest.json"), []byte(`{"format": 1, "pack": "big", "version": "1.0.0"}`), 0o644))
	f, err := os.Create(filepath.Join(src, "payload.bin"))
	check(err)
	_, err = io.CopyN(f, rand.Reader, int64(sizeMB)<<20)
	check(err)
	check(f.Close())
	z, err := os.Create(filepath.Join(zips, "big-1.0.0.zip"))
	check(err)
	_, err = manifest.Build(src, z)
	check(err)
	check(z.Close())
	os.RemoveAll(src)
	_, err = signing.GenerateKey(pub, sec, "")
	check(err)
	_, err = feed.Build(feed.BuildOptions{ZipDir: zips, OutDir: feedDir, SignKey: sec, App: "bench", Expiry: 365 * 24 * time.Hour})
	check(err)
	os.RemoveAll(zips)
	check(os.WriteFile(stamp, nil, 0o644))
	return feedDir, pub
}

// vmHWM is the peak resident memory of this process in bytes, from
// /proc/self/status (Linux); 0 where unknown.
func vmHWM() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

func progressBytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
