// Command checkupdates benchmarks `upkeep --check-updates` on a root with 20
// installed packs and (a) nothing pending, (b) 200 pending zips of 5 MB.
//
// It builds upkeep, makes both roots (once: they are kept in -dir), then runs
// the two cases alternately, paired, and prints each case's median wall time
// and peak resident memory, and the median of the paired ratios b/a.
//
//	go run ./bench/checkupdates [-runs 21] [-dir /tmp/upkeep-bench-check]
//
// Goals (issue "Foundation"): ratio b/a at most 3, peak memory under 50 MB.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/upkeep/upkeep/bench/internal/paired"
	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/manifest"
)

const (
	installedPacks = 20
	pendingZips    = 200
	zipBytes       = 5 << 20
)

func main() {
	runs := flag.Int("runs", 21, "paired runs")
	dir := flag.String("dir", filepath.Join(os.TempDir(), "upkeep-bench-check"), "where the roots are made and kept")
	flag.Parse()
	log.SetFlags(0)

	bin := filepath.Join(*dir, "upkeep")
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		log.Fatalf("build upkeep: %v", err)
	}
	rootA, rootB := filepath.Join(*dir, "a-nothing-pending"), filepath.Join(*dir, "b-200-pending")
	for _, r := range []struct {
		dir     string
		pending int
	}{{rootA, 0}, {rootB, pendingZips}} {
		if err := makeRoot(r.dir, r.pending); err != nil {
			log.Fatal(err)
		}
		// The installed packs' migrations have run, as on any root upkeep
		// installed them on (a no-op once done).
		migrate := exec.Command(bin, "--root", r.dir, "--ignore-updates", "--migrate-db", "--no-backup", "--quiet")
		migrate.Stderr = os.Stderr
		if err := migrate.Run(); err != nil {
			log.Fatalf("migrate %s: %v", r.dir, err)
		}
	}

	// Warm the page cache and check that each case does what it should.
	checkRun(bin, rootA, 0)
	checkRun(bin, rootB, 3)

	var ta, tb, ratios []float64
	var rssA, rssB int64
	for i := 0; i < *runs; i++ {
		a, ma := timeRun(bin, rootA, 0)
		b, mb := timeRun(bin, rootB, 3)
		ta, tb = append(ta, a), append(tb, b)
		ratios = append(ratios, b/a)
		rssA, rssB = max(rssA, ma), max(rssB, mb)
	}
	fmt.Printf("upkeep --check-updates, 20 installed packs, %d paired runs\n", *runs)
	fmt.Printf("  (a) nothing pending:        median %7.2f ms   peak RSS %5.1f MB\n", paired.Median(ta), mb(rssA))
	fmt.Printf("  (b) 200 pending zips, 5 MB: median %7.2f ms   peak RSS %5.1f MB\n", paired.Median(tb), mb(rssB))
	fmt.Printf("  paired ratio b/a: median %.2f (min %.2f, max %.2f); goal <= 3\n", paired.Median(ratios), minOf(ratios), maxOf(ratios))
	fmt.Printf("  peak memory goal < 50 MB: %s\n", paired.Verdict(mb(max(rssA, rssB)) < 50))
	fmt.Printf("  ratio goal: %s\n", paired.Verdict(paired.Median(ratios) <= 3))
}

// timeRun runs upkeep --check-updates on root and returns its wall time in
// milliseconds and its peak resident memory in bytes.
func timeRun(bin, root string, wantCode int) (float64, int64) {
	cmd := exec.Command(bin, "--check-updates", "--root", root)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	elapsed, rss, err := paired.Run(cmd)
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		log.Fatal(err)
	}
	if code != wantCode {
		log.Fatalf("%s: exit %d, want %d", root, code, wantCode)
	}
	return paired.Ms(elapsed), rss
}

