package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/upkeep/upkeep/internal/dbaddr"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

// errMissingDB is a SQLite database file that does not exist while packs
// are installed: a mistyped --db, which must not become a new, empty
// database the application then starts on.
var errMissingDB = errors.New("the database does not exist")

// checkRoot refuses a --root that is not a root (it creates nothing) and,
// with db, a SQLite database file that is missing while packs are
// installed. Each error carries the hint that fixes it.
func checkRoot(g *GlobalOptions, db bool) error {
	if err := g.Root.Check(); err != nil {
		if errors.Is(err, layout.ErrNotRoot) {
			return withHint(err, "check --root (or UPKEEP_ROOT); to make a new root there: upkeep init %s", shellQuote(g.Root.Dir))
		}
		return err
	}
	if !db {
		return nil
	}
	a, err := dbaddr.Parse(g.DB, g.Root.Dir)
	if err != nil || a.Kind != dbaddr.SQLite {
		return nil // the command's own opening reports a bad address
	}
	if _, err := os.Stat(a.Path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	installed, err := packs.List(g.Root.Packs())
	if err != nil || len(installed) == 0 {
		return nil // a new root: its start makes the database
	}
	names := make([]string, len(installed))
	for i, p := range installed {
		names[i] = p.Name
	}
	return withHint(fmt.Errorf("%w: %s is missing, but %d pack(s) are installed in %s (%s)", errMissingDB, a.Path, len(installed), g.Root.Packs(), strings.Join(names, ", ")),
		"check --db (or UPKEEP_DB): upkeep does not make a new, empty database for installed packs; if the database was lost, restore it (upkeep backups list, then upkeep backups restore ID); to start on a new, empty database on purpose: upkeep init")
}

// shellQuote quotes s for a command line a person copies, when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:@,=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
