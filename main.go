package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/upkeep/upkeep/internal/lock"
	"github.com/upkeep/upkeep/packs"
	"github.com/upkeep/upkeep/updates"
)

// Version is upkeep's version, set at build time with -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

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
	case errors.Is(err, packs.ErrDatabaseBehind), errors.Is(err, packs.ErrDowngrade), errors.Is(err, packs.ErrChecksumChanged):
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

func main() {
	// upkeep runs for a moment and its heap stays small (the scan reads
	// manifests, installs stream): collecting a quarter as often costs a
	// few megabytes and saves a third of the scan's time.
	debug.SetGCPercent(400)
	args, command := splitCommand(os.Args)
	app := newApp(os.Stdout, os.Stderr, command)
	err := app.Run(flagsFirst(app, args))
	os.Exit(report(os.Stderr, err))
}

// splitCommand splits off the application command that follows the first
// "--": upkeep runs it once the start succeeds.
func splitCommand(args []string) (upkeepArgs, command []string) {
	for i, a := range args {
		if a == "--" {
			return args[:i], args[i+1:]
		}
	}
	return args, nil
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
