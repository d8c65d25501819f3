package main

import (
	"crypto/rand"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// slowWriter slows a response down so that a kill lands mid-transfer.
type slowWriter struct{ http.ResponseWriter }

func (w slowWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return w.ResponseWriter.Write(p)
}

// TestFeedFetchSurvivesSIGKILL kills `upkeep feed fetch` at random
// instants of a large download, 30 times: Updates_Pending never holds a
// zip that is not whole, and the next fetch resumes and completes.
func TestFeedFetchSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	work := t.TempDir()
	src, zips, feedDir, root := filepath.Join(work, "src"), filepath.Join(work, "zips"), filepath.Join(work, "feed"), filepath.Join(work, "root")
	for _, d := range []string{src, zips} {
		os.MkdirAll(d, 0o755)
	}
	initRoot(t, root)
	os.WriteFile(filepath.Join(src, "manifest.json"), []byte(`{"format": 1, "pack": "big", "version": "1.0.0"}`), 0o644)
	payload := make([]byte, 8<<20)
	rand.Read(payload)
	os.WriteFile(filepath.Join(src, "payload.bin"), payload, 0o644)
	run(t, work, "keys", "generate", "--unencrypted", "--name", "k").want(t, 0, nil, nil)
	run(t, ".", "pack", src, "-o", filepath.Join(zips, "big-1.0.0.zip")).want(t, 0, nil, nil)
	run(t, work, "feed", "build", zips, "-o", feedDir, "--sign", filepath.Join(work, "k.key")).want(t, 0, nil, nil)
	run(t, root, "keys", "trust", filepath.Join(work, "k.pub")).want(t, 0, nil, nil)
	want, _ := os.ReadFile(filepath.Join(feedDir, "big-1.0.0.zip"))

	files := http.FileServer(http.Dir(feedDir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		files.ServeHTTP(slowWriter{w}, r)
	}))
	defer srv.Close()

	pending := filepath.Join(root, "Updates_Pending")
	check := func(trial int) (completed, midway bool) {
		t.Helper()
		entries, _ := os.ReadDir(pending)
		for _, e := range entries {
			name := e.Name()
			switch {
			case name == ".incoming":
			case strings.HasSuffix(name, ".zip"):
				got, _ := os.ReadFile(filepath.Join(pending, name))
				if string(got) != string(want) {
					t.Fatalf("trial %d: Updates_Pending/%s holds %d bytes that are not the zip (%d bytes)", trial, name, len(got), len(want))
				}
				completed = true
			case name == "big-1.0.0.zip.minisig":
			default:
				t.Fatalf("trial %d: Updates_Pending holds %s", trial, name)
			}
		}
		if info, err := os.Stat(filepath.Join(pending, ".incoming", "big-1.0.0.zip.part")); err == nil && info.Size() > 0 && !completed {
			midway = true
		}
		return completed, midway
	}
	var completed, midway int
	for trial := range 30 {
		cmd := exec.Command(upkeepBin, "feed", "fetch", "--feed", srv.URL+"/", "--pack", "big", "-q")
		cmd.Dir = root
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(mrand.IntN(600)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		c, m := check(trial)
		if c {
			completed++
			// Take it away, so that the next trials download it again.
			os.Remove(filepath.Join(pending, "big-1.0.0.zip"))
		} else if m {
			midway++
		}
	}
	t.Logf("30 kills: %d mid-download, %d after the zip was complete", midway, completed)
	if midway < 10 {
		t.Fatalf("only %d of 30 kills landed mid-download", midway)
	}
	r := run(t, root, "feed", "fetch", "--feed", srv.URL+"/", "--pack", "big")
	r.want(t, 0, []string{"fetched big-1.0.0.zip"}, nil)
	if c, _ := check(30); !c {
		t.Fatal("the last fetch did not complete the zip")
	}
}
