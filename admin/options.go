package admin

import (
	"time"

	"github.com/upkeep/upkeep/updates"
)

// Options configures [Handler], [Guard], [Serve] and [Limited].
type Options struct {
	// Options are the start's: the root, the database, the trusted keys,
	// the packs compiled into the application. Actions run with them.
	updates.Options

	// Prefix is the path the handler is mounted at, "/admin", without a
	// trailing slash; "" when it serves the whole site (upkeep serve).
	Prefix string

	// TokenFile holds the admin token; "" is ROOT/.upkeep/admin-token,
	// made at first use with mode 0600.
	TokenFile string

	// Secure marks the session cookie Secure: the pages are served over
	// TLS. Serve sets it when given TLS files.
	Secure bool

	// Poll lists Updates_Pending instead of watching it with inotify (a
	// network file system); Rescan is the period of the full rescan that
	// runs anyway (0: [updates.DefaultRescan]).
	Poll   bool
	Rescan time.Duration

	// Refresh is how long the database's state shown by the pages may be
	// old before a request reads it again (0: 2 seconds). Actions and
	// changes in Updates_Pending refresh it at once.
	Refresh time.Duration

	// OnAction, when set, is called as each action ends.
	OnAction func(Action)
}
