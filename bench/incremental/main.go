// Command incremental benchmarks incremental backups (issue "Backups that
// cost what changed"), each figure paired against its peer in the same run,
// alternating, medians of the paired ratios:
//
//	A. upkeep --install-updates of a 1 MB update, with its backup, into a
//	   root holding the standard tree (../shared/bench/gen_tree.sh: 2,000
//	   files, 400 MB) vs the same install into an empty root (goal <= 3x);
//	B. after ten such installs, the bytes in Updates_Backups vs the first,
//	   full backup's zip (goal <= 1.3x);
//	C. the first, full backup of the tree (upkeep backups create) vs
//	   `tar -cf - . | zstd -1 -T0` of it (goal <= 1.0x);
//	D. backups restore of the newest backup of a chain vs unzip of a zip of
//	   the same tree (backups export of it) into a new folder (goal <= 1.0x);
//	E. a backup of an unchanged root of 100,000 small files vs
//	   `tar -cf /dev/null .` (goal <= 3x; peak RSS < 100 MB).
//
// C runs each side once, unrecorded, before the pairs (the tree is then in
// the page cache for both). Every side runs as its own process; `sync` runs before each, outside the
// timing, so no side pays for the other's writes. The trees are made in
// -dir (default /tmp/upkeep-bench-incr), never in the repository.
//
//	go run ./bench/incremental [-pairs 5] [-dir DIR] [-gen ../shared/bench/gen_tree.sh] [-only ABCDE]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/upkeep/upkeep/bench/internal/paired"
)

var (
	bin   string
	pairs int
)

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "upkeep-bench-incr"), "work folder (trees and zips are kept for the next run)")
	gen := flag.String("gen", "../shared/bench/gen_tree.sh", "the tree generator")
	flag.IntVar(&pairs, "pairs", 5, "paired runs per figure")
	only := flag.String("only", "ABCDE", "which figures to run")
	flag.Parse()
	log.SetFlags(0)
	must(os.MkdirAll(*dir, 0o755))
	bin = filepath.Join(*dir, "upkeep")
	must(sh("go", "build", "-o", bin, "."))
	tree := filepath.Join(*dir, "tree")
	if _, err := os.Stat(tree); err != nil {
		must(sh("sh", *gen, tree))
	}
	// A root is a folder holding Updates_Pending/ (upkeep init).
	must(os.MkdirAll(filepath.Join(tree, "Updates_Pending"), 0o755))
	fmt.Printf("load average at start: %s", loadavg())
	if strings.ContainsAny(*only, "ABD") {
		big := installs(*dir, tree, strings.Contains(*only, "A"), strings.Contains(*only, "B"))
		if strings.Contains(*only, "D") {
			restore(*dir, big)
		}
	}
	if strings.Contains(*only, "C") {
		fullBackup(*dir, tree)
	}
	if strings.Contains(*only, "E") {
		unchanged(*dir)
	}
	fmt.Printf("load average at end: %s", loadavg())
}

