package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/internal/atomicfile"
	"github.com/upkeep/upkeep/internal/signing"
	"github.com/upkeep/upkeep/manifest"
	"github.com/upkeep/upkeep/updates"
)

func updatesCommand() *cli.Command {
	return &cli.Command{
		Name:  "updates",
		Usage: "look at the update zips in Updates_Pending",
		Subcommands: []*cli.Command{
			{
				Name:   "list",
				Usage:  "one line per update zip: file, status, pack, installed -> new version",
				Action: runUpdatesList,
			},
			{
				Name:      "show",
				Usage:     "everything known about one update zip, and what stands in its way",
				ArgsUsage: "ZIP",
				Action:    runUpdatesShow,
			},
			{
				Name:      "verify",
				Usage:     "check one update zip in full, the sha256 of every file included; exit 1 on any problem",
				ArgsUsage: "ZIP",
				Action:    runUpdatesVerify,
			},
		},
	}
}

func runUpdatesList(c *cli.Context) error {
	if c.Args().Present() {
		return usageError("updates list takes no arguments")
	}
	opts, err := scanOptions(c)
	if err != nil {
		return err
	}
	r, err := updates.Scan(c.Context, opts)
	if err != nil {
		return err
	}
	if globalBool(c, "json") {
		return writeJSON(c.App.Writer, r)
	}
	if len(r.Updates) == 0 {
		if !globalBool(c, "quiet") {
			fmt.Fprintf(c.App.Writer, "No updates pending in %s.\n", rootOf(opts).Pending())
		}
		return nil
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tSTATUS\tPACK\tINSTALLED\tNEW")
	for _, u := range r.Updates {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.File, u.Status, dash(u.Pack), dash(u.InstalledVersion), dash(u.Version))
	}
	return tw.Flush()
}

func runUpdatesShow(c *cli.Context) error {
	zip, err := oneArg(c, "ZIP")
	if err != nil {
		return err
	}
	opts, err := scanOptions(c)
	if err != nil {
		return err
	}
	u, err := updates.ScanOne(c.Context, opts, zip)
	if err != nil {
		return err
	}
	if globalBool(c, "json") {
		return writeJSON(c.App.Writer, u)
	}
	return u.WriteText(c.App.Writer)
}

func runUpdatesVerify(c *cli.Context) error {
	zip, err := oneArg(c, "ZIP")
	if err != nil {
		return err
	}
	opts, err := scanOptions(c)
	if err != nil {
		return err
	}
	u, err := updates.Verify(c.Context, opts, zip)
	if u == nil {
		return err
	}
	if globalBool(c, "json") {
		if jerr := writeJSON(c.App.Writer, u); jerr != nil {
			return jerr
		}
	} else if err == nil && !globalBool(c, "quiet") {
		m := u.Manifest()
		fmt.Fprintf(c.App.Writer, "%s: ok: %s %s, %d files match their size and sha256; signature %s\n",
			zip, m.Pack, m.Version, len(m.Files), u.Signature.State)
	}
	return err
}

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

func keysCommand() *cli.Command {
	return &cli.Command{
		Name:  "keys",
		Usage: "minisign keys: make a key pair, trust a public key",
		Subcommands: []*cli.Command{
			{
				Name:  "generate",
				Usage: "write a new key pair, NAME.pub and NAME.key (encrypted when UPKEEP_KEY_PASSWORD is set)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "name", Value: "upkeep", Usage: "write `NAME`.pub and NAME.key"},
				},
				Action: runKeysGenerate,
			},
			{
				Name:      "trust",
				Usage:     "trust a minisign public key: copy it into ROOT/.upkeep/trusted/",
				ArgsUsage: "FILE",
				Action:    runKeysTrust,
			},
			{
				Name:   "list",
				Usage:  "the IDs of the trusted keys",
				Action: runKeysList,
			},
		},
	}
}

func runKeysGenerate(c *cli.Context) error {
	if c.Args().Present() {
		return usageError("keys generate takes no arguments")
	}
	name := c.String("name")
	pub, sec := name+".pub", name+".key"
	id, err := signing.GenerateKey(pub, sec, os.Getenv("UPKEEP_KEY_PASSWORD"))
	if err != nil {
		return err
	}
	if !globalBool(c, "quiet") {
		fmt.Fprintf(c.App.Writer, "wrote %s and %s (key %s)\n", pub, sec, id)
		fmt.Fprintf(c.App.Writer, "Keep %s secret. On each root that should trust it: upkeep keys trust %s\n", sec, filepath.Base(pub))
	}
	return nil
}

func runKeysTrust(c *cli.Context) error {
	file, err := oneArg(c, "FILE")
	if err != nil {
		return err
	}
	opts, err := scanOptions(c)
	if err != nil {
		return err
	}
	id, err := signing.Trust(file, rootOf(opts).Trusted())
	if err != nil {
		return err
	}
	if !globalBool(c, "quiet") {
		fmt.Fprintf(c.App.Writer, "trusted key %s; from now on unsigned update zips are refused\n", id)
	}
	return nil
}

func runKeysList(c *cli.Context) error {
	opts, err := scanOptions(c)
	if err != nil {
		return err
	}
	kr, err := signing.LoadKeyring(rootOf(opts).Trusted(), opts.TrustedKeys)
	if err != nil {
		return err
	}
	if globalBool(c, "json") {
		ids := kr.IDs()
		if ids == nil {
			ids = []string{}
		}
		return writeJSON(c.App.Writer, ids)
	}
	if kr.Len() == 0 {
		fmt.Fprintln(c.App.Writer, "No key is trusted: update zips need no signature.")
		return nil
	}
	fmt.Fprintln(c.App.Writer, strings.Join(kr.IDs(), "\n"))
	return nil
}

func oneArg(c *cli.Context, what string) (string, error) {
	if c.Args().Len() != 1 {
		return "", usageError("%s takes one argument, %s", c.Command.HelpName, what)
	}
	return c.Args().First(), nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
