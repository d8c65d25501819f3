package cli

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// flagsFirst reorders args so that, within each command, flags come before
// positional arguments: urfave/cli stops reading flags at the first
// positional one, and people write `upkeep pack DIR -o OUT.zip` and
// `upkeep updates show ZIP --root DIR`. Which flags take a value is read
// from the flag definitions of the command the flag belongs to.
func flagsFirst(app *cli.App, args []string) []string {
	if len(args) == 0 {
		return args
	}
	out := []string{args[0]}
	flags, commands := app.Flags, app.Commands
	rest := args[1:]
	for {
		var positional []string
		i := 0
		for ; i < len(rest); i++ {
			a := rest[i]
			if !strings.HasPrefix(a, "-") || a == "-" {
				if sub := findCommand(commands, a); sub != nil && len(positional) == 0 {
					break
				}
				positional = append(positional, a)
				continue
			}
			out = append(out, a)
			if takesValue(flags, a) && i+1 < len(rest) {
				i++
				out = append(out, rest[i])
			}
		}
		if i == len(rest) {
			return append(out, positional...)
		}
		sub := findCommand(commands, rest[i])
		out = append(out, rest[i])
		flags, commands, rest = sub.Flags, sub.Subcommands, rest[i+1:]
	}
}

func findCommand(commands []*cli.Command, name string) *cli.Command {
	for _, c := range commands {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// takesValue tells whether the flag arg ("-o", "--root", "--root=x") needs
// the next argument as its value.
func takesValue(flags []cli.Flag, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") {
		return false
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if bf, ok := f.(*cli.BoolFlag); ok && bf != nil {
				return false
			}
			return true
		}
	}
	return false
}

func oneArg(c *cli.Context, what string) (string, error) {
	if c.Args().Len() != 1 {
		return "", usageError("%s takes one argument, %s", c.Command.HelpName, what)
	}
	return c.Args().First(), nil
}

// before is a command's Before: the checks of its own arguments and
// flags, which need nothing but them, made before anything else (the
// check of the root among them), so that a usage error exits 2 wherever
// the command is run.
func before(checks ...func(*cli.Context) error) cli.BeforeFunc {
	return func(c *cli.Context) error {
		for _, check := range checks {
			if err := check(c); err != nil {
				return err
			}
		}
		return nil
	}
}

// argOne checks that the command has one argument, what.
func argOne(what string) func(*cli.Context) error {
	return func(c *cli.Context) error {
		_, err := oneArg(c, what)
		return err
	}
}

// argsNone checks that the command (named as in its messages) has no
// arguments.
func argsNone(command string) func(*cli.Context) error {
	return func(c *cli.Context) error {
		if c.Args().Present() {
			return usageError("%s takes no arguments", command)
		}
		return nil
	}
}

// helpOfHelp turns `upkeep help --help` into `upkeep help help`: urfave/cli
// answers --help on a command named help with the application's help,
// where every other command gives its own.
func helpOfHelp(app *cli.App, args []string) []string {
	for i := 1; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if takesValue(app.Flags, a) {
				i++ // upkeep's own flag and its value
			}
			continue
		}
		if a != "help" || i+1 == len(args) {
			return args
		}
		for _, f := range args[i+1:] {
			if f != "--help" && f != "-help" && f != "-h" && f != "--h" {
				return args
			}
		}
		return append(args[:i+1:i+1], "help")
	}
	return args
}