// installs runs figures A and B and returns the big root, its chain of
// install backups in place.
func installs(dir, tree string, showA, showB bool) string {
	zips := smallUpdates(dir, pairs+10)
	big, empty := filepath.Join(dir, "root-big"), filepath.Join(dir, "root-empty")
	for _, r := range []string{big, empty} {
		os.RemoveAll(r)
		must(os.MkdirAll(filepath.Join(r, "Updates_Pending"), 0o755))
	}
	must(sh("cp", "-a", tree, filepath.Join(big, "site")))
	// A file changed within a second of a backup is stored again by the
	// next one (racily clean): the copy must be older than that when the
	// first install backs it up, as a real root's files are.
	time.Sleep(1100 * time.Millisecond)
	install := func(root string, i int) time.Duration {
		must(os.Link(zips[i], filepath.Join(root, "Updates_Pending", filepath.Base(zips[i]))))
		syncAll()
		d, _ := timed(root, bin, "--install-updates", "--quiet", "--root", root)
		return d
	}
	// The first install into the big root takes its full backup.
	install(big, 0)
	install(empty, 0)
	first := backupZips(big)
	if len(first) != 1 {
		log.Fatalf("after the first install: %v", first)
	}
	fullSize := fileSize(first[0])
	time.Sleep(1100 * time.Millisecond) // files older than a second: see backupstore's racy window
	var a series
	n := 1
	for ; n <= pairs; n++ {
		a.pair(n, func() time.Duration { return install(big, n) }, func() time.Duration { return install(empty, n) })
	}
	rb, re, ratios := a.up, a.peer, a.ratios
	if showA {
		fmt.Printf("A. install of a 1 MB update with its backup, %d paired runs\n", pairs)
		fmt.Printf("   into the 400 MB tree: median %6.0f ms; into an empty root: median %6.0f ms\n", paired.Median(rb), paired.Median(re))
		fmt.Printf("   paired ratio big/empty: median %.2f (runs %s); goal <= 3: %s\n", paired.Median(ratios), fmtRatios(ratios), paired.Verdict(paired.Median(ratios) <= 3))
	}
	for ; n < 10; n++ {
		install(big, n)
	}
	var total int64
	des, _ := os.ReadDir(filepath.Join(big, "Updates_Backups"))
	var names []string
	for _, d := range des {
		total += fileSize(filepath.Join(big, "Updates_Backups", d.Name()))
		names = append(names, d.Name())
	}
	if showB {
		fmt.Printf("B. after %d installs: Updates_Backups %.1f MB in %d files (%s), first full backup %.1f MB: %.2fx; goal <= 1.3: %s\n",
			n, mb(total), len(names), strings.Join(names, " "), mb(fullSize), float64(total)/float64(fullSize), paired.Verdict(float64(total) <= 1.3*float64(fullSize)))
	}
	return big
}

// restore runs figure D on the big root.
func restore(dir, big string) {
	full := filepath.Join(dir, "export.zip")
	unz := filepath.Join(dir, "unzipped")
	var d series
	for i := range pairs {
		// A chain whose newest backup is incremental: a backup (full after
		// the previous restore, which gave every file a new inode), a
		// change, an incremental backup, another change.
		if i > 0 {
			must(sh(bin, "backups", "create", "--quiet", "--root", big, "--reason", "chain"))
			time.Sleep(1100 * time.Millisecond)
		}
		must(os.WriteFile(filepath.Join(big, "site", fmt.Sprintf("changed-%d.bin", i)), randomBytes(uint64(i), 1<<20), 0o644))
		must(sh(bin, "backups", "create", "--quiet", "--root", big, "--reason", "chain"))
		id := newest(big)
		must(os.WriteFile(filepath.Join(big, "site", "after.bin"), randomBytes(99, 1<<20), 0o644))
		must(sh(bin, "backups", "export", "--quiet", "--root", big, id, "-o", full))
		runU := func() time.Duration {
			syncAll()
			d, _ := timed(big, bin, "backups", "restore", "--quiet", "--root", big, id)
			return d
		}
		runZ := func() time.Duration {
			os.RemoveAll(unz)
			syncAll()
			d, _ := timed(dir, "unzip", "-q", "-o", full, "-d", unz)
			return d
		}
		d.pair(i, runU, runZ)
	}
	ru, rz, ratios := d.up, d.peer, d.ratios
	os.RemoveAll(unz)
	os.Remove(full)
	fmt.Printf("D. restore of the newest backup of a chain (depth >= 1), %d paired runs\n", pairs)
	fmt.Printf("   upkeep backups restore: median %6.0f ms; unzip -q -o of its export into a new folder: median %6.0f ms\n", paired.Median(ru), paired.Median(rz))
	fmt.Printf("   paired ratio: median %.2f (runs %s); goal <= 1.0: %s\n", paired.Median(ratios), fmtRatios(ratios), paired.Verdict(paired.Median(ratios) <= 1))
}

