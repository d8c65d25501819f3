package cli

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"
)

// The help texts are written here, once for every command: urfave/cli's
// templates would repeat the global flags under every command and print
// internal defaults ("(default: false)", the -1 of a required --to). Each
// command's CustomHelpTemplate stands for its finished text (which holds no
// template action), so `--help`, `upkeep help COMMAND` and a command run
// without its subcommand all print the same.
//
// A text is written only when it is printed: writing all of them took a
// tenth of a quick command such as db status. The template is a
// placeholder that the HelpPrinter of urfave/cli, wrapped here, replaces by
// the text, written from the command as it was when the app was built.

// helpWidth is where help lines are wrapped.
const helpWidth = 100

// setHelp sets the help templates of the app and of every command to
// placeholders of their texts, and returns the function that writes the
// text of a command path ("" for the app, "db down" for a subcommand; ""
// for an unknown one), for `upkeep help`. release forgets the app's
// placeholders, once no help of it can be printed any more.
func setHelp(app *cli.App, startFlags []cli.Flag) (text func(path string) string, release func()) {
	wrapHelpPrinter.Do(func() {
		print := cli.HelpPrinter
		cli.HelpPrinter = func(w io.Writer, templ string, data any) {
			if text, ok := helpTexts.Load(templ); ok {
				templ = templateText(text.(func() string)())
			}
			print(w, templ, data)
		}
	})
	id := helpApps.Add(1)
	texts := map[string]func() string{}
	var keys []string
	add := func(path string, write func() string) string {
		key := fmt.Sprintf("{{/* upkeep help %d %q */}}", id, path)
		texts[path] = sync.OnceValue(write)
		helpTexts.Store(key, texts[path])
		keys = append(keys, key)
		return key
	}
	// The texts are written from copies: urfave/cli adds its help flag
	// and help command to a command when it runs.
	appNow := *app
	app.CustomAppHelpTemplate = add("", func() string { return appHelp(&appNow, startFlags) })
	var walk func(cmds []*cli.Command, parent string)
	walk = func(cmds []*cli.Command, parent string) {
		for _, cmd := range cmds {
			path := strings.TrimSpace(parent + " " + cmd.Name)
			now := *cmd
			cmd.CustomHelpTemplate = add(path, func() string { return commandHelp(&now, path) })
			walk(cmd.Subcommands, path)
		}
	}
	walk(app.Commands, "")
	text = func(path string) string {
		if t, ok := texts[path]; ok {
			return t()
		}
		return ""
	}
	release = func() {
		for _, k := range keys {
			helpTexts.Delete(k)
		}
	}
	return text, release
}

var (
	wrapHelpPrinter sync.Once
	helpTexts       sync.Map // placeholder template -> func() string, its text
	helpApps        atomic.Int64
)

// templateText makes a finished text safe to use as a text/template.
func templateText(s string) string {
	return strings.ReplaceAll(s, "{{", `{{"{{"}}`)
}

func appHelp(app *cli.App, startFlags []cli.Flag) string {
	var b strings.Builder
	fmt.Fprintf(&b, "NAME:\n   %s - %s\n\n", app.Name, app.Usage)
	start := []string{"[--check-updates|--install-updates|--ignore-updates]"}
	for _, f := range startFlags {
		switch n := flagName(f); n {
		case "check-updates", "install-updates", "ignore-updates":
		default:
			start = append(start, "["+flagSynopsis(f)+"]")
		}
	}
	start = append(start, "[global options]", "[-- CMD ARGS...]")
	b.WriteString("USAGE:\n")
	b.WriteString(wrap("   upkeep ", start))
	b.WriteString("   upkeep COMMAND [options] [arguments...] [global options]\n")
	b.WriteString("   upkeep help [COMMAND...]\n\n")
	fmt.Fprintf(&b, "VERSION:\n   %s\n\n", app.Version)
	if app.Description != "" {
		fmt.Fprintf(&b, "DESCRIPTION:\n%s\n\n", indent(app.Description, "   "))
	}
	b.WriteString("COMMANDS:\n")
	b.WriteString(commandList(app.Commands))
	b.WriteString("\nOPTIONS (of the start):\n")
	b.WriteString(flagList(startFlags))
	b.WriteString("\nGLOBAL OPTIONS (before or after any command):\n")
	b.WriteString(flagList(append(globalFlags(), cli.HelpFlag, cli.VersionFlag)))
	b.WriteString(exitCodesHelp)
	return b.String()
}

