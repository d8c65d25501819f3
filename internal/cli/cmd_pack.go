package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/manifest"
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
			"is read from the environment variable UPKEEP_KEY_PASSWORD.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the zip to `OUT.zip` (required)"},
			&cli.StringFlag{Name: "sign", Usage: "sign with the minisign secret key in `KEY`"},
		},
		Action: runPack,
	}
}

func runPack(c *cli.Context) error {
	dir, err := oneArg(c, "DIR")
	if err != nil {
		return err
	}
	out := c.String("output")
	if out == "" {
		return usageError("pack needs -o OUT.zip")
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
	if globalBool(c, "json") {
		return writeJSON(c.App.Writer, struct {
			Zip       string             `json:"zip"`
			Signature string             `json:"signature,omitempty"`
			Manifest  *manifest.Manifest `json:"manifest"`
		}{out, sig, m})
	}
	if !globalBool(c, "quiet") {
		fmt.Fprintf(c.App.Writer, "wrote %s: %s %s, %d files, schema version %d\n", out, m.Pack, m.Version, len(m.Files), m.SchemaVersion())
		if sig != "" {
			fmt.Fprintf(c.App.Writer, "wrote %s\n", sig)
		}
	}
	return nil
}