// fullBackup runs figure C.
func fullBackup(dir, tree string) {
	out := filepath.Join(dir, "tree.tar.zst")
	backups := filepath.Join(tree, "Updates_Backups")
	var sizeU, sizeZ int64
	runU := func() time.Duration {
		os.RemoveAll(backups)
		syncAll()
		d, _ := timed(tree, bin, "backups", "create", "--quiet", "--root", tree, "--db", "none")
		sizeU = fileSize(backupZips(tree)[0])
		os.RemoveAll(backups)
		return d
	}
	runZ := func() time.Duration {
		os.Remove(out)
		syncAll()
		d, _ := timed(tree, "sh", "-c", "tar -cf - . | zstd -1 -T0 -q -o "+out)
		sizeZ = fileSize(out)
		os.Remove(out)
		return d
	}
	// One unrecorded run of each side first: both then read the tree from
	// the page cache, whatever ran before.
	runU()
	runZ()
	var c series
	for i := range pairs {
		c.pair(i, runU, runZ)
	}
	tu, tz, ratios := c.up, c.peer, c.ratios
	fmt.Printf("C. first, full backup of the 400 MB tree, %d paired runs\n", pairs)
	fmt.Printf("   upkeep backups create: median %6.0f ms (%.0f MB); tar -cf - . | zstd -1 -T0: median %6.0f ms (%.0f MB)\n", paired.Median(tu), mb(sizeU), paired.Median(tz), mb(sizeZ))
	fmt.Printf("   paired ratio: median %.2f (runs %s); goal <= 1.0: %s\n", paired.Median(ratios), fmtRatios(ratios), paired.Verdict(paired.Median(ratios) <= 1))
}

// unchanged runs figure E.
func unchanged(dir string) {
	root := filepath.Join(dir, "small100k")
	if _, err := os.Stat(filepath.Join(root, "Updates_Pending")); err != nil {
		os.RemoveAll(root)
		genSmall(root, 100_000)
		must(os.MkdirAll(filepath.Join(root, "Updates_Pending"), 0o755))
	}
	os.RemoveAll(filepath.Join(root, "Updates_Backups"))
	// Files changed within a second of a backup are stored again by the
	// next one (racily clean): the root must be unchanged for a second.
	time.Sleep(1100 * time.Millisecond)
	must(sh(bin, "backups", "create", "--quiet", "--root", root, "--db", "none", "--reason", "base"))
	time.Sleep(1100 * time.Millisecond)
	base := backupZips(root)
	var rss []int64
	runU := func() time.Duration {
		syncAll()
		d, m := timed(root, bin, "backups", "create", "--quiet", "--root", root, "--db", "none")
		rss = append(rss, m)
		for _, z := range backupZips(root) {
			if !slices.Contains(base, z) {
				os.Remove(z) // keep the chain one long
			}
		}
		return d
	}
	runT := func() time.Duration {
		syncAll()
		d, _ := timed(root, "tar", "-cf", "/dev/null", ".")
		return d
	}
	var e series
	for i := range pairs {
		e.pair(i, runU, runT)
	}
	tu, tt, ratios := e.up, e.peer, e.ratios
	fmt.Printf("E. backup of an unchanged root of 100,000 small files, %d paired runs\n", pairs)
	fmt.Printf("   upkeep backups create: median %6.0f ms, peak RSS max %.0f MB; tar -cf /dev/null .: median %6.0f ms\n", paired.Median(tu), mb(slices.Max(rss)), paired.Median(tt))
	fmt.Printf("   paired ratio: median %.2f (runs %s); goal <= 3: %s; memory goal < 100 MB: %s\n", paired.Median(ratios), fmtRatios(ratios),
		paired.Verdict(paired.Median(ratios) <= 3), paired.Verdict(mb(slices.Max(rss)) < 100))
}