func commandHelp(cmd *cli.Command, path string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "NAME:\n   upkeep %s - %s\n\n", path, cmd.Usage)
	b.WriteString("USAGE:\n")
	switch {
	case cmd.UsageText != "" && strings.Contains(cmd.UsageText, "\n"):
		for _, line := range strings.Split(cmd.UsageText, "\n") {
			b.WriteString("   " + line + "\n")
		}
	case len(cmd.Subcommands) > 0:
		fmt.Fprintf(&b, "   upkeep %s COMMAND [options] [arguments...]\n", path)
	default:
		words := strings.Fields(usageLine(cmd, path))
		b.WriteString(wrap("   "+strings.Join(words[:1+len(strings.Fields(path))], " ")+" ", words[1+len(strings.Fields(path)):]))
	}
	if cmd.Description != "" {
		fmt.Fprintf(&b, "\nDESCRIPTION:\n%s\n", indent(cmd.Description, "   "))
	}
	if len(cmd.Subcommands) > 0 {
		b.WriteString("\nCOMMANDS:\n")
		b.WriteString(commandList(cmd.Subcommands))
	}
	b.WriteString("\nOPTIONS:\n")
	b.WriteString(flagList(append(ownFlags(cmd), cli.HelpFlag)))
	b.WriteString("\nGLOBAL OPTIONS (before or after the command; 'upkeep --help' says what each does):\n")
	b.WriteString(globalsLine())
	return b.String()
}

// globalsLine is the line of every command's help that names the global
// flags.
var globalsLine = sync.OnceValue(func() string {
	var globals []string
	for _, f := range globalFlags() {
		globals = append(globals, flagSynopsis(f))
	}
	return "   " + strings.Join(globals, ", ") + "\n"
})

// globalNames are the names of the global flags.
var globalNames = sync.OnceValue(func() map[string]bool {
	global := map[string]bool{}
	for _, f := range globalFlags() {
		global[f.Names()[0]] = true
	}
	return global
})

// ownFlags are cmd's flags without the global ones addGlobalFlags added.
func ownFlags(cmd *cli.Command) []cli.Flag {
	global := globalNames()
	var own []cli.Flag
	for _, f := range cmd.Flags {
		if !global[flagName(f)] && f != cli.HelpFlag {
			own = append(own, f)
		}
	}
	return own
}

// flagNameCache holds each flag's names: urfave/cli's Names runs a
// regular expression on every name at every call, and the help texts of
// all commands, made at every start, asked thousands of times.
var flagNameCache sync.Map // cli.Flag -> []string

// names is f.Names(), once per flag (a flag that is not a pointer, which
// may not be a map key, every time).
func names(f cli.Flag) []string {
	if reflect.TypeOf(f).Kind() != reflect.Pointer {
		return f.Names()
	}
	if n, ok := flagNameCache.Load(f); ok {
		return n.([]string)
	}
	n := f.Names()
	flagNameCache.Store(f, n)
	return n
}

// flagName is the first of f's names.
func flagName(f cli.Flag) string { return names(f)[0] }

func commandList(cmds []*cli.Command) string {
	width := 0
	for _, c := range cmds {
		if !c.Hidden {
			width = max(width, len(c.Name))
		}
	}
	var b strings.Builder
	for _, c := range cmds {
		if !c.Hidden {
			b.WriteString(wrap(fmt.Sprintf("   %-*s  ", width, c.Name), strings.Fields(c.Usage)))
		}
	}
	return b.String()
}

