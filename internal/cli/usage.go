package cli

import (
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"
)

// unknownSubcommands makes every command that has subcommands answer an
// unknown one with a usage error (exit 2) that names the closest command
// and the command's own help, at every level: `upkeep db stat`.
func unknownSubcommands(cmd *cli.Command, path string) {
	path = strings.TrimSpace(path + " " + cmd.Name)
	if len(cmd.Subcommands) > 0 && cmd.Action == nil {
		subs := cmd.Subcommands
		cmd.Action = func(c *cli.Context) error {
			if !c.Args().Present() {
				return cli.ShowSubcommandHelp(c)
			}
			return unknownCommand(c.Args().First(), subs, "upkeep "+path)
		}
	}
	for _, sub := range cmd.Subcommands {
		unknownSubcommands(sub, path)
	}
}

// unknownCommand is the usage error for name, not among commands of parent
// ("upkeep" or "upkeep db").
func unknownCommand(name string, commands []*cli.Command, parent string) error {
	var names []string
	for _, c := range commands {
		names = append(names, c.Names()...)
	}
	if s := closest(name, names); s != "" {
		return withHint(usageError("unknown command %q for %s (did you mean '%s %s'?)", name, parent, parent, s), "run '%s --help' for usage", parent)
	}
	return withHint(usageError("unknown command %q for %s", name, parent), "run '%s --help' for usage", parent)
}

var undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)

// flagUsageError rewrites urfave's flag errors: flags with two dashes, the
// closest defined flag, and the command's own help.
func flagUsageError(c *cli.Context, err error) error {
	help := "upkeep"
	if c.Command != nil && c.Command.HelpName != "" {
		help = c.Command.HelpName
	}
	m := undefinedFlag.FindStringSubmatch(err.Error())
	if m == nil {
		return withHint(usageError("%v", err), "run '%s --help' for usage", help)
	}
	var names []string
	flags := c.App.Flags
	if c.Command != nil && c.Command.Name != "" {
		flags = c.Command.Flags
	}
	for _, f := range flags {
		names = append(names, f.Names()...)
	}
	if s := closest(m[1], names); s != "" {
		return withHint(usageError("flag provided but not defined: --%s (did you mean --%s?)", m[1], s), "run '%s --help' for usage", help)
	}
	return withHint(usageError("flag provided but not defined: --%s", m[1]), "run '%s --help' for usage", help)
}

// closest returns the name nearest to s (edit distance at most 2, or s a
// prefix of it), or "".
func closest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		d := distance(s, n)
		if strings.HasPrefix(n, s) && len(s) >= 3 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
