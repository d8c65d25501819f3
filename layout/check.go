package layout

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrNotRoot is returned by [Root.Check] for a folder that does not exist
// or is not an upkeep root; [Root.Init] makes one.
var ErrNotRoot = errors.New("not an upkeep root")

// Check tells whether r is a root: an existing folder that holds
// Updates_Pending/ or .upkeep/. It reads and creates nothing else. A
// mistyped --root must not become a new, empty root (an application started
// on an empty database), so every command but init calls it first.
func (r Root) Check() error {
	info, err := os.Stat(r.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s does not exist", ErrNotRoot, r.Dir)
	case err != nil:
		return fmt.Errorf("root %s: %w", r.Dir, err)
	case !info.IsDir():
		return fmt.Errorf("%w: %s is not a folder", ErrNotRoot, r.Dir)
	}
	for _, d := range []string{r.Pending(), r.State()} {
		info, err := os.Stat(d)
		if err == nil && info.IsDir() {
			return nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("root %s: %w", r.Dir, err)
		}
	}
	return fmt.Errorf("%w: %s holds neither %s/ nor %s/", ErrNotRoot, r.Dir, PendingDir, StateDir)
}

// Init makes r a root: it creates the folder itself and the root's
// folders that are missing (as [Root.Ensure]); the database is the
// caller's. It returns what it created, absolute, in order; none
// when r was a root with every folder already. It never removes or
// changes anything that is there.
func (r Root) Init() ([]string, error) {
	var made []string
	for _, d := range []string{r.Dir, r.Pending(), r.Installed(), r.Backups(), r.Packs(), r.State()} {
		if info, err := os.Stat(d); err == nil {
			if !info.IsDir() {
				return made, fmt.Errorf("init %s: %s is a file, not a folder", r.Dir, d)
			}
			continue
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return made, fmt.Errorf("init %s: %w", r.Dir, err)
		}
		made = append(made, d)
	}
	return made, nil
}