// flagList lists flags, one a line: names and placeholder, then what the
// flag does, its default where it has one that means something, and its
// environment variable.
func flagList(flags []cli.Flag) string {
	width := 0
	for _, f := range flags {
		width = max(width, len(flagNames(f)))
	}
	width = min(width, 32)
	var b strings.Builder
	for _, f := range flags {
		names := flagNames(f)
		prefix := fmt.Sprintf("   %-*s  ", width, names)
		if len(names) > width {
			b.WriteString("   " + names + "\n")
			prefix = strings.Repeat(" ", 3+width+2)
		}
		b.WriteString(wrap(prefix, strings.Fields(flagUsage(f))))
	}
	return b.String()
}

// flagNames is "--output OUT.zip, -o" or "--json".
func flagNames(f cli.Flag) string {
	s := flagSynopsis(f)
	for _, n := range names(f)[1:] {
		s += ", " + dashes(n)
	}
	return s
}

// flagSynopsis is "--name PLACEHOLDER", or "--name" for a flag that takes no
// value.
func flagSynopsis(f cli.Flag) string {
	if p := placeholder(f); p != "" {
		return dashes(flagName(f)) + " " + p
	}
	return dashes(flagName(f))
}

func dashes(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// placeholder is what goes after the flag: the `WORD` of its usage, or one
// its type names.
func placeholder(f cli.Flag) string {
	df, ok := f.(cli.DocGenerationFlag)
	if !ok || !df.TakesValue() {
		return ""
	}
	if _, bool := f.(*cli.BoolFlag); bool {
		return ""
	}
	if p, _ := unquote(df.GetUsage()); p != "" {
		return p
	}
	switch f.(type) {
	case *cli.DurationFlag:
		return "DURATION"
	case *cli.IntFlag:
		return "N"
	}
	return "VALUE"
}

// unquote returns the `WORD` of a usage and the usage without the
// backquotes.
func unquote(usage string) (word, text string) {
	if i := strings.Index(usage, "`"); i >= 0 {
		if j := strings.Index(usage[i+1:], "`"); j >= 0 {
			word = usage[i+1 : i+1+j]
		}
	}
	return word, strings.ReplaceAll(usage, "`", "")
}

// isRequired tells a flag the command cannot do without: its usage says
// "(required)".
func isRequired(f cli.Flag) bool {
	df, ok := f.(cli.DocGenerationFlag)
	return ok && strings.Contains(df.GetUsage(), "(required)")
}

func flagUsage(f cli.Flag) string {
	df, ok := f.(cli.DocGenerationFlag)
	if !ok {
		return ""
	}
	_, text := unquote(df.GetUsage())
	if d := flagDefault(f); d != "" {
		text += " (default: " + d + ")"
	}
	if env := df.GetEnvVars(); len(env) > 0 {
		text += " (env " + strings.Join(env, ", ") + ")"
	}
	return text
}

// flagDefault is the default worth showing: a value the flag has when not
// given, not false, zero or empty, and none for a required flag (whose
// Value only marks it unset).
func flagDefault(f cli.Flag) string {
	df, ok := f.(cli.DocGenerationFlag)
	if !ok || !df.TakesValue() || isRequired(f) {
		return ""
	}
	switch f := f.(type) {
	case *cli.BoolFlag, *cli.StringSliceFlag:
		return ""
	case *cli.DurationFlag:
		if f.Value == 0 {
			return ""
		}
		return shortDuration(f.Value)
	case *cli.IntFlag:
		if f.Value == 0 {
			return ""
		}
		return fmt.Sprint(f.Value)
	case *cli.StringFlag:
		return f.Value
	}
	return df.GetDefaultText()
}

// shortDuration is d as people write it: 1m, 30s, 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// wrap writes prefix followed by words, wrapped at helpWidth, each line
// after the first indented to the width of prefix.
func wrap(prefix string, words []string) string {
	cont := strings.Repeat(" ", len(prefix))
	var b strings.Builder
	line := prefix
	for i, w := range words {
		if i > 0 && len(line)+1+len(w) > helpWidth {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = cont
		} else if i > 0 {
			line += " "
		}
		line += w
	}
	b.WriteString(strings.TrimRight(line, " ") + "\n")
	return b.String()
}

func indent(s, by string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = by + l
		}
	}
	return strings.Join(lines, "\n")
}

