// Command admin measures the live side: how soon a zip renamed into
// Updates_Pending reaches the pages' event stream, that a zip written
// slowly is never reported ready early, how fast the overview and report
// pages are served to 20 clients at once with 200 pending zips and 50
// backups, and what an idle `upkeep serve` costs.
//
//	go run ./bench/admin [-zips 200] [-backups 50] [-clients 20] [-requests 100] [-idle 30s]
//
// Everything is made in a temporary folder and removed at the end. The
// pages run in this process on 127.0.0.1; the idle measure runs the
// built upkeep binary.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/upkeep/upkeep/admin"
	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/bench/internal/paired"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/manifest"
	"github.com/upkeep/upkeep/updates"
)

func main() {
	zips := flag.Int("zips", 200, "pending update zips")
	backups := flag.Int("backups", 50, "backups in Updates_Backups")
	clients := flag.Int("clients", 20, "concurrent clients")
	requests := flag.Int("requests", 100, "requests per client and page")
	renames := flag.Int("renames", 21, "zips renamed in for the event latency")
	idle := flag.Duration("idle", 30*time.Second, "how long to watch an idle upkeep serve")
	flag.Parse()
	tmp, err := os.MkdirTemp("", "bench-admin-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	fmt.Println("machine: 2 cores, shared with other work; figures are medians")

	root := filepath.Join(tmp, "root")
	must(layout.Root{Dir: root}.Ensure())
	src := filepath.Join(tmp, "src")
	for i := range *zips {
		name := fmt.Sprintf("p%03d", i)
		must(writePackZip(src, name, filepath.Join(root, "Updates_Pending", name+"-1.0.0.zip")))
	}
	for range *backups {
		_, err := backupstore.Create(context.Background(), backupstore.CreateOptions{Root: layout.Root{Dir: root}, Reason: "bench", DB: backupstore.DBNone})
		must(err)
	}
	fmt.Printf("root: %d pending zips, %d backups\n", *zips, *backups)

	s, err := admin.New(admin.Options{Options: updates.Options{ScanOptions: updates.ScanOptions{Root: root}}})
	must(err)
	ln, err := admin.Listen("127.0.0.1:0", false)
	must(err)
	hs := &http.Server{Handler: s}
	go hs.Serve(ln)
	base := "http://" + ln.Addr().String()
	token := s.Token()

	pageLoad(base, token, *clients, *requests)
	eventLatency(base, token, root, src, *renames)
	slowCopy(base, token, root, src)
	hs.Close()
	s.Close()
	idleServe(tmp, root, *idle)
}

// writePackZip writes a small pack named name as an update zip at out.
func writePackZip(src, name, out string) error {
	dir := filepath.Join(src, name)
	if err := os.MkdirAll(filepath.Join(dir, "migrations"), 0o755); err != nil {
		return err
	}
	m := fmt.Sprintf(`{"format": 1, "pack": %q, "version": "1.0.0", "title": "Pack %s", "whats_new": "Everything is new.",
 "database": {"tables": ["%s_items"], "changes": "Creates table %s_items."}}`, name, name, name, name)
	files := map[string]string{
		"manifest.json":                         m,
		"index.html":                            "<p>" + strings.Repeat(name+" ", 200) + "</p>\n",
		"migrations/0001_create_items.up.sql":   fmt.Sprintf("CREATE TABLE %s_items (id INTEGER PRIMARY KEY);\n", name),
		"migrations/0001_create_items.down.sql": fmt.Sprintf("DROP TABLE %s_items;\n", name),
	}
	for p, c := range files {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			return err
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := manifest.Build(dir, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func bearer(req *http.Request, token string) {
	req.Header.Set("Authorization", "Bearer "+token)
}

// pageLoad serves the overview, the pending updates page and the report
// document to clients at once, logged in with a session cookie, gzip on.
func pageLoad(base, token string, clients, requests int) {
	// A browser's session cookie: log in once.
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true}}
	resp, err := c.Get(base + "/login?token=" + token)
	must(err)
	resp.Body.Close()
	var cookie string
	for _, ck := range resp.Cookies() {
		cookie = ck.Name + "=" + ck.Value
	}
	for _, page := range []string{"/", "/pending", "/api/report"} {
		get := func() (time.Duration, int) {
			req, _ := http.NewRequest("GET", base+page, nil)
			req.Header.Set("Cookie", cookie)
			req.Header.Set("Accept-Encoding", "gzip")
			start := time.Now()
			resp, err := c.Do(req)
			must(err)
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				log.Fatalf("GET %s: %s", page, resp.Status)
			}
			return time.Since(start), int(n)
		}
		_, size := get() // warm: first render
		var mu sync.Mutex
		var lat []float64
		var wg sync.WaitGroup
		start := time.Now()
		for range clients {
			wg.Go(func() {
				for range requests {
					d, _ := get()
					mu.Lock()
					lat = append(lat, paired.Ms(d))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		took := time.Since(start)
		sort.Float64s(lat)
		med, p99 := paired.Median(lat), lat[len(lat)*99/100]
		fmt.Printf("GET %-12s %d clients x %d: median %.2f ms, p99 %.2f ms (%.0f req/s, %d bytes gzipped): %s\n",
			page, clients, requests, med, p99, float64(len(lat))/took.Seconds(), size, paired.Verdict(med < 20 && p99 < 100))
	}
}

// events opens the event stream and sends each event's name and data.
func events(ctx context.Context, base, token string) <-chan [2]string {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/events", nil)
	bearer(req, token)
	resp, err := http.DefaultClient.Do(req)
	must(err)
	out := make(chan [2]string, 100)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var name string
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				name = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok {
				select {
				case out <- [2]string{name, v}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

type scanEvent struct {
	Files []updates.FileChange `json:"files"`
}

// waitFile waits for a scan event that says file has status; it returns
// every status the file had on the way.
func waitFile(ev <-chan [2]string, file, status string, limit time.Duration) (time.Time, []string, error) {
	deadline := time.After(limit)
	var seen []string
	for {
		select {
		case e := <-ev:
			if e[0] != "scan" {
				continue
			}
			var s scanEvent
			json.Unmarshal([]byte(e[1]), &s)
			for _, f := range s.Files {
				if f.File == file {
					seen = append(seen, f.Status)
					if f.Status == status {
						return time.Now(), seen, nil
					}
				}
			}
		case <-deadline:
			return time.Time{}, seen, fmt.Errorf("%s not %s within %s (saw %v)", file, status, limit, seen)
		}
	}
}

// eventLatency renames fresh zips into Updates_Pending, as a copy tool
// that writes NAME.zip.part first does, and times each to its event.
func eventLatency(base, token, root, src string, n int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev := events(ctx, base, token)
	var lat []float64
	for i := range n {
		name := fmt.Sprintf("new%03d", i)
		part := filepath.Join(root, "Updates_Pending", name+"-1.0.0.zip.part")
		must(writePackZip(src, name, part))
		f, err := os.Open(part)
		must(err)
		must(f.Sync())
		f.Close()
		start := time.Now() // the last byte is written and synced
		must(os.Rename(part, strings.TrimSuffix(part, ".part")))
		at, _, err := waitFile(ev, name+"-1.0.0.zip", "ready", 10*time.Second)
		must(err)
		lat = append(lat, paired.Ms(at.Sub(start)))
		time.Sleep(200 * time.Millisecond)
	}
	sort.Float64s(lat)
	med := paired.Median(lat)
	fmt.Printf("rename into Updates_Pending -> \"ready\" event: median %.0f ms, min %.0f, max %.0f over %d: %s\n",
		med, lat[0], lat[len(lat)-1], n, paired.Verdict(med < 1000))
}

// slowCopy writes a zip straight into Updates_Pending over 3 seconds and
// checks that it is never reported ready (or invalid) before its last byte.
func slowCopy(base, token, root, src string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev := events(ctx, base, token)
	tmp := filepath.Join(src, "slow.zip")
	must(writePackZip(src, "slow", tmp))
	data, err := os.ReadFile(tmp)
	must(err)
	dst := filepath.Join(root, "Updates_Pending", "slow-1.0.0.zip")
	f, err := os.Create(dst)
	must(err)
	const steps = 30
	type report struct {
		at     time.Time
		status string
	}
	var mu sync.Mutex
	var reports []report
	done := make(chan struct{})
	go func() {
		for {
			select {
			case e := <-ev:
				if e[0] != "scan" {
					continue
				}
				var s scanEvent
				json.Unmarshal([]byte(e[1]), &s)
				for _, fc := range s.Files {
					if fc.File == "slow-1.0.0.zip" {
						mu.Lock()
						reports = append(reports, report{time.Now(), fc.Status})
						mu.Unlock()
					}
				}
			case <-done:
				return
			}
		}
	}()
	for i := range steps {
		_, err := f.Write(data[len(data)*i/steps : len(data)*(i+1)/steps])
		must(err)
		time.Sleep(3 * time.Second / steps)
	}
	last := time.Now()
	must(f.Close())
	deadline := time.Now().Add(10 * time.Second)
	var readyAt time.Time
	for time.Now().Before(deadline) && readyAt.IsZero() {
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		for _, r := range reports {
			if r.status == "ready" {
				readyAt = r.at
			}
		}
		mu.Unlock()
	}
	close(done)
	early := false
	var statuses []string
	for _, r := range reports {
		statuses = append(statuses, r.status)
		if r.at.Before(last) && r.status != "incomplete" {
			early = true
		}
	}
	fmt.Printf("zip written over 3 s: statuses %v; ready %.0f ms after the last byte; never ready early: %s\n",
		statuses, paired.Ms(readyAt.Sub(last)), paired.Verdict(!early && !readyAt.IsZero()))
}

// idleServe runs the upkeep binary's serve on the root and reads its CPU
// time and resident memory from /proc while nobody asks anything.
func idleServe(tmp, root string, d time.Duration) {
	bin := filepath.Join(tmp, "upkeep")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	must(build.Run())
	cmd := exec.Command(bin, "serve", "--root", root, "--listen", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	must(err)
	must(cmd.Start())
	defer cmd.Process.Kill()
	line, _ := bufio.NewReader(stderr).ReadString('\n')
	m := regexp.MustCompile(`http://([0-9.:]+)/`).FindStringSubmatch(line)
	if m == nil {
		log.Fatalf("serve printed %q", line)
	}
	// One visit first, as an admin would make, then nothing.
	conn, err := net.Dial("tcp", m[1])
	must(err)
	conn.Close()
	time.Sleep(3 * time.Second)
	cpu0 := cpuTime(cmd.Process.Pid)
	start := time.Now()
	time.Sleep(d)
	used := cpuTime(cmd.Process.Pid) - cpu0
	share := used.Seconds() / time.Since(start).Seconds() * 100
	rss := rssBytes(cmd.Process.Pid)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	fmt.Printf("idle upkeep serve (%d pending zips) over %s: %.2f%% of a core, %.1f MB resident: %s\n",
		200, d, share, float64(rss)/1e6, paired.Verdict(share < 1 && rss < 40e6))
}

// cpuTime is the user and system time of pid, from /proc/PID/stat.
func cpuTime(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	must(err)
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// rssBytes is the resident memory of pid, from /proc/PID/status.
func rssBytes(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	must(err)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
