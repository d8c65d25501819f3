package updates

import (
	"errors"
	"fmt"
)

// ErrPending is matched by the error [Bootstrap] returns in check mode when
// Updates_Pending holds update zips: they were reported and nothing was
// changed. The CLI exits 3. The error is a [*PendingError].
var ErrPending = errors.New("updates: updates pending")

// PendingError says how many update zips wait in which folder.
type PendingError struct {
	Count int
	Dir   string
}

func (e *PendingError) Error() string {
	return fmt.Sprintf("%s pending in %s; nothing was changed", plural(e.Count, "update zip"), e.Dir)
}

// Is makes errors.Is(err, ErrPending) true.
func (e *PendingError) Is(target error) bool { return target == ErrPending }

// ErrNotFound is returned by [ScanOne] when the zip it is given does not
// exist, neither as a path nor as a name in Updates_Pending.
var ErrNotFound = errors.New("updates: no such update zip")

// ErrVerify is returned by [Verify] when the zip has problems; the error
// joins it with one error per problem.
var ErrVerify = errors.New("updates: verification failed")
