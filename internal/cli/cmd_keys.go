package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/upkeep/upkeep/internal/signing"
)

func keysCommand() *cli.Command {
	return &cli.Command{
		Name:  "keys",
		Usage: "minisign keys: make a key pair, trust a public key, stop trusting one, list them",
		Subcommands: []*cli.Command{
			{
				Name:  "generate",
				Usage: "write a new key pair, NAME.pub and NAME.key, the secret key encrypted with a password",
				Description: "As minisign -G does, the secret key is encrypted with a password: asked for\n" +
					"(twice) on a terminal, read from UPKEEP_KEY_PASSWORD otherwise. --unencrypted\n" +
					"writes it unencrypted (minisign -G -W), for a key kept in a secret store.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "name", Value: "upkeep", Usage: "write `NAME`.pub and NAME.key"},
					&cli.BoolFlag{Name: "unencrypted", Usage: "do not encrypt the secret key (no password)"},
				},
				Action: anywhere(runKeysGenerate),
			},
			{
				Name:      "trust",
				Usage:     "trust a minisign public key: copy it into ROOT/.upkeep/trusted/",
				ArgsUsage: "FILE",
				Before:    before(argOne("FILE")),
				Action:    action(runKeysTrust),
			},
			{
				Name:      "untrust",
				Usage:     "stop trusting a key: remove it from ROOT/.upkeep/trusted/",
				ArgsUsage: "ID",
				Before:    before(argOne("ID")),
				Action:    action(runKeysUntrust),
			},
			{
				Name:   "list",
				Usage:  "the trusted keys: ID, comment and file",
				Action: action(runKeysList),
			},
		},
	}
}

// passwordHint says how to give a secret key's password.
const passwordHint = "give the password in UPKEEP_KEY_PASSWORD, or run on a terminal to be asked for it"

// keyPassword is the password of the secret key secPath: UPKEEP_KEY_PASSWORD,
// else, when the key is encrypted and standard input is a terminal, one
// read from it; else "" (and signing an encrypted key says how to give it).
func keyPassword(g *GlobalOptions, secPath string) (string, error) {
	if p := os.Getenv("UPKEEP_KEY_PASSWORD"); p != "" {
		return p, nil
	}
	if !signing.IsEncryptedKey(secPath) || !term.IsTerminal(int(os.Stdin.Fd())) {
		return "", nil
	}
	return readPassword(g, "Password of "+secPath+": ")
}

func readPassword(g *GlobalOptions, prompt string) (string, error) {
	fmt.Fprint(g.Stderr, prompt)
	p, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(g.Stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(p), nil
}

// signingError adds to err the hint that says how to give a password, when
// that is what was missing.
func signingError(err error) error {
	if errors.Is(err, signing.ErrPasswordNeeded) {
		return withHint(err, passwordHint)
	}
	return err
}

func runKeysGenerate(c *cli.Context, g *GlobalOptions) error {
	if c.Args().Present() {
		return usageError("keys generate takes no arguments")
	}
	name := c.String("name")
	pub, sec := name+".pub", name+".key"
	password := ""
	if !c.Bool("unencrypted") {
		password = os.Getenv("UPKEEP_KEY_PASSWORD")
		if password == "" && term.IsTerminal(int(os.Stdin.Fd())) {
			p1, err := readPassword(g, "Password for the new key "+sec+": ")
			if err != nil {
				return err
			}
			p2, err := readPassword(g, "Password again: ")
			if err != nil {
				return err
			}
			if p1 != p2 {
				return errors.New("keys generate: the two passwords differ; nothing was written")
			}
			password = p1
		}
		if password == "" {
			return withHint(fmt.Errorf("keys generate: %w; nothing was written", signing.ErrPasswordNeeded),
				"give the password in UPKEEP_KEY_PASSWORD, or run on a terminal to be asked for it, or write the key unencrypted with --unencrypted")
		}
	}
	id, err := signing.GenerateKey(pub, sec, password)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.Stdout, struct {
			ID        string `json:"id"`
			Public    string `json:"public"`
			Secret    string `json:"secret"`
			Encrypted bool   `json:"encrypted"`
		}{id, pub, sec, password != ""})
	}
	if !g.Quiet {
		how := "encrypted: signing asks for its password, or reads UPKEEP_KEY_PASSWORD"
		if password == "" {
			how = "unencrypted"
		}
		fmt.Fprintf(g.Stdout, "wrote %s and %s (key %s; %s)\n", pub, sec, id, how)
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
	if g.JSON {
		return printJSON(g.Stdout, struct {
			ID string `json:"id"`
		}{id})
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "trusted key %s; from now on unsigned update zips are refused\n", id)
	}
	return nil
}

func runKeysUntrust(c *cli.Context, g *GlobalOptions) error {
	id, err := oneArg(c, "ID")
	if err != nil {
		return err
	}
	removed, err := signing.Untrust(g.Root.Trusted(), id)
	if errors.Is(err, signing.ErrNotTrusted) {
		return withHint(err, "'upkeep keys list' shows the trusted keys")
	}
	if err != nil {
		return err
	}
	kr, err := signing.LoadKeyring(g.Root.Trusted(), nil)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(g.Stdout, struct {
			Removed []string `json:"removed"`
			Trusted int      `json:"trusted"`
		}{removed, kr.Len()})
	}
	if !g.Quiet {
		for _, f := range removed {
			fmt.Fprintf(g.Stdout, "removed %s\n", f)
		}
		if kr.Len() == 0 {
			fmt.Fprintln(g.Stdout, "No key is trusted any more: update zips need no signature.")
		}
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
			ID      string `json:"id"`
			Comment string `json:"comment"`
			File    string `json:"file"`
		}
		keys := []keyDoc{}
		for _, k := range kr.Keys() {
			keys = append(keys, keyDoc{k.ID, k.Comment, k.File})
		}
		return printJSON(g.Stdout, struct {
			Keys []keyDoc `json:"keys"`
		}{keys})
	}
	if kr.Len() == 0 {
		fmt.Fprintln(g.Stdout, "No key is trusted: update zips need no signature.")
		return nil
	}
	for _, k := range kr.Keys() {
		fmt.Fprintf(g.Stdout, "%-16s  %s  (%s)\n", k.ID, k.File, k.Comment)
	}
	return nil
}
