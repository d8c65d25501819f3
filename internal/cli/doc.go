// Package cli is upkeep's command line (urfave/cli/v2): it turns flags into
// the library's options structs and errors into exit codes. The root's
// main.go only calls [Main].
//
// One file per command, as restic does: cmd_start.go (the application's
// start), cmd_updates.go, cmd_pack.go, cmd_packs.go, cmd_db.go,
// cmd_backups.go, cmd_keys.go. The pieces every command shares:
//
//   - globals.go: the global flags (--root, --db, --json, --quiet,
//     --trusted-key, --lock-timeout), accepted before or after any command
//     and parsed once into [GlobalOptions]; wrap a command's run function
//     with action to receive them;
//   - exit.go: the exit codes and the one switch that maps errors to them,
//     usageError (exit 2) and withHint (an "upkeep: hint:" line); with
//     --json an error is a JSON document on stdout;
//   - json.go: printJSON, the one way to print a JSON document
//     (docs/json.md): "json_format": 1 first, [] for nil lists, UTC times,
//     no HTML escaping;
//   - output.go: the small text helpers.
//
// A new command is a file cmd_NAME.go:
//
//	func fooCommand() *cli.Command {
//		return &cli.Command{Name: "foo", Usage: "...", Action: action(runFoo)}
//	}
//
//	func runFoo(c *cli.Context, g *GlobalOptions) error {
//		if g.JSON {
//			return printJSON(g.Stdout, fooDoc{...})
//		}
//		fmt.Fprintln(g.Stdout, "...")
//		return nil
//	}
//
// registered in newApp (app.go); document its JSON in docs/json.md.
package cli
