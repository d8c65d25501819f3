package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/upkeep/upkeep/internal/signing"
)

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
