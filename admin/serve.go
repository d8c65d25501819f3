package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
)

// DefaultListen is the address of `upkeep serve` without --listen.
const DefaultListen = "127.0.0.1:8383"

// ServeOptions says where to serve the pages.
type ServeOptions struct {
	Addr string // host:port; "" is DefaultListen
	// TLSCert and TLSKey are PEM files. Without them only a loopback
	// address is accepted.
	TLSCert, TLSKey string
	// Out receives the line that says where the pages are (and, the first
	// time, the login address with the token). nil: nowhere.
	Out io.Writer
	// Ready, when set, is called with the listener's address once the
	// server listens (tests use port 0).
	Ready func(addr string)
}

// Listen opens the listener for the admin pages. It refuses an address
// that is not a loopback one unless TLS files are given, saying why.
func Listen(addr string, tls bool) (net.Listener, error) {
	if addr == "" {
		addr = DefaultListen
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("admin: listen address %q: %w", addr, err)
	}
	if !tls && !loopback(host) {
		what := host
		if host == "" {
			what = "every interface"
		}
		return nil, fmt.Errorf("%w: %s is not a loopback address (%s), and the admin token and session would cross the network in clear text; listen on 127.0.0.1, or give --tls-cert and --tls-key",
			ErrNotLoopback, addr, what)
	}
	return net.Listen("tcp", addr)
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Serve serves the admin pages of opts.Root until ctx is done.
func Serve(ctx context.Context, opts Options, so ServeOptions) error {
	_, err := serve(ctx, opts, so, nil)
	return err
}

// serve runs the pages until ctx is done or stop says so after an action.
func serve(ctx context.Context, opts Options, so ServeOptions, stop func(Action) bool) (*Server, error) {
	tls := so.TLSCert != "" || so.TLSKey != ""
	if tls && (so.TLSCert == "" || so.TLSKey == "") {
		return nil, errors.New("admin: give both --tls-cert and --tls-key")
	}
	ln, err := Listen(so.Addr, tls)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	opts.Secure = opts.Secure || tls
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if stop != nil {
		prev := opts.OnAction
		opts.OnAction = func(a Action) {
			if prev != nil {
				prev(a)
			}
			if stop(a) {
				cancel()
			}
		}
	}
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	base := scheme + "://" + ln.Addr().String() + s.opts.Prefix
	if so.Out != nil {
		if s.TokenMade() {
			fmt.Fprintf(so.Out, "upkeep: admin pages at %s/login?token=%s (the token is in %s; this line is shown once)\n", base, s.Token(), s.opts.TokenFile)
		} else {
			fmt.Fprintf(so.Out, "upkeep: admin pages at %s/ (log in with the token in %s)\n", base, s.opts.TokenFile)
		}
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() {
		if tls {
			errc <- hs.ServeTLS(ln, so.TLSCert, so.TLSKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	if so.Ready != nil {
		so.Ready(ln.Addr().String())
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer scancel()
	s.Close() // ends the event streams, waits for a running action
	hs.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return s, err
}

// Limits tells whether err is one the limited mode serves pages for: the
// start found updates pending (exit 3) or the database behind or ahead of
// the code (exit 4).
func Limits(err error) bool {
	return errors.Is(err, updates.ErrPending) || errors.Is(err, packs.ErrDatabaseBehind) || errors.Is(err, packs.ErrDowngrade)
}

// Limited is the limited mode of the start (--admin-listen): called once
// a start stopped for updates pending or a database behind its code
// ([Limits]), it serves the admin pages instead of failing. After each
// action that ends well it runs the start (updates.Bootstrap with opts)
// again; once that start succeeds it stops serving and returns its report,
// and the application goes on. It returns early with an error only when
// it cannot serve, or with ctx's error when ctx ends first.
func Limited(ctx context.Context, opts Options, so ServeOptions) (*updates.Report, error) {
	var final *updates.Report
	done := false
	stop := func(a Action) bool {
		if a.State != "done" {
			return false
		}
		r, err := updates.Bootstrap(ctx, opts.Options)
		if err == nil {
			final, done = r, true
		}
		return done
	}
	if _, err := serve(ctx, opts, so, stop); err != nil {
		return nil, err
	}
	if !done {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("admin: the admin pages stopped before the start could go on")
	}
	return final, nil
}
