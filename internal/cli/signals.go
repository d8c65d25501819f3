package cli

import (
	"context"
	"os/signal"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/internal/stopsig"
)

// signalContext ends when upkeep gets SIGINT or SIGTERM, or got one while
// it was starting (internal/stopsig held it since then): serve and
// updates watch stop cleanly on them and exit 0.
func signalContext(c *cli.Context) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(c.Context, stopsig.Signals...)
	if stopsig.Take() != nil {
		stop()
		ctx, stop = context.WithCancel(c.Context)
		stop()
	}
	return ctx, stop
}
