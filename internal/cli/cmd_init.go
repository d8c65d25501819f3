package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/internal/dbaddr"
	"github.com/upkeep/upkeep/layout"
	"github.com/upkeep/upkeep/packs"
)

func initCommand() *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "make DIR (default: --root) an upkeep root: its folders, and upkeep's tables in the database (data/app.db unless --db says another)",
		ArgsUsage: "[DIR]",
		Description: "Creates what is missing and says what it made; running it again on a root makes\n" +
			"nothing. Every other command refuses a folder that is not a root.",
		Action: anywhere(runInit),
	}
}

// initDoc is the JSON document of upkeep init (docs/json.md).
type initDoc struct {
	Root     string   `json:"root"`
	Created  []string `json:"created"`  // absolute paths of what init made, folders and the SQLite file
	Database string   `json:"database"` // the database, without password
}

func runInit(c *cli.Context, g *GlobalOptions) error {
	if c.Args().Len() > 1 {
		return usageError("init takes at most one argument, DIR")
	}
	if dir := c.Args().First(); dir != "" {
		root, err := layout.Open(dir)
		if err != nil {
			return err
		}
		g.Root = root
	}
	// Unlike the other commands, init makes a missing database even when
	// packs are installed: asked for, it is no mistyped --db.
	root := g.Root
	a, err := dbaddr.Parse(g.DB, root.Dir)
	if err != nil {
		return fmt.Errorf("init %s: %w", root.Dir, err)
	}
	made, err := root.Init()
	if err != nil {
		return err
	}
	var newFiles []string // the SQLite file and the folders packs.Open makes for it
	if a.Kind == dbaddr.SQLite {
		for p := a.Path; p != root.Dir && p != filepath.Dir(p); p = filepath.Dir(p) {
			if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
				break
			}
			newFiles = append([]string{p}, newFiles...)
		}
	}
	db, err := packs.Open(c.Context, g.DB, root.Dir)
	if err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	made = append(made, newFiles...)
	if g.JSON {
		return printJSON(g.Stdout, initDoc{Root: root.Dir, Created: made, Database: a.String()})
	}
	if g.Quiet {
		return nil
	}
	w := g.Stdout
	if len(made) == 0 {
		fmt.Fprintf(w, "%s is an upkeep root already: nothing to make.\n", root.Dir)
		return nil
	}
	fmt.Fprintf(w, "Made %s an upkeep root:\n", root.Dir)
	for _, p := range made {
		fmt.Fprintf(w, "  created %s\n", p)
	}
	fmt.Fprintf(w, "Database: %s, with upkeep's tables. Drop update zips into %s.\n", a, root.Pending())
	return nil
}
