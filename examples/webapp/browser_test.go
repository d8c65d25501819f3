package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/upkeep/upkeep/manifest"
)

// chromium is Debian's Chromium; CI installs it (scripts/test.sh).
const chromium = "/usr/bin/chromium"

// webapp runs the example application, built from this folder, on a
// fresh root, and returns its address and admin token.
func webapp(t *testing.T, root string) (base, token string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "webapp")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-root", root, "-listen", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	line := regexp.MustCompile(`admin pages at (http://[0-9.:]+)/admin/login\?token=([0-9a-f]+)`)
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Log(sc.Text())
			if m := line.FindStringSubmatch(sc.Text()); m != nil {
				found <- m
			}
		}
	}()
	select {
	case m := <-found:
		return m[1], m[2]
	case <-time.After(60 * time.Second):
		t.Fatal("the webapp did not print its admin link within 60s")
	}
	return "", ""
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// In real Chromium: log in with the token, migrate the application's own
// database (its routes answer 503 until then), watch a zip copied slowly
// into Updates_Pending show as copying and then ready without a reload,
// press install, follow its progress to the result, and find the pack
// installed on disk.
func TestBrowserInstallsAZipCopiedIntoUpdatesPending(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("UPKEEP_TEST_REQUIRE") == "1" {
			t.Fatalf("UPKEEP_TEST_REQUIRE=1 and no %s: %v", chromium, err)
		}
		t.Skipf("no %s: %v", chromium, err)
	}
	root := t.TempDir()
	base, token := webapp(t, root)
	if code, _ := get(t, base+"/"); code != http.StatusServiceUnavailable {
		t.Fatalf("the app before its migration: %d, want 503", code)
	}

	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 120*time.Second)
	defer cancel()

	// Log in with the token, through the login form.
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/"),
		chromedp.WaitVisible(`#login`),
		chromedp.SendKeys(`input[name=token]`, token),
		chromedp.Click(`#login`),
		chromedp.WaitVisible(`#packs`),
	)
	if err != nil {
		t.Fatalf("log in: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if title != "upkeep: overview" {
		t.Fatalf("after login: title %q", title)
	}
	// The application's own pack waits for its migration: migrate.
	err = chromedp.Do(ctx,
		chromedp.WaitVisible(`tr[data-pack="webapp"][data-state="behind"]`),
		chromedp.Click(`#migrate`),
		chromedp.WaitVisible(`#action[data-state="done"]`),
	)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	result, err := chromedp.Run(ctx, chromedp.Text(`#result`))
	if err != nil {
		t.Fatal(err)
	}
	// The result reads as a page, not as JSON.
	if !strings.Contains(result, "webapp 1_create_notes") || strings.Contains(result, "{") {
		t.Fatalf("migrate result: %s", result)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(`#result #schemas tr[data-pack="webapp"]`)); err != nil {
		t.Fatalf("migrate result's schema table: %v", err)
	}
	time.Sleep(1100 * time.Millisecond) // Guard looks again once a second
	if code, body := get(t, base+"/"); code != 200 || !strings.Contains(body, "No notes yet") {
		t.Fatalf("the app after its migration: %d %s", code, body)
	}

	// Open the pending page, mark the window, and copy a zip in slowly.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/pending"),
		chromedp.WaitVisible(`li.none`),
	)
	if err != nil {
		t.Fatalf("pending page: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.upkeepMarker = true`)); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "core.zip")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := manifest.Build(filepath.Join("..", "core"), f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	data, _ := os.ReadFile(src)
	dst := filepath.Join(root, "Updates_Pending", "core-2.1.0.zip")
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	copied := make(chan error, 1)
	go func() {
		const steps = 20
		for i := range steps {
			if _, err := out.Write(data[len(data)*i/steps : len(data)*(i+1)/steps]); err != nil {
				copied <- err
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		copied <- out.Close()
	}()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(`li[data-file="core-2.1.0.zip"][data-status="incomplete"]`)); err != nil {
		t.Fatalf("copying: %v", err)
	}
	copying, err := chromedp.Run(ctx, chromedp.Text(`li[data-file="core-2.1.0.zip"] .status`))
	if err != nil {
		t.Fatal(err)
	}
	if copying != "copying" {
		t.Fatalf("a zip being copied shows %q, want copying", copying)
	}
	if err := <-copied; err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(`li[data-file="core-2.1.0.zip"][data-status="ready"]`)); err != nil {
		t.Fatalf("ready: %v", err)
	}
	marker, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.upkeepMarker === true`))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "pending.png")
	if !marker {
		t.Fatal("the page was reloaded; it should have changed by itself")
	}

	// Install, and follow it to the end.
	err = chromedp.Do(ctx,
		chromedp.Click(`#install`),
		chromedp.WaitVisible(`#action[data-kind="install"]`),
		chromedp.WaitVisible(`#action[data-state="done"]`),
	)
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	state, err := chromedp.Run(ctx, chromedp.Text(`#action .state`))
	if err != nil {
		t.Fatal(err)
	}
	progress, err := chromedp.Run(ctx, chromedp.Text(`#progress`))
	if err != nil {
		t.Fatal(err)
	}
	if result, err = chromedp.Run(ctx, chromedp.Text(`#result`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "action.png")
	installed, err := chromedp.Run(ctx, chromedp.Text(`#result #installed tr[data-pack="core"]`))
	if err != nil {
		t.Fatal(err)
	}
	if state != "done" || !strings.Contains(progress, "backup") || !strings.Contains(result, "Installed batch") || strings.Contains(result, "{") ||
		!strings.Contains(installed, "new pack") || !strings.Contains(installed, "2.1.0") || !strings.Contains(installed, "core-2.1.0.zip") {
		t.Fatalf("install: state %q\nprogress %s\nresult %s\ninstalled row %s", state, progress, result, installed)
	}
	if _, err := os.Stat(filepath.Join(root, "packs", "core", "templates", "layout.html")); err != nil {
		t.Fatalf("the pack is not on disk: %v", err)
	}
	if moved, _ := filepath.Glob(filepath.Join(root, "Updates_Installed", "core-2.1.0_*.zip")); len(moved) != 1 {
		t.Fatalf("Updates_Installed: %v", moved)
	}
	// The pending page, opened again, says nothing is pending.
	err = chromedp.Do(ctx, chromedp.Navigate(base+"/admin/pending"), chromedp.WaitVisible(`li.none`))
	if err != nil {
		t.Fatalf("pending after install: %v", err)
	}

	// Restore the export of the application's tables that the migration
	// took: the confirmation names what is lost, and afterwards the
	// application's table is gone again, so Guard closes it.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/backups"),
		chromedp.WaitVisible(`tr[data-kind="db export"]`),
		chromedp.Click(`tr[data-kind="db export"] a`),
		chromedp.WaitVisible(`#restore`),
	)
	if err != nil {
		t.Fatalf("restore confirmation: %v", err)
	}
	what, err := chromedp.Run(ctx, chromedp.Text(`#what`))
	if err != nil {
		t.Fatal(err)
	}
	lost, err := chromedp.Run(ctx, chromedp.Text(`ul.lost`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(what, "of the pack webapp go back") || !strings.Contains(lost, "Migration webapp 1_create_notes (up,") {
		t.Fatalf("confirmation:\n%s\n%s", what, lost)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(`#restore`),
		chromedp.WaitVisible(`#action[data-kind="restore"][data-state="done"]`),
		chromedp.WaitVisible(`#restored`),
	)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	time.Sleep(1100 * time.Millisecond) // Guard looks again once a second
	if code, _ := get(t, base+"/"); code != http.StatusServiceUnavailable {
		t.Fatalf("the app after its tables went back to before its migration: %d, want 503", code)
	}
}

// screenshot saves the page as a phone shows it into the folder named by
// UPKEEP_TEST_SCREENSHOTS, when set, for a person to look at.
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("UPKEEP_TEST_SCREENSHOTS")
	if dir == "" {
		return
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
