// Command install benchmarks installing one 400 MB update against unzip.
//
// It makes the standard tree (../shared/bench/gen_tree.sh: 2,000 files,
// 400 MB, half random), packs it as an update with upkeep pack, then runs,
// paired, the side that goes first rotating from run to run, each after a
// sync(2) (so that none pays for the write-back of another's 400 MB), each
// into a folder of its own:
//
//	(u) upkeep --install-updates --no-backup on a root with the zip pending:
//	    scan, staging with sha256 checks, sync, swap, move of the zip;
//	(z) unzip -q -o ZIP -d NEWDIR;
//	(f) the floor, as a control: this program run as `install -extract ZIP
//	    DIR`, which inflates, hashes with sha256 and writes every entry with
//	    4 goroutines, as upkeep's staging does, and nothing else (no checks
//	    against the manifest, no sync, no swap).
//
// and prints medians, the median paired ratios u/z and f/z, peak memory and
// the load average before and after.
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
	"archive/zip"
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"

	"github.com/klauspost/compress/flate"

	"github.com/upkeep/upkeep/bench/internal/paired"
)

func main() {
	if len(os.Args) == 4 && os.Args[1] == "-extract" {
		must(extract(os.Args[2], os.Args[3]))
		return
	}
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

	self, err := os.Executable()
	must(err)
	fmt.Printf("load average before: %s\n", paired.Loadavg())
	var tu, tz, tf, ratios, floors []float64
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
		var fl float64
		sideF := func() {
			// (f): the floor, this program's -extract into a new folder.
			syncAll()
			fl, _ = timed(self, "-extract", zip, filepath.Join(roots, fmt.Sprintf("floor-%d", i)))
		}
		sides := []func(){sideU, sideZ, sideF}
		for k := range sides {
			sides[(i+k)%len(sides)]()
		}
		tu, tz, tf = append(tu, u), append(tz, z), append(tf, fl)
		ratios = append(ratios, u/z)
		floors = append(floors, fl/z)
		rssU, rssZ = max(rssU, mu), max(rssZ, mz)
	}
	fmt.Printf("install of one %.0f MB update (2,000 files, 400 MB unpacked), %d paired runs\n", float64(info.Size())/1e6, *runs)
	fmt.Printf("  (u) upkeep --install-updates --no-backup: median %7.0f ms   peak RSS %5.1f MB\n", paired.Median(tu), float64(rssU)/1e6)
	fmt.Printf("  (z) unzip -q -o into a new folder:       median %7.0f ms   peak RSS %5.1f MB\n", paired.Median(tz), float64(rssZ)/1e6)
	r := paired.Median(ratios)
	fmt.Printf("  paired ratio u/z: median %.2f (min %.2f, max %.2f); goal <= 1.0: %s; goal <= 0.4: %s; memory goal < 100 MB: %s\n",
		r, slices.Min(ratios), slices.Max(ratios), paired.Verdict(r <= 1), paired.Verdict(r <= 0.4), paired.Verdict(float64(rssU)/1e6 < 100))
	fmt.Printf("  (f) floor: the same inflate, sha256 and writes by 4 goroutines, nothing synced: median %.0f ms; paired ratio f/z: median %.2f (min %.2f, max %.2f)\n",
		paired.Median(tf), paired.Median(floors), slices.Min(floors), slices.Max(floors))
	fmt.Printf("    (u) each run (ms):")
	for _, v := range tu {
		fmt.Printf(" %.0f", v)
	}
	fmt.Printf("\n    (z) each run (ms):")
	for _, v := range tz {
		fmt.Printf(" %.0f", v)
	}
	fmt.Printf("\n    (f) each run (ms):")
	for _, v := range tf {
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

// extract is the floor of an install of zip into dir (made): every entry
// inflated (klauspost/compress, as upkeep), hashed with sha256 and written
// by 4 goroutines, as upkeep's staging does, without its checks against the
// manifest, its journal, the sync, the swap or the move of the zip.
func extract(zipPath, dir string) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return err
	}
	defer zr.Close()
	zr.RegisterDecompressor(zip.Deflate, func(r io.Reader) io.ReadCloser {
		return flate.NewReader(bufio.NewReaderSize(r, 64<<10))
	})
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f.Name)), 0o755); err != nil {
			return err
		}
	}
	work := make(chan *zip.File)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			buf := make([]byte, 256<<10)
			for f := range work {
				if err := extractOne(f, dir, buf); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() {
			work <- f
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs
}

func extractOne(f *zip.File, dir string, buf []byte) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.OpenFile(filepath.Join(dir, f.Name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.CopyBuffer(io.MultiWriter(out, h), rc, buf); err != nil {
		out.Close()
		return err
	}
	h.Sum(nil)
	return out.Close()
}
