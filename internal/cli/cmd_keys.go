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
				Action: anywhere(runKeysGenerate),
			},
			{
				Name:      "trust",
				Usage:     "trust a minisign public key: copy it into ROOT/.upkeep/trusted/",
				ArgsUsage: "FILE",
				Action:    action(runKeysTrust),
			},
			{
				Name:   "list",
				Usage:  "the IDs of the trusted keys",
				Action: action(runKeysList),
			},
		},
	}
}

func runKeysGenerate(c *cli.Context, g *GlobalOptions) error {
	if c.Args().Present() {
		return usageError("keys generate takes no arguments")
	}
	name := c.String("name")
	pub, sec := name+".pub", name+".key"
	id, err := signing.GenerateKey(pub, sec, os.Getenv("UPKEEP_KEY_PASSWORD"))
	if err != nil {
		return err
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "wrote %s and %s (key %s)\n", pub, sec, id)
		fmt.Fprintf(g.Stdout, "Keep %s secret. On each root that should trust it: upkeep keys trust %s\n", sec, filepath.Base(pub))
	}
	return nil
}

func runKeysTrust(c *cli.Context, g *GlobalOptions) error {
	file, err := oneArg(c, "FILE")
	if err != nil {
		return err
	}
	id, err := signing.Trust(file, g.Root.Trusted())
	if err != nil {
		return err
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "trusted key %s; from now on unsigned update zips are refused\n", id)
	}
	return nil
}

func runKeysList(c *cli.Context, g *GlobalOptions) error {
	opts := g.scanOptions()
	kr, err := signing.LoadKeyring(g.Root.Trusted(), opts.TrustedKeys)
	if err != nil {
		return err
	}
	if g.JSON {
		type keyDoc struct {
			ID string `json:"id"`
		}
		keys := []keyDoc{}
		for _, id := range kr.IDs() {
			keys = append(keys, keyDoc{id})
		}
		return printJSON(g.Stdout, struct {
			Keys []keyDoc `json:"keys"`
		}{keys})
	}
	if kr.Len() == 0 {
		fmt.Fprintln(g.Stdout, "No key is trusted: update zips need no signature.")
		return nil
	}
	fmt.Fprintln(g.Stdout, strings.Join(kr.IDs(), "\n"))
	return nil
}
