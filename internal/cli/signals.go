package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/internal/stopsig"
)

// interruptible returns a context that ends at the first SIGINT or SIGTERM
// and a function that says which arrived (0: none). Later signals are
// caught too and ignored, so that a second Ctrl-C does not kill upkeep
// while it puts things back. stop ends the catching.
func interruptible(parent context.Context) (ctx context.Context, caught func() syscall.Signal, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	var got atomic.Int32
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				sig := s.(syscall.Signal)
				if got.CompareAndSwap(0, int32(sig)) {
					cancel(&interruptedError{sig: sig})
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, func() syscall.Signal { return syscall.Signal(got.Load()) }, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

// interruptedError is a run stopped by SIGINT or SIGTERM: it exits 128+N
// (130, 143), and says what was put back (err, the command's own error).
// It is also the cause of the context the signal cancels, so that what
// stops on it can say why (context.Cause).
type interruptedError struct {
	sig syscall.Signal
	err error // what the command returned; nil in the context's cause
}

var signalNames = map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}

func (e *interruptedError) Error() string {
	name := signalNames[e.sig]
	if name == "" {
		name = e.sig.String()
	}
	msg := "interrupted by " + name
	if e.err == nil {
		return msg
	}
	// The command's error names the signal already when it stopped on the
	// context's cause.
	if errors.As(e.err, new(*interruptedError)) {
		return e.err.Error()
	}
	return fmt.Sprintf("%s: %v", msg, e.err)
}

func (e *interruptedError) Unwrap() error { return e.err }

// signalContext ends when upkeep gets SIGINT or SIGTERM, or got one while
// it was starting (internal/stopsig held it since then): serve and
// updates watch stop cleanly on them and exit 0. [stoppedBy] tells which
// signal ended it.
func signalContext(c *cli.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(c.Context)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, stopsig.Signals...)
	if sig := stopsig.Take(); sig != nil {
		select {
		case ch <- sig:
		default: // one is there already
		}
	}
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			cancel(stopSignal{sig})
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			cancel(context.Canceled)
		})
	}
}

// stopSignal is the cause of a context that a signal ended.
type stopSignal struct{ sig os.Signal }

func (s stopSignal) Error() string { return "interrupted by " + s.sig.String() }

// stoppedBy is the signal that ended ctx, made by signalContext; nil when
// none did.
func stoppedBy(ctx context.Context) syscall.Signal {
	var ie *interruptedError // Main's context, which ctx derives from, ended first
	if errors.As(context.Cause(ctx), &ie) {
		return ie.sig
	}
	var s stopSignal
	if errors.As(context.Cause(ctx), &s) {
		if sig, ok := s.sig.(syscall.Signal); ok {
			return sig
		}
	}
	return 0
}
