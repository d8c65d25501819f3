package feed

import (
	"errors"
	"fmt"

	"github.com/upkeep/upkeep/manifest"
)

// Sentinel errors. Callers sort errors with errors.Is.
var (
	// ErrInvalidIndex marks each problem [Parse] finds in an index.json:
	// bad JSON, an unknown or repeated field, a field of the wrong type or
	// with a bad value. Each is a [*Problem].
	ErrInvalidIndex = errors.New("feed: invalid index.json")

	// ErrNoTrustedKey is returned by a fetch when the root trusts no key:
	// a feed is only ever accepted signed, so there is nothing to check it
	// against. `upkeep keys trust FILE.pub` fixes it.
	ErrNoTrustedKey = errors.New("feed: no trusted key")

	// ErrIndexRefused is matched by the error of a fetch whose index is not
	// signed by a trusted key, has expired, or replays an older serial (or
	// the same serial with other content). Nothing was downloaded.
	ErrIndexRefused = errors.New("feed: index refused")

	// ErrDownload is matched by the error of a zip that could not be
	// downloaded, or whose bytes do not match the index (size, sha256,
	// signature, manifest). Nothing of it is in Updates_Pending.
	ErrDownload = errors.New("feed: download failed")

	// ErrBuild is returned by [Build] when the folder of zips cannot make a
	// feed: a zip that is not a valid update, two zips of the same pack and
	// version, an index in the output folder that cannot be read.
	ErrBuild = errors.New("feed: cannot build feed")
)

// Problem is one thing wrong with an index.json: the problem type of
// package manifest, whose Zip names the index (its URL or path), Detail
// the field and what is wrong, and Err is ErrInvalidIndex. Its message is
// one line:
//
//	index.json: FIELD: DETAIL
type Problem = manifest.Problem

// RefusedError says why an index was refused.
type RefusedError struct {
	URL    string
	Reason string
	Hint   string // the command that helps, or ""
}

func (e *RefusedError) Error() string { return fmt.Sprintf("feed %s: %s", e.URL, e.Reason) }

// Is makes errors.Is(err, ErrIndexRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrIndexRefused }

// DownloadError says which zip of a feed failed and why.
type DownloadError struct {
	File string // the zip's name in Updates_Pending
	URL  string
	Err  error
}

func (e *DownloadError) Error() string { return fmt.Sprintf("%s (%s): %v", e.File, e.URL, e.Err) }

func (e *DownloadError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrDownload) true.
func (e *DownloadError) Is(target error) bool { return target == ErrDownload }
