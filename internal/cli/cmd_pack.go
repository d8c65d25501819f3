package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/manifest"
	"github.com/upkeep/upkeep/packs"
)

func packCommand() *cli.Command {
	return &cli.Command{
		Name:      "pack",
		Usage:     "build an update zip from a pack's source folder",
		ArgsUsage: "DIR",
		Description: "DIR holds the pack's manifest.json, without \"files\", and its payload, with\n" +
			"migrations/ if the pack has any. upkeep pack lists every file with its size,\n" +
			"sha256 and mode, takes database.schema_version from the last migration when it\n" +
			"is not given, and writes the zip. The same folder always gives the same bytes.\n" +
			"With --sign, it also writes OUT.zip.minisig; an encrypted secret key's password\n" +
			"is read from the environment variable UPKEEP_KEY_PASSWORD.\n" +
			"Left out: .git, .hg, .svn, .DS_Store, Thumbs.db, the zip being written (and\n" +
			"its temporary file) when it is inside DIR, what --exclude names, and what\n" +
			"DIR/.upkeepignore names (one glob a line; a glob without a slash matches a\n" +
			"name at any depth, one with a slash the path from DIR).\n" +
			"Files in migrations/ that are not migrations (a README, Go files) are packed\n" +
			"as files and never run; pack says so, and warns about names that look like\n" +
			"mistaken migration names and about tables the migrations touch that\n" +
			"database.tables does not list. A pack that ships\n" +
			"schema.sql is refused when its migrations do not produce it (see db generate).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the zip to `OUT.zip` (required)"},
			&cli.StringFlag{Name: "sign", Usage: "sign with the minisign secret key in `KEY`"},
			&cli.StringSliceFlag{Name: "exclude", Usage: "leave out files and folders matching `GLOB` (repeatable)"},
			devDBFlag(),
		},
		Action: anywhere(runPack),
	}
}

func runPack(c *cli.Context, g *GlobalOptions) error {
	dir, err := oneArg(c, "DIR")
	if err != nil {
		return err
	}
	out := c.String("output")
	if out == "" {
		return usageError("pack needs -o OUT.zip")
	}
	if fi, err := os.Stat(filepath.Dir(out)); err != nil || !fi.IsDir() {
		return withHint(fmt.Errorf("pack: cannot write %s: the folder %s does not exist", out, filepath.Dir(out)), "create it first (mkdir -p %s), or give -o a path in an existing folder", filepath.Dir(out))
	}
	if _, err := packs.CheckDesired(c.Context, dir, packs.DesiredOptions{DevDB: c.String("dev-db"), Production: g.DB, Root: g.Root.Dir}); err != nil {
		return desiredHint(err, dir)
	}
	opts := manifest.BuildOptions{Exclude: c.StringSlice("exclude"), Skip: outputPatterns(out)}
	if !g.Quiet && !g.JSON {
		opts.Progress = g.Stderr
	}
	var res *manifest.BuildResult
	err = atomicfile.Write(out, 0o644, func(w io.Writer) error {
		var berr error
		res, berr = manifest.BuildWith(dir, w, opts)
		return berr
	})
	if err != nil {
		return err
	}
	m := res.Manifest
	if !g.JSON {
		for _, n := range res.Notes {
			if !g.Quiet {
				fmt.Fprintf(g.Stderr, "upkeep: note: %s\n", n)
			}
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(g.Stderr, "upkeep: warning: %s\n", w)
		}
	}
	sig := ""
	if key := c.String("sign"); key != "" {
		password, err := keyPassword(g, key)
		if err == nil {
			sig, err = signing.SignFile(key, password, out)
		}
		if err != nil {
			os.Remove(out)
			return signingError(err)
		}
	}
	if g.JSON {
		return printJSON(g.Stdout, struct {
			Zip       string             `json:"zip"`
			Signature string             `json:"signature,omitempty"`
			Manifest  *manifest.Manifest `json:"manifest"`
			Notes     []string           `json:"notes"`
			Warnings  []string           `json:"warnings"`
			Excluded  int                `json:"excluded"`
		}{out, sig, m, res.Notes, res.Warnings, res.Excluded})
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "wrote %s: %s %s, %d files, schema version %d\n", out, m.Pack, m.Version, len(m.Files), m.SchemaVersion())
		if sig != "" {
			fmt.Fprintf(g.Stdout, "wrote %s\n", sig)
		}
	}
	return nil
}

// outputPatterns are the paths of the zip being written and of its
// temporary file (see atomicfile.Write), as given and with symlinks
// resolved, for manifest.BuildOptions.Skip: a zip written inside the
// folder it packs must not pack itself, nor a previous build of itself.
func outputPatterns(out string) []string {
	abs, err := filepath.Abs(out)
	if err != nil {
		return nil
	}
	dirs := []string{filepath.Dir(abs)}
	if real, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil && real != dirs[0] {
		dirs = append(dirs, real)
	}
	base := filepath.Base(abs)
	var pats []string
	for _, d := range dirs {
		pats = append(pats, globEscape(filepath.Join(d, base)), globEscape(filepath.Join(d, "."+base))+".*.tmp",
			globEscape(filepath.Join(d, base))+".minisig")
	}
	return pats
}

// globEscape quotes the metacharacters of filepath.Match in s.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
