// Package stopsig holds SIGINT and SIGTERM from the moment the upkeep
// binary starts, before its dependencies' package initialisation (a few
// hundred milliseconds on a loaded machine), until the command decides
// what they do. A command that stops cleanly on them takes them over with
// [Take]; every other one stops holding them with [Release] (internal/cli
// catches them by then, to put back what was under way and exit 130 or
// 143), and one that came meanwhile acts as if it came then.
//
// Only the binary imports it (through internal/cli): a program that
// embeds upkeep's library keeps its own signal handling.
package stopsig

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Signals are the signals that stop upkeep: Ctrl-C and a service
// manager's stop.
var Signals = []os.Signal{os.Interrupt, syscall.SIGTERM}

var (
	held = make(chan os.Signal, 1)
	once sync.Once
)

func init() { signal.Notify(held, Signals...) }

// take stops holding the signals and returns the one that came meanwhile,
// if any; only its first call does.
func take() (got os.Signal) {
	once.Do(func() {
		signal.Stop(held)
		select {
		case got = <-held:
		default:
		}
	})
	return got
}

// Take is for a command that stops cleanly on the stop signals: call it
// after registering its own signal.Notify. It returns the signal that came
// before, if any, which the command must treat as if it came now.
func Take() os.Signal { return take() }

// Release stops holding the stop signals (their default action is back
// unless another handler catches them) and sends again one that came while
// upkeep was starting.
func Release() {
	if sig := take(); sig != nil {
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			p.Signal(sig)
		}
	}
}
