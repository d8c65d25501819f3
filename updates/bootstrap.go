package updates

import (
	"context"
	"fmt"

	"github.com/upkeep/upkeep/internal/layout"
)

// Mode is what the start does with Updates_Pending.
type Mode int

const (
	// Check reports what is pending and stops the start when anything is.
	Check Mode = iota
	// Ignore goes on without looking at Updates_Pending.
	Ignore
)

// Options configures [Bootstrap].
type Options struct {
	ScanOptions
	Mode Mode
}

// Bootstrap is the application's start. It creates the root's missing
// folders, then by mode:
//   - Check: scans Updates_Pending; when it holds update zips, returns the
//     report and a [*PendingError], which matches [ErrPending]: nothing was changed, and
//     the application must not start. With nothing pending it returns the
//     (empty) report and nil.
//   - Ignore: returns nil, nil without scanning.
//
// A nil error means the application may start.
func Bootstrap(ctx context.Context, opts Options) (*Report, error) {
	root, err := layout.Open(opts.Root)
	if err != nil {
		return nil, err
	}
	if err := root.Ensure(); err != nil {
		return nil, err
	}
	switch opts.Mode {
	case Ignore:
		return nil, nil
	case Check:
		r, err := Scan(ctx, opts.ScanOptions)
		if err != nil {
			return nil, err
		}
		if len(r.Updates) > 0 {
			return r, &PendingError{Count: len(r.Updates), Dir: root.Pending()}
		}
		return r, nil
	default:
		return nil, fmt.Errorf("updates: unknown mode %d", opts.Mode)
	}
}
