// Command backup benchmarks backupstore.Create against `zip -qr -1` on the
// standard tree (../shared/bench/gen_tree.sh: 2,000 files, 400 MB, half
// random), paired and alternating, and prints medians and the median of
// the paired ratios. Each side runs as its own process so that its wall
// time and peak RSS (getrusage ru_maxrss) are its own. Both start with a
// warm page cache and no dirty pages (sync before each run). upkeep's time
// includes its fsync of the zip; zip's does not include writing its output
// to disk (zip does not fsync).
//
//	go run ./bench/backup [-tree DIR] [-pairs N]
//	go run ./bench/backup -child -tree DIR -cpuprofile cpu.out   # one backup, profiled
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/upkeep/upkeep/backupstore"
	"github.com/upkeep/upkeep/bench/internal/paired"
	"github.com/upkeep/upkeep/layout"
)

func main() {
	tree := flag.String("tree", "/tmp/upkeep-bench/tree", "benchmark tree (generated when missing)")
	gen := flag.String("gen", "../shared/bench/gen_tree.sh", "tree generator")
	pairs := flag.Int("pairs", 5, "number of paired runs")
	child := flag.Bool("child", false, "run one backup of -tree and exit (the measured side)")
	cpuprofile := flag.String("cpuprofile", "", "with -child: write a CPU profile here")
	flag.Parse()

	if *child {
		if *cpuprofile != "" {
			f, err := os.Create(*cpuprofile)
			check(err)
			check(pprof.StartCPUProfile(f))
			defer pprof.StopCPUProfile()
		}
		r, err := layout.Open(*tree)
		check(err)
		_, err = backupstore.Create(context.Background(), backupstore.CreateOptions{Root: r, Reason: "bench", DB: "none"})
		check(err)
		return
	}

	if _, err := os.Stat(*tree); err != nil {
		fmt.Fprintf(os.Stderr, "generating %s with %s\n", *tree, *gen)
		cmd := exec.Command("sh", *gen, *tree)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		check(cmd.Run())
	}
	self, err := os.Executable()
	check(err)
	out, err := os.MkdirTemp("", "upkeep-bench-")
	check(err)
	defer os.RemoveAll(out)
	zipOut := filepath.Join(out, "out.zip")
	backups := filepath.Join(*tree, layout.BackupsDir)
	clean := func() {
		os.Remove(zipOut)
		os.RemoveAll(backups) // never let one side see the other's output
		// Write back what the previous run left dirty, outside the timing,
		// so neither side pays for the other's writes.
		check(exec.Command("sync").Run())
	}
	runZip := func() (time.Duration, int64) {
		clean()
		cmd := exec.Command("zip", "-qr", "-1", zipOut, ".")
		cmd.Dir = *tree
		return measure(cmd)
	}
	runUpkeep := func() (time.Duration, int64) {
		clean()
		return measure(exec.Command(self, "-child", "-tree", *tree))
	}

	// Warm the page cache once for both.
	runZip()
	var zt, ut, ratios []float64
	var zr, ur []int64
	for i := range *pairs {
		var zd, ud time.Duration
		var zm, um int64
		if i%2 == 0 {
			zd, zm = runZip()
			ud, um = runUpkeep()
		} else {
			ud, um = runUpkeep()
			zd, zm = runZip()
		}
		zt, ut = append(zt, zd.Seconds()), append(ut, ud.Seconds())
		zr, ur = append(zr, zm), append(ur, um)
		ratios = append(ratios, ud.Seconds()/zd.Seconds())
		fmt.Printf("pair %d: zip -1 %.2fs %d MB RSS | upkeep %.2fs %d MB RSS | ratio %.3f\n",
			i+1, zd.Seconds(), zm>>20, ud.Seconds(), um>>20, ud.Seconds()/zd.Seconds())
	}
	clean()
	fmt.Printf("median: zip -1 %.2fs, upkeep %.2fs; median paired ratio %.3f (goal <= 0.25)\n",
		paired.Median(zt), paired.Median(ut), paired.Median(ratios))
	fmt.Printf("peak RSS median: zip -1 %d MB, upkeep %d MB (max %d MB; goal < 100 MB)\n",
		medianInt(zr)>>20, medianInt(ur)>>20, slices.Max(ur)>>20)
}

// measure runs cmd and returns its wall time and peak RSS in bytes.
func measure(cmd *exec.Cmd) (time.Duration, int64) {
	cmd.Stderr = os.Stderr
	d, rss, err := paired.Run(cmd)
	check(err)
	return d, rss
}

func medianInt(xs []int64) int64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
