// Package diskspace is upkeep's one free-space probe and its one error:
// backups, restores and install staging all refuse work that would not fit
// with a [*NoSpaceError], before they write anything.
package diskspace

import (
	"errors"
	"fmt"

	"github.com/upkeep/upkeep/internal/progress"
)

// ErrNoSpace is matched by every [*NoSpaceError]. backupstore.ErrNoSpace
// and updates.ErrNoSpace are this error.
var ErrNoSpace = errors.New("not enough free space")

// NoSpaceError says who refused (Pkg, and For: the work), how much space
// the work needs in Dir and how much its file system has.
type NoSpaceError struct {
	Pkg       string // "backupstore", "updates"
	For       string // what needed it, "" when Pkg says enough: "staging the batch"
	Dir       string
	Needed    uint64
	Available uint64
}

func (e *NoSpaceError) Error() string {
	what := ""
	if e.For != "" {
		what = " for " + e.For
	}
	return fmt.Sprintf("%s: not enough free space in %s%s: needed %s (%d bytes), available %s (%d bytes)",
		e.Pkg, e.Dir, what, progress.FormatBytes(int64(e.Needed)), e.Needed, progress.FormatBytes(int64(e.Available)), e.Available)
}

// Is makes errors.Is(err, ErrNoSpace) true.
func (e *NoSpaceError) Is(target error) bool { return target == ErrNoSpace }

// Probe returns the bytes free for unprivileged users in the file system
// holding dir. [Free] is the real one; tests pass their own.
type Probe func(dir string) (uint64, error)

// Check refuses with a *NoSpaceError (from pkg, for the work named by
// what) when dir has less than needed free. A nil probe is [Free].
func Check(probe Probe, pkg, what, dir string, needed uint64) error {
	if probe == nil {
		probe = Free
	}
	avail, err := probe(dir)
	if err != nil {
		return err
	}
	if avail < needed {
		return &NoSpaceError{Pkg: pkg, For: what, Dir: dir, Needed: needed, Available: avail}
	}
	return nil
}
