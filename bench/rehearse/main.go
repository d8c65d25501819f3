// Command rehearse benchmarks `upkeep rehearse` against the real install of
// the same batch, paired in one run: the rehearsal (copy of the root and
// database, install on the copy, discard) should take at most 1.5x the
// install (backup, install).
//
// Workload: the standard tree of ../shared/bench/gen_tree.sh (2,000 files,
// 400 MB) installed as pack "big" 1.0.0 in a template root; pending, big
// 1.1.0 with the same tree and the 1,000 migrations of
// ../shared/bench/gen_migrations.sh. Each pair copies the template twice
// (outside the timing), runs both sides on SQLite, the side that goes first
// alternating from pair to pair, and prints the medians (the rehearsal's
// copy and snapshot steps apart), the median of the paired ratios
// rehearse/install, and the load average.
//
//	go run ./bench/rehearse [-runs 5] [-tree DIR] [-migrations DIR] [-dir DIR]
//
// -tree and -migrations reuse trees made earlier (gen_tree.sh DIR,
// gen_migrations.sh 1000 DIR); otherwise they are made in -dir (default a
// new folder in /tmp), which is removed at the end.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/upkeep/upkeep/bench/internal/paired"
)

func main() {
	runs := flag.Int("runs", 5, "pairs to run")
	tree := flag.String("tree", "", "a tree made by gen_tree.sh (default: made now)")
	migs := flag.String("migrations", "", "a folder made by gen_migrations.sh 1000 (default: made now)")
	dir := flag.String("dir", "", "work folder (default: a new one in /tmp, removed at the end)")
	shared := flag.String("shared", "../shared/bench", "folder of gen_tree.sh and gen_migrations.sh")
	flag.Parse()
	work := *dir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "upkeep-bench-rehearse-"); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(work)
	}
	must(os.MkdirAll(work, 0o755))
	if *tree == "" {
		*tree = filepath.Join(work, "tree")
		must(run("", "sh", filepath.Join(*shared, "gen_tree.sh"), *tree))
	}
	if *migs == "" {
		*migs = filepath.Join(work, "migrations")
		must(run("", "sh", filepath.Join(*shared, "gen_migrations.sh"), "1000", *migs))
	}
	bin := filepath.Join(work, "upkeep")
	must(run("", "go", "build", "-o", bin, "."))

	// Sources: big 1.0.0 (the tree), big 1.1.0 (the tree and the migrations).
	v1 := filepath.Join(work, "src-1.0.0")
	v2 := filepath.Join(work, "src-1.1.0")
	for _, v := range []struct {
		dir, version string
		migs         bool
	}{{v1, "1.0.0", false}, {v2, "1.1.0", true}} {
		must(os.MkdirAll(v.dir, 0o755))
		must(run("", "cp", "-r", *tree, filepath.Join(v.dir, "payload")))
		if v.migs {
			must(run("", "cp", "-r", filepath.Join(*migs, "migrate"), filepath.Join(v.dir, "migrations")))
		}
		m, _ := json.Marshal(map[string]any{"format": 1, "pack": "big", "version": v.version, "title": "Big"})
		must(os.WriteFile(filepath.Join(v.dir, "manifest.json"), m, 0o644))
	}
	template := filepath.Join(work, "template")
	must(os.MkdirAll(filepath.Join(template, "Updates_Pending"), 0o755))
	must(run("", bin, "pack", v1, "-o", filepath.Join(template, "Updates_Pending", "big-1.0.0.zip")))
	must(run("", bin, "--root", template, "--install-updates", "--no-backup", "--quiet"))
	must(run("", bin, "pack", v2, "-o", filepath.Join(template, "Updates_Pending", "big-1.1.0.zip")))
	os.RemoveAll(v1)
	os.RemoveAll(v2)

	fmt.Printf("load average before: %s (%d CPUs)\n", paired.Loadavg(), runtime.NumCPU())
	var installs, rehearsals, ratios, copies, snaps []float64
	for i := 0; i < *runs; i++ {
		a, b := filepath.Join(work, "a"), filepath.Join(work, "b")
		os.RemoveAll(a)
		os.RemoveAll(b)
		must(run("", "cp", "-a", template, a))
		must(run("", "cp", "-a", template, b))
		must(run("", "sync"))
		var rh struct {
			Steps []struct {
				Step       string `json:"step"`
				DurationMS int64  `json:"duration_ms"`
			} `json:"steps"`
		}
		install := func() float64 { return timed(nil, bin, "--root", a, "--install-updates", "--quiet") }
		rehearse := func() float64 { return timed(&rh, bin, "--root", b, "rehearse", "--json") }
		var ti, tr float64
		if i%2 == 0 {
			ti, tr = install(), rehearse()
		} else {
			tr, ti = rehearse(), install()
		}
		var cp, sn float64
		for _, s := range rh.Steps {
			switch s.Step {
			case "copy root":
				cp = float64(s.DurationMS) / 1000
			case "snapshot database":
				sn = float64(s.DurationMS) / 1000
			}
		}
		installs, rehearsals, ratios = append(installs, ti), append(rehearsals, tr), append(ratios, tr/ti)
		copies, snaps = append(copies, cp), append(snaps, sn)
		fmt.Printf("pair %d: install %.2fs, rehearse %.2fs (copy %.2fs, snapshot %.2fs), ratio %.2f, load %s\n",
			i+1, ti, tr, cp, sn, tr/ti, paired.Loadavg())
		os.RemoveAll(a)
		os.RemoveAll(b)
	}
	m := paired.Median(ratios)
	fmt.Printf("median of %d pairs: install %.2fs, rehearse %.2fs (copy %.2fs, snapshot %.2fs); paired ratio rehearse/install median %.2f (min %.2f, max %.2f); goal <= 1.5: %s\n",
		*runs, paired.Median(installs), paired.Median(rehearsals), paired.Median(copies), paired.Median(snaps),
		m, slices.Min(ratios), slices.Max(ratios), paired.Verdict(m <= 1.5))
	fmt.Printf("load average after: %s\n", paired.Loadavg())
}

// timed runs upkeep and returns its wall time; with v, its stdout is the
// JSON document decoded into v.
func timed(v any, bin string, args ...string) float64 {
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	d, _, err := paired.Run(cmd)
	if err != nil {
		log.Fatalf("%s %v: %v\n%s", bin, args, err, out.Bytes())
	}
	if v != nil {
		must(json.Unmarshal(out.Bytes(), v))
	}
	return d.Seconds()
}

func run(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	if out, err := cmd.Output(); err != nil {
		return fmt.Errorf("%s %v: %w\n%s", name, args, err, out)
	}
	return nil
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
