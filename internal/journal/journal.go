// Package journal is the one way upkeep keeps the durable record of work in
// progress: the install journal (.upkeep/journal.json) and the restore
// journal (.upkeep/restore/journal.json) are both a [File]. A record is
// JSON, rewritten atomically (package atomicfile) before each phase, so a
// crash at any instant leaves the record of the last phase begun; its
// phase is a string type of the journal's own, and a record whose phase is
// not one of the journal's is refused as damaged, not guessed at.
package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/internal/statefile"
)

// Phase is the type of a journal's phases: a string type per journal.
type Phase interface{ ~string }

// File is the journal at Path: records of type T whose phase, read by
// PhaseOf, is one of Phases.
type File[T any, P Phase] struct {
	Path    string
	Phases  []P
	PhaseOf func(*T) P
}

// Save writes rec durably in place of the journal's record. The folder of
// the journal must exist.
func (f File[T, P]) Save(rec *T) error {
	if p := f.PhaseOf(rec); !slices.Contains(f.Phases, p) {
		return fmt.Errorf("%s: refusing to record unknown phase %q", f.Path, p)
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(f.Path, append(data, '\n'), 0o644)
}

// Load reads the journal's record; nil, nil when there is none.
func (f File[T, P]) Load() (*T, error) {
	data, err := statefile.ReadFile(f.Path) // never through a link
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	var rec T
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("%s: damaged journal: %w", f.Path, err)
	}
	if p := f.PhaseOf(&rec); !slices.Contains(f.Phases, p) {
		return nil, fmt.Errorf("%s: damaged journal: unknown phase %q", f.Path, p)
	}
	return &rec, nil
}

// Remove deletes the journal durably: after it, the work is over. A
// missing journal is no error.
func (f File[T, P]) Remove() error {
	if err := os.Remove(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clean up: %w", err)
	}
	return atomicfile.SyncDir(filepath.Dir(f.Path))
}
