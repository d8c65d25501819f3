package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/upkeep/upkeep/internal/lock"
	"github.com/upkeep/upkeep/internal/textsafe"
	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
)

// Exit codes, as the README lists them. exitCode maps errors to them, in
// this one place.
const (
	exitOK         = 0   // ok, go on
	exitError      = 1   // error
	exitUsage      = 2   // usage
	exitPending    = 3   // updates pending (reported, not installed)
	exitDatabase   = 4   // database updates needed or downgrade refused
	exitLocked     = 5   // locked by another process
	exitRolledBack = 6   // install failed and was rolled back
	exitManual     = 7   // could not roll back: manual action needed
	exitNoCommand  = 127 // the command after -- cannot be started
)

// errUsage marks errors in how upkeep was called.
var errUsage = errors.New("usage")

// errCannotStart is a command after -- that cannot be started.
var errCannotStart = errors.New("cannot start the application")

func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, updates.ErrManual):
		return exitManual // even when interrupted: a person must act
	case errors.As(err, new(*interruptedError)):
		var ie *interruptedError
		errors.As(err, &ie)
		return 128 + int(ie.sig) // 130 SIGINT, 143 SIGTERM
	case errors.Is(err, errUsage):
		return exitUsage
	case errors.Is(err, errCannotStart):
		return exitNoCommand
	case errors.Is(err, updates.ErrPending):
		return exitPending
	case errors.Is(err, lock.ErrLocked), errors.Is(err, packs.ErrLocked):
		return exitLocked
	case errors.Is(err, packs.ErrDatabaseBehind), errors.Is(err, packs.ErrDowngrade), errors.Is(err, packs.ErrChecksumChanged), errors.Is(err, packs.ErrDrift),
		errors.Is(err, packs.ErrShared):
		return exitDatabase
	case errors.Is(err, updates.ErrInstallFailed), errors.Is(err, updates.ErrRehearsalFailed):
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

// report prints err the way a person can act on it and returns the exit
// code: "upkeep: error: ..." and "upkeep: hint: ..." lines on stderr and,
// with --json (asJSON), also the error document on stdout, unless the
// command already printed its document there:
//
//	{"json_format": 1, "error": {"message": "...", "hint": "...", "exit_code": N}}
func report(stdout *trackedWriter, stderr io.Writer, err error, asJSON bool) int {
	code := exitCode(err)
	if err == nil {
		return code
	}
	msg := strings.TrimPrefix(err.Error(), errUsage.Error()+": ")
	switch code {
	case exitPending:
		fmt.Fprintf(stderr, "upkeep: %s\n", textsafe.Clean(err.Error()))
	default:
		for _, line := range strings.Split(msg, "\n") {
			fmt.Fprintf(stderr, "upkeep: error: %s\n", textsafe.Clean(line))
		}
	}
	hint := ""
	var h *hinted
	if errors.As(err, &h) {
		hint = h.hint
	} else if code == exitUsage {
		hint = "run 'upkeep --help' for usage"
	}
	if hint != "" {
		fmt.Fprintf(stderr, "upkeep: hint: %s\n", textsafe.Clean(hint))
	}
	if asJSON && !stdout.wrote {
		type jsonError struct {
			Message  string `json:"message"`
			Hint     string `json:"hint,omitempty"`
			ExitCode int    `json:"exit_code"`
		}
		printJSON(stdout, struct {
			Error jsonError `json:"error"`
		}{jsonError{msg, hint, code}})
	}
	return code
}

// trackedWriter remembers whether anything was written through it, so
// that an error after a command's JSON document adds no second document.
type trackedWriter struct {
	w     io.Writer
	wrote bool
}

func (t *trackedWriter) Write(p []byte) (int, error) {
	t.wrote = t.wrote || len(p) > 0
	return t.w.Write(p)
}
