package cli

import (
	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/admin"
	"github.com/upkeep/upkeep/updates"
)

// tlsFlags are the TLS files of the admin pages, on serve and on the start.
func tlsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "tls-cert", Usage: "serve the admin pages over TLS with the PEM certificate in `FILE` (needed beyond loopback)"},
		&cli.StringFlag{Name: "tls-key", Usage: "the PEM private key of --tls-cert, in `FILE`"},
	}
}

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve the admin pages and their JSON API until stopped",
		Description: "The pages show the installed packs and their schemas, the pending updates (live:\n" +
			"Updates_Pending is watched), backups, history, and the root's lock and journal;\n" +
			"they install updates, migrate the database, back up and restore, one action at a\n" +
			"time. The first start makes the token ROOT/.upkeep/admin-token (mode 0600) and\n" +
			"prints the login link once. Only loopback addresses are served without TLS.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "listen", Value: admin.DefaultListen, Usage: "serve on `ADDR` (host:port)"},
			&cli.BoolFlag{Name: "poll", Usage: "poll Updates_Pending instead of watching it (network file systems)"},
		}, tlsFlags()...),
		Before: before(argsNone("serve")),
		Action: stoppable(runServe),
	}
}

func runServe(c *cli.Context, g *GlobalOptions) error {
	opts, err := adminOptions(g, updates.Options{})
	if err != nil {
		return err
	}
	opts.Poll = c.Bool("poll")
	ctx, stop := signalContext(c)
	defer stop()
	return admin.Serve(ctx, opts, serveOptions(c, c.String("listen")))
}

// adminOptions are the admin pages' options: the start's, from the
// global flags.
func adminOptions(g *GlobalOptions, bo updates.Options) (admin.Options, error) {
	if bo.Root == "" {
		bo.ScanOptions = g.scanOptions()
		bo.DB = g.DB
		bo.LockTimeout = g.LockTimeout
		bo.UpkeepVersion = Version
	}
	return admin.Options{Options: bo}, nil
}

func serveOptions(c *cli.Context, addr string) admin.ServeOptions {
	return admin.ServeOptions{Addr: addr, TLSCert: c.String("tls-cert"), TLSKey: c.String("tls-key"), Out: c.App.ErrWriter}
}
