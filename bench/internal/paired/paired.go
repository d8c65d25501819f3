// Package paired holds what upkeep's benchmark programs share: timing a
// child process with its peak memory, and the median of paired runs.
package paired

import (
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// Run runs cmd and returns its wall time and its peak resident memory in
// bytes (from rusage). A non-zero exit is returned as the error.
func Run(cmd *exec.Cmd) (time.Duration, int64, error) {
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	var rss int64
	if cmd.ProcessState != nil {
		rss = maxRSS(cmd.ProcessState)
	}
	return elapsed, rss, err
}

// Ms is d in milliseconds.
func Ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Median returns the median of xs.
func Median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Verdict says whether a goal is met.
func Verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// Loadavg is the 1, 5 and 15 minute load averages ("unknown" off Linux):
// the benchmarks print it, since the machine's load moves their figures.
func Loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
