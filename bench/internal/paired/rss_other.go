//go:build !unix

package paired

import "os"

// maxRSS is 0 where rusage is not available (Windows): the figure is
// unknown, and the benchmarks print 0.
func maxRSS(*os.ProcessState) int64 { return 0 }
