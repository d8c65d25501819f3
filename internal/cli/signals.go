package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/internal/stopsig"
)

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
	var s stopSignal
	if errors.As(context.Cause(ctx), &s) {
		if sig, ok := s.sig.(syscall.Signal); ok {
			return sig
		}
	}
	return 0
}

// errInterrupted is a run stopped by SIGINT or SIGTERM; it exits 128+N.
// after says in what state it left things.
type errInterrupted struct {
	sig   syscall.Signal
	after string
}

func (e errInterrupted) Error() string {
	return fmt.Sprintf("interrupted by %s; %s", e.sig, e.after)
}
