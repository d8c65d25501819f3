// Package lock is the root's lock: one upkeep process at a time changes a
// root. It is an exclusive flock(2) on ROOT/.upkeep/lock, so the kernel
// releases it when its holder dies, even by kill -9 (on Windows, LockFileEx,
// released the same way). The file says who holds it, for the message of the
// process that waits. It is opened without following symbolic links, in a
// state folder that is not one either (see internal/statefile).
//
// On a read-only file system the lock file cannot be created or written:
// [Acquire] says so with [ErrReadOnly], and [AcquireReadOnly] takes the lock
// through a read-only handle when the file exists (nobody can install on
// such a root anyway), or no lock when it does not.
package lock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/upkeep/upkeep/internal/statefile"
)

// ErrLocked is matched by the error [Acquire] returns when another process
// still holds the lock after the timeout. The error is a [*HeldError].
var ErrLocked = errors.New("lock: locked by another process")

// ErrReadOnly is matched by the error [Acquire] returns when the lock file
// cannot be created or opened for writing because its file system is
// read-only.
var ErrReadOnly = errors.New("lock: read-only file system")

// HeldError names the lock file and what its holder wrote in it.
type HeldError struct {
	Path   string
	Holder string // "pid 123 on host, install since 2026-11-21T08:00:00Z", or "" when unknown
	Waited time.Duration
}

func (e *HeldError) Error() string {
	holder := e.Holder
	if holder == "" {
		holder = "another process"
	}
	return fmt.Sprintf("%s is held by %s (waited %s)", e.Path, holder, e.Waited.Round(time.Millisecond))
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *HeldError) Is(target error) bool { return target == ErrLocked }

// Lock is a held lock.
type Lock struct {
	f        *os.File // nil: nothing held (a read-only root without a lock file)
	readOnly bool
}

// poll is how often a waiting process tries again.
const poll = 25 * time.Millisecond

// Acquire takes the lock at path, waiting up to timeout (0: try once). What
// says what the holder does ("install", "db up"); it is written into the
// lock file for whoever waits.
func Acquire(ctx context.Context, path, what string, timeout time.Duration) (*Lock, error) {
	f, err := statefile.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		if errors.Is(err, syscall.EROFS) {
			return nil, fmt.Errorf("lock %s: %w (%w)", path, ErrReadOnly, err)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := wait(ctx, f, path, timeout); err != nil {
		return nil, err
	}
	if err := statefile.Check(filepath.Dir(path)); err != nil {
		unlock(f)
		f.Close()
		return nil, err
	}
	host, _ := os.Hostname()
	info := fmt.Sprintf("pid %d on %s, %s since %s\n", os.Getpid(), host, what, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(info), 0) // best effort: it only names the holder
	}
	return &Lock{f: f}, nil
}

// AcquireReadOnly takes the lock at path on a read-only file system, for
// work that writes nothing: through a read-only handle when the file
// exists, waiting like [Acquire]; when it does not exist, no process can
// have taken it, and the returned Lock holds nothing.
func AcquireReadOnly(ctx context.Context, path string, timeout time.Duration) (*Lock, error) {
	f, err := statefile.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return &Lock{}, statefile.Check(filepath.Dir(path))
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := wait(ctx, f, path, timeout); err != nil {
		return nil, err
	}
	if err := statefile.Check(filepath.Dir(path)); err != nil {
		unlock(f)
		f.Close()
		return nil, err
	}
	return &Lock{f: f, readOnly: true}, nil
}

// wait takes the lock on f, trying again until timeout; it closes f when it
// fails.
func wait(ctx context.Context, f *os.File, path string, timeout time.Duration) error {
	start := time.Now()
	for {
		busy, err := tryLock(f)
		if err == nil && !busy {
			return nil
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("lock %s: %w", path, err)
		}
		waited := time.Since(start)
		if waited >= timeout {
			holder := readHolder(path)
			f.Close()
			return &HeldError{Path: path, Holder: holder, Waited: waited}
		}
		select {
		case <-ctx.Done():
			f.Close()
			return ctx.Err()
		case <-time.After(min(poll, timeout-waited)):
		}
	}
}

// Release frees the lock. The lock file stays.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	if !l.readOnly {
		l.f.Truncate(0)
	}
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

func readHolder(path string) string {
	data, err := statefile.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// Probe tells whether the lock at path is held, and by whom, without
// taking it and without creating the file.
func Probe(path string) (held bool, holder string, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, "", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("lock %s: %w", path, err)
	}
	defer f.Close()
	// A shared lock conflicts with the holder's exclusive one; taken, it
	// is dropped at once, so a waiting Acquire loses one poll at most.
	busy, err := tryShared(f)
	if err != nil {
		return false, "", fmt.Errorf("lock %s: %w", path, err)
	}
	if busy {
		return true, readHolder(path), nil
	}
	return false, "", nil
}
