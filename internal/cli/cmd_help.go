package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

// The commands about upkeep itself: help, version, completion, man. They
// need no root and touch nothing.

func helpCommand(text func(path string) string, commands func() []*cli.Command) *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "the help of upkeep, or of a command: upkeep help db down",
		ArgsUsage: "[COMMAND...]",
		Action: func(c *cli.Context) error {
			path, cmds, parent := "", commands(), "upkeep"
			for _, name := range c.Args().Slice() {
				cmd := findCommand(cmds, name)
				if cmd == nil {
					return unknownCommand(name, cmds, parent)
				}
				path = strings.TrimSpace(path + " " + cmd.Name)
				cmds, parent = cmd.Subcommands, "upkeep "+path
			}
			_, err := fmt.Fprint(c.App.Writer, text(path))
			return err
		},
	}
}

// BuildInfo is what `upkeep version` reports.
type BuildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`   // the VCS revision it was built from, "" when unknown
	Modified bool   `json:"modified"` // built from a work tree with uncommitted changes
	Go       string `json:"go"`       // the Go version it was built with
	Platform string `json:"platform"` // GOOS/GOARCH
}

// buildInfo reads the version, commit and Go version from the binary's
// build information (runtime/debug).
func buildInfo() BuildInfo {
	b := BuildInfo{Version: Version, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info, ok := debug.ReadBuildInfo(); ok {
		b.Go = info.GoVersion
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	return b
}

// String is the line `upkeep version` and `upkeep --version` print.
func (b BuildInfo) String() string {
	commit := "unknown"
	if b.Commit != "" {
		commit = b.Commit[:min(12, len(b.Commit))]
		if b.Modified {
			commit += " (modified)"
		}
	}
	return fmt.Sprintf("upkeep %s, commit %s, %s, %s", b.Version, commit, b.Go, b.Platform)
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "upkeep's version, the commit it was built from and the Go version (--json too)",
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError("version takes no arguments")
			}
			if setIn(c, "json").Bool("json") {
				return printJSON(c.App.Writer, buildInfo())
			}
			_, err := fmt.Fprintln(c.App.Writer, buildInfo())
			return err
		},
	}
}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: "Load it in the shell's start file:\n" +
			"  bash: source <(upkeep completion bash)         (in ~/.bashrc)\n" +
			"  zsh:  source <(upkeep completion zsh)          (in ~/.zshrc, after compinit)\n" +
			"  fish: upkeep completion fish > ~/.config/fish/completions/upkeep.fish",
		Action: func(c *cli.Context) error {
			shell, err := oneArg(c, "bash, zsh or fish")
			if err != nil {
				return err
			}
			var script string
			switch shell {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			case "fish":
				if script, err = c.App.ToFishCompletion(); err != nil {
					return err
				}
			default:
				return usageError("completion: unknown shell %q: bash, zsh or fish", shell)
			}
			_, err = fmt.Fprint(c.App.Writer, script)
			return err
		},
	}
}

// bashCompletion and zshCompletion ask upkeep itself what may follow
// (urfave/cli's --generate-bash-completion), as urfave/cli's own scripts do.
const bashCompletion = `# bash completion for upkeep: source <(upkeep completion bash)
_upkeep_complete() {
  local cur words
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  local opts
  if [[ "$cur" == -* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
}
complete -o bashdefault -o default -F _upkeep_complete upkeep
`

const zshCompletion = `#compdef upkeep
# zsh completion for upkeep: source <(upkeep completion zsh)
_upkeep() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _upkeep upkeep
`

func manCommand(startFlags []cli.Flag) *cli.Command {
	return &cli.Command{
		Name:  "man",
		Usage: "print upkeep's manual page (roff): upkeep man > upkeep.1, or upkeep man | man -l -",
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError("man takes no arguments")
			}
			_, err := fmt.Fprint(c.App.Writer, manPage(c.App, startFlags))
			return err
		},
	}
}

func init() {
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, buildInfo()) }
}
