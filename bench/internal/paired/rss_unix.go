//go:build unix

package paired

import (
	"os"
	"runtime"
	"syscall"
)

// maxRSS is the peak resident memory of the finished process, in bytes.
func maxRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	rss := int64(ru.Maxrss)
	if runtime.GOOS == "darwin" { // bytes there, kilobytes elsewhere
		return rss
	}
	return rss * 1024
}
