package admin

import "errors"

// ErrTokenFile is wrapped by the error of [LoadToken] when the token file
// is unsafe (others may read it) or holds no token.
var ErrTokenFile = errors.New("admin: bad token file")

// ErrNotLoopback is wrapped by the error of [Listen] when the address is
// not a loopback one and no TLS files were given: the token and the
// session cookie would cross the network in clear text.
var ErrNotLoopback = errors.New("admin: refusing to listen beyond loopback without TLS")

// ErrBusy is wrapped by the error of an action that cannot start because
// another one runs (in this server, or another upkeep process holds the
// root's lock). The API answers 409 and names the holder.
var ErrBusy = errors.New("admin: another action is running")