// checkRun runs upkeep once and checks its report: every zip ready.
func checkRun(bin, root string, wantCode int) {
	cmd := exec.Command(bin, "--check-updates", "--json", "--root", root)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == wantCode) {
		log.Fatalf("%s: %v", root, err)
	}
	var rep struct {
		Installed []json.RawMessage
		Updates   []struct{ File, Status string }
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		log.Fatalf("%s: %v", root, err)
	}
	if len(rep.Installed) != installedPacks {
		log.Fatalf("%s: %d installed packs, want %d", root, len(rep.Installed), installedPacks)
	}
	for _, u := range rep.Updates {
		if u.Status != "ready" {
			log.Fatalf("%s: %s is %s, want ready", root, u.File, u.Status)
		}
	}
}

// makeRoot makes a root with 20 installed packs and pending zips, unless
// one is there already.
func makeRoot(root string, pending int) error {
	done := filepath.Join(root, ".bench-done")
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	src := root + ".src"
	defer os.RemoveAll(src)
	for i := 1; i <= installedPacks; i++ {
		if err := install(root, src, i); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "Updates_Pending"), 0o755); err != nil {
		return err
	}
	for i := 1; i <= pending; i++ {
		dir, err := source(src, i, "1.1.0", zipBytes)
		if err != nil {
			return err
		}
		out := filepath.Join(root, "Updates_Pending", fmt.Sprintf("plugin%03d-1.1.0.zip", i))
		if err := atomicfile.Write(out, 0o644, func(w io.Writer) error { _, err := manifest.Build(dir, w); return err }); err != nil {
			return err
		}
		os.RemoveAll(dir)
	}
	return os.WriteFile(done, nil, 0o644)
}

// install writes pack i, version 1.0.0, as installed: its folder with the
// manifest upkeep pack computed.
func install(root, src string, i int) error {
	dir, err := source(src, i, "1.0.0", 256<<10)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	m, err := manifest.Build(dir, &buf)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, manifest.FileName), data, 0o644); err != nil {
		return err
	}
	dst := filepath.Join(root, "packs", m.Pack)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.Rename(dir, dst)
}

// source writes the source folder of pack plugin<i> at version, about size
// bytes: 20 payload files, half text and half random, and 3 migrations.
func source(src string, i int, version string, size int) (string, error) {
	dir := filepath.Join(src, fmt.Sprintf("plugin%03d-%s", i, version))
	name := fmt.Sprintf("plugin%03d", i)
	m := map[string]any{
		"format": 1, "pack": name, "version": version, "title": "Plugin " + name,
		"whats_new": "Faster pages.",
		"requires":  map[string]string{"plugin001": ">= 1.0"},
		"database":  map[string]any{"tables": []string{name + "_items"}, "changes": "Adds table " + name + "_items."},
	}
	if i == 1 {
		delete(m, "requires")
	}
	data, _ := json.MarshalIndent(m, "", "  ")
	files := map[string][]byte{"manifest.json": data}
	for k := 1; k <= 3; k++ {
		files[fmt.Sprintf("migrations/%04d_step%d.up.sql", k, k)] = fmt.Appendf(nil, "CREATE TABLE %s_t%d (id INTEGER PRIMARY KEY);\n", name, k)
		files[fmt.Sprintf("migrations/%04d_step%d.down.sql", k, k)] = fmt.Appendf(nil, "DROP TABLE %s_t%d;\n", name, k)
	}
	rng := mrand.New(mrand.NewPCG(uint64(i), 7))
	words := strings.Fields("update pack plugin table row column index feed post tag user page cache queue")
	for f := 0; f < 20; f++ {
		n := size / 20
		if f%2 == 0 {
			var b strings.Builder
			for b.Len() < n {
				fmt.Fprintf(&b, "%06d %s %s %s\n", rng.IntN(1e6), words[rng.IntN(len(words))], words[rng.IntN(len(words))], words[rng.IntN(len(words))])
			}
			files[fmt.Sprintf("assets/text%02d.txt", f)] = []byte(b.String()[:n])
		} else {
			b := make([]byte, n)
			rand.Read(b)
			files[fmt.Sprintf("assets/blob%02d.bin", f)] = b
		}
	}
	for rel, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func minOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func maxOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func mb(b int64) float64 { return float64(b) / 1e6 }