// manPage is upkeep's manual page in roff (man(7)), made from the same
// commands and flags as the help texts.
func manPage(app *cli.App, startFlags []cli.Flag) string {
	var b strings.Builder
	b.WriteString(".TH UPKEEP 1 \"\" \"upkeep " + roffEscape(app.Version) + "\" \"User Commands\"\n")
	b.WriteString(".SH NAME\nupkeep \\- " + roffEscape(app.Usage) + "\n")
	b.WriteString(".SH SYNOPSIS\n.B upkeep\n[\\fIstart options\\fR] [\\fIglobal options\\fR] [\\fB\\-\\-\\fR \\fICMD ARGS...\\fR]\n.br\n")
	b.WriteString(".B upkeep\n\\fICOMMAND\\fR [\\fIoptions\\fR] [\\fIarguments...\\fR]\n")
	b.WriteString(".SH DESCRIPTION\n.nf\n" + roffEscape(app.Description) + "\n.fi\n")
	b.WriteString(".SH OPTIONS OF THE START\n")
	manFlags(&b, startFlags)
	b.WriteString(".SH GLOBAL OPTIONS\nAccepted before or after any command.\n")
	manFlags(&b, append(globalFlags(), cli.HelpFlag, cli.VersionFlag))
	b.WriteString(".SH COMMANDS\n")
	var walk func(cmds []*cli.Command, parent string)
	walk = func(cmds []*cli.Command, parent string) {
		for _, cmd := range cmds {
			if cmd.Hidden {
				continue
			}
			path := strings.TrimSpace(parent + " " + cmd.Name)
			if len(cmd.Subcommands) == 0 {
				b.WriteString(".SS upkeep " + roffEscape(path) + "\n")
				b.WriteString(".nf\n" + roffEscape(usageLine(cmd, path)) + "\n.fi\n")
				b.WriteString(".PP\n" + roffEscape(cmd.Usage) + "\n")
				if cmd.Description != "" {
					b.WriteString(".PP\n.nf\n" + roffEscape(cmd.Description) + "\n.fi\n")
				}
				manFlags(&b, ownFlags(cmd))
			}
			walk(cmd.Subcommands, path)
		}
	}
	walk(app.Commands, "")
	b.WriteString(".SH EXIT STATUS\n.nf\n" + roffEscape(strings.TrimPrefix(strings.TrimSpace(exitCodesHelp), "EXIT CODES:\n")) + "\n.fi\n")
	b.WriteString(".SH ENVIRONMENT\n")
	for _, env := range [][2]string{
		{"UPKEEP_ROOT", "the root, as --root"},
		{"UPKEEP_DB", "the database, as --db"},
		{"UPKEEP_FEED", "the feed, as --feed"},
		{"UPKEEP_KEY_PASSWORD", "the password of an encrypted secret key (keys generate, pack --sign, feed build --sign)"},
	} {
		b.WriteString(".TP\n.B " + env[0] + "\n" + roffEscape(env[1]) + "\n")
	}
	b.WriteString(".SH SEE ALSO\n.BR minisign (1)\n")
	return b.String()
}

func manFlags(b *strings.Builder, flags []cli.Flag) {
	for _, f := range flags {
		b.WriteString(".TP\n.B " + roffEscape(flagNames(f)) + "\n" + roffEscape(flagUsage(f)) + "\n")
	}
}

// usageLine is the usage of a command without subcommands, as its help
// prints it.
func usageLine(cmd *cli.Command, path string) string {
	if cmd.UsageText != "" {
		return strings.Split(cmd.UsageText, "\n")[0]
	}
	words := []string{"upkeep", path}
	for _, f := range ownFlags(cmd) {
		if isRequired(f) {
			words = append(words, flagSynopsis(f))
		} else {
			words = append(words, "["+flagSynopsis(f)+"]")
		}
	}
	if cmd.ArgsUsage != "" {
		words = append(words, cmd.ArgsUsage)
	}
	return strings.Join(words, " ")
}

// roffEscape makes text safe as roff input: backslashes and dashes escaped,
// and no line starting with a control character.
func roffEscape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}
