// Command install benchmarks installing one 400 MB update against unzip.
//
// It makes the standard tree (../shared/bench/gen_tree.sh: 2,000 files,
// 400 MB, half random), packs it as an update with upkeep pack, then runs,
// paired, the side that goes first alternating from pair to pair, each
// after a sync(2) (so that neither pays for the write-back of the other's
// 400 MB), each into a folder of its own:
//
//	(u) upkeep --install-updates --no-backup on a root with the zip pending:
//	    scan, staging with sha256 checks, sync, swap, move of the zip;
//	(z) unzip -q -o ZIP -d NEWDIR.
//
// and prints medians, the median paired ratio u/z, peak memory and the load
// average before and after.
//
// The trees the runs make are all deleted at the end, not between runs: on
// ext4 without a journal, creating a file skips every inode of its group
// deleted in the last minutes (recently_deleted), one check each, and a run
// right after deleting the last run's 4,000 files spent more time there
// than extracting. Runs within minutes of a large deletion are slower
// still; the figures are then of the file system, not of the two sides.
//
//	go run ./bench/install [-runs 7] [-dir /tmp/upkeep-bench-install] [-gen ../shared/bench/gen_tree.sh]
//
// Goals: ratio at most 1.0, peak memory under 100 MB (issue "Installing a
// batch"); ratio at most 0.4 (issue "Backups that cost what changed").
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"

	"github.com/upkeep/upkeep/bench/internal/paired"
)

func main() {
	runs := flag.Int("runs", 7, "paired runs")
	dir := flag.String("dir", filepath.Join(os.TempDir(), "upkeep-bench-install"), "work folder (the tree and zip are kept)")
	gen := flag.String("gen", "../shared/bench/gen_tree.sh", "the tree generator")
	flag.Parse()
	log.SetFlags(0)

	must(os.MkdirAll(*dir, 0o755))
	bin := filepath.Join(*dir, "upkeep")
	must(sh("go", "build", "-o", bin, "."))
	src := filepath.Join(*dir, "src")
	zip := filepath.Join(*dir, "big-1.0.0.zip")
	if _, err := os.Stat(zip); err != nil {
		os.RemoveAll(src)
		must(sh(*gen, filepath.Join(src, "payload")))
		m, _ := json.Marshal(map[string]any{"format": 1, "pack": "big", "version": "1.0.0", "title": "Big"})
		must(os.WriteFile(filepath.Join(src, "manifest.json"), m, 0o644))
		must(sh(bin, "pack", src, "-o", zip))
	}
	info, err := os.Stat(zip)
	must(err)

	fmt.Printf("load average before: %s\n", paired.Loadavg())
	var tu, tz, ratios []float64
	var rssU, rssZ int64
	roots := filepath.Join(*dir, "runs")
	os.RemoveAll(roots) // left by an interrupted run
	defer os.RemoveAll(roots)
	for i := 0; i < *runs; i++ {
		root := filepath.Join(roots, fmt.Sprintf("root-%d", i))
		out := filepath.Join(roots, fmt.Sprintf("unzipped-%d", i))
		var u, z float64
		var mu, mz int64
		sideU := func() {
			// (u): a new root with the zip linked into Updates_Pending.
			must(os.MkdirAll(filepath.Join(root, "Updates_Pending"), 0o755))
			must(os.Link(zip, filepath.Join(root, "Updates_Pending", "big-1.0.0.zip")))
			syncAll()
			u, mu = timed(bin, "--install-updates", "--no-backup", "--quiet", "--root", root)
			if _, err := os.Stat(filepath.Join(root, "packs", "big", "payload")); err != nil {
				log.Fatalf("upkeep did not install the pack: %v", err)
			}
		}
		sideZ := func() {
			// (z): unzip into a new folder.
			syncAll()
			z, mz = timed("unzip", "-q", "-o", zip, "-d", out)
		}
		if i%2 == 0 {
			sideU()
			sideZ()
		} else {
			sideZ()
			sideU()
		}
		tu, tz = append(tu, u), append(tz, z)
		ratios = append(ratios, u/z)
		rssU, rssZ = max(rssU, mu), max(rssZ, mz)
	}
	fmt.Printf("install of one %.0f MB update (2,000 files, 400 MB unpacked), %d paired runs\n", float64(info.Size())/1e6, *runs)
	fmt.Printf("  (u) upkeep --install-updates --no-backup: median %7.0f ms   peak RSS %5.1f MB\n", paired.Median(tu), float64(rssU)/1e6)
	fmt.Printf("  (z) unzip -q -o into a new folder:       median %7.0f ms   peak RSS %5.1f MB\n", paired.Median(tz), float64(rssZ)/1e6)
	r := paired.Median(ratios)
	fmt.Printf("  paired ratio u/z: median %.2f (min %.2f, max %.2f); goal <= 1.0: %s; goal <= 0.4: %s; memory goal < 100 MB: %s\n",
		r, slices.Min(ratios), slices.Max(ratios), paired.Verdict(r <= 1), paired.Verdict(r <= 0.4), paired.Verdict(float64(rssU)/1e6 < 100))
	fmt.Printf("    (u) each run (ms):")
	for _, v := range tu {
		fmt.Printf(" %.0f", v)
	}
	fmt.Printf("\n    (z) each run (ms):")
	for _, v := range tz {
		fmt.Printf(" %.0f", v)
	}
	fmt.Printf("\nload average after: %s\n", paired.Loadavg())
}

func timed(name string, args ...string) (ms float64, rss int64) {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	d, rss, err := paired.Run(cmd)
	if err != nil {
		log.Fatalf("%s: %v", name, err)
	}
	return paired.Ms(d), rss
}

func sh(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
