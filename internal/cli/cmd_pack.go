package cli

import (
	"fmt"
	"io"
	"os"

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
			"is read from the environment variable UPKEEP_KEY_PASSWORD. A pack that ships\n" +
			"schema.sql is refused when its migrations do not produce it (see db generate).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the zip to `OUT.zip` (required)"},
			&cli.StringFlag{Name: "sign", Usage: "sign with the minisign secret key in `KEY`"},
			devDBFlag(),
		},
		Action: action(runPack),
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
	if _, err := packs.CheckDesired(c.Context, dir, packs.DesiredOptions{DevDB: c.String("dev-db"), Production: g.DB, Root: g.Root.Dir}); err != nil {
		return desiredHint(err, dir)
	}
	var m *manifest.Manifest
	err = atomicfile.Write(out, 0o644, func(w io.Writer) error {
		var berr error
		m, berr = manifest.Build(dir, w)
		return berr
	})
	if err != nil {
		return err
	}
	sig := ""
	if key := c.String("sign"); key != "" {
		if sig, err = signing.SignFile(key, os.Getenv("UPKEEP_KEY_PASSWORD"), out); err != nil {
			os.Remove(out)
			return err
		}
	}
	if g.JSON {
		return printJSON(g.Stdout, struct {
			Zip       string             `json:"zip"`
			Signature string             `json:"signature,omitempty"`
			Manifest  *manifest.Manifest `json:"manifest"`
		}{out, sig, m})
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "wrote %s: %s %s, %d files, schema version %d\n", out, m.Pack, m.Version, len(m.Files), m.SchemaVersion())
		if sig != "" {
			fmt.Fprintf(g.Stdout, "wrote %s\n", sig)
		}
	}
	return nil
}
