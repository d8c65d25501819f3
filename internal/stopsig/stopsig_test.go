//go:build unix

package stopsig

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// A SIGTERM that comes before the command takes the signals over is held,
// not fatal, and Take hands it over once; Release then sends nothing.
func TestASignalBeforeTakeIsHeld(t *testing.T) {
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	deadline := time.Now().Add(5 * time.Second)
	for len(held) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := Take(); got != syscall.SIGTERM {
		t.Fatalf("Take: %v, want SIGTERM", got)
	}
	if got := Take(); got != nil {
		t.Fatalf("second Take: %v, want nil", got)
	}
	Release() // must not send SIGTERM again: the test process lives on
	time.Sleep(100 * time.Millisecond)
}