// smallUpdates packs n versions of a 1 MB pack (half random, half text).
func smallUpdates(dir string, n int) []string {
	var zips []string
	for i := range n {
		z := filepath.Join(dir, "updates", fmt.Sprintf("small-1.0.%d.zip", i))
		zips = append(zips, z)
		if _, err := os.Stat(z); err == nil {
			continue
		}
		src := filepath.Join(dir, "updates", "src")
		os.RemoveAll(src)
		must(os.MkdirAll(filepath.Join(src, "payload"), 0o755))
		m, _ := json.Marshal(map[string]any{"format": 1, "pack": "small", "version": fmt.Sprintf("1.0.%d", i), "title": "Small"})
		must(os.WriteFile(filepath.Join(src, "manifest.json"), m, 0o644))
		must(os.WriteFile(filepath.Join(src, "payload", "random.bin"), randomBytes(uint64(1000+i), 512<<10), 0o644))
		must(os.WriteFile(filepath.Join(src, "payload", "text.txt"), textBytes(i, 512<<10), 0o644))
		must(sh(bin, "pack", src, "-o", z, "--quiet"))
		os.RemoveAll(src)
	}
	return zips
}

// genSmall writes n files of 512 B to 4 KiB, half text, in folders of 100.
func genSmall(root string, n int) {
	r := rand.New(rand.NewPCG(7, 7))
	for i := range n {
		d := filepath.Join(root, fmt.Sprintf("d%03d", i/10000), fmt.Sprintf("s%03d", i/100%100))
		if i%100 == 0 {
			must(os.MkdirAll(d, 0o755))
		}
		size := 512 + r.IntN(3585)
		var data []byte
		if i%2 == 0 {
			data = textBytes(i, size)
		} else {
			data = randomBytes(uint64(i), size)
		}
		must(os.WriteFile(filepath.Join(d, fmt.Sprintf("f%06d", i)), data, 0o644))
	}
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func textBytes(seed, n int) []byte {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%09d info component-%d: something happened id=%d\n", i, (i*7+seed)%13, i*31+seed)
	}
	return []byte(b.String()[:n])
}

// backupZips lists the backup zips of root, oldest first.
func backupZips(root string) []string {
	ms, _ := filepath.Glob(filepath.Join(root, "Updates_Backups", "*.zip"))
	slices.Sort(ms)
	return slices.DeleteFunc(ms, func(s string) bool { return strings.HasSuffix(s, ".pieces.zip") })
}

// newest is the ID of root's newest backup, as backups list says.
func newest(root string) string {
	out, err := exec.Command(bin, "backups", "list", "--json", "--root", root).Output()
	must(err)
	var doc struct {
		Backups []struct {
			ID string `json:"id"`
		} `json:"backups"`
	}
	must(json.Unmarshal(out, &doc))
	return doc.Backups[0].ID
}

// series holds the paired runs of a figure: upkeep's side, its peer's,
// and their ratios.
type series struct{ up, peer, ratios []float64 }

// pair runs pair i of the two sides, the first alternating from pair to
// pair, and records them.
func (s *series) pair(i int, upkeep, peer func() time.Duration) {
	var du, dp time.Duration
	if i%2 == 0 {
		du, dp = upkeep(), peer()
	} else {
		dp, du = peer(), upkeep()
	}
	s.up, s.peer = append(s.up, paired.Ms(du)), append(s.peer, paired.Ms(dp))
	s.ratios = append(s.ratios, float64(du)/float64(dp))
}

func timed(dir, name string, args ...string) (time.Duration, int64) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	d, rss, err := paired.Run(cmd)
	if err != nil {
		log.Fatalf("%s %v: %v", name, args, err)
	}
	return d, rss
}

func syncAll() { must(exec.Command("sync").Run()) }

func sh(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	return cmd.Run()
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func mb(n int64) float64 { return float64(n) / 1e6 }

func fmtRatios(rs []float64) string {
	var s []string
	for _, r := range rs {
		s = append(s, fmt.Sprintf("%.2f", r))
	}
	return strings.Join(s, " ")
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return string(b)
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
