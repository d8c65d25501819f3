package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/upkeep/upkeep/internal/lock"
	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
)

// Exit codes, as the README lists them. exitCode maps errors to them, in
// this one place.
const (
	exitOK         = 0 // ok, go on
	exitError      = 1 // error
	exitUsage      = 2 // usage
	exitPending    = 3 // updates pending (reported, not installed)
	exitDatabase   = 4 // database updates needed or downgrade refused
	exitLocked     = 5 // locked by another process
	exitRolledBack = 6 // install failed and was rolled back
	exitManual     = 7 // could not roll back: manual action needed
)

// errUsage marks errors in how upkeep was called.
var errUsage = errors.New("usage")

func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	case errors.Is(err, updates.ErrPending):
		return exitPending
	case errors.Is(err, lock.ErrLocked), errors.Is(err, packs.ErrLocked):
		return exitLocked
	case errors.Is(err, packs.ErrDatabaseBehind), errors.Is(err, packs.ErrDowngrade), errors.Is(err, packs.ErrChecksumChanged), errors.Is(err, packs.ErrDrift):
		return exitDatabase
	case errors.Is(err, updates.ErrManual):
		return exitManual
	case errors.Is(err, updates.ErrInstallFailed):
		return exitRolledBack
	default:
		return exitError
	}
}

// hinted is an error with a next step for the person who reads it.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }

func (h *hinted) Unwrap() error { return h.err }

func withHint(err error, format string, args ...any) error {
	return &hinted{err: err, hint: fmt.Sprintf(format, args...)}
}

func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// report prints err the way a person can act on it and returns the exit code.
func report(stderr io.Writer, err error) int {
	code := exitCode(err)
	if err == nil {
		return code
	}
	switch code {
	case exitPending:
		fmt.Fprintf(stderr, "upkeep: %v\n", err)
	default:
		msg := strings.TrimPrefix(err.Error(), errUsage.Error()+": ")
		for _, line := range strings.Split(msg, "\n") {
			fmt.Fprintf(stderr, "upkeep: error: %s\n", line)
		}
	}
	var h *hinted
	if errors.As(err, &h) {
		fmt.Fprintf(stderr, "upkeep: hint: %s\n", h.hint)
	} else if code == exitUsage {
		fmt.Fprintf(stderr, "upkeep: hint: run 'upkeep --help' for usage\n")
	}
	return code
}
