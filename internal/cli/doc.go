// Package cli is upkeep's command line (urfave/cli/v2): it turns flags into
// the library's options structs and errors into exit codes. The root's
// main.go only calls [Main].
//
// One file per command, as restic does: cmd_start.go (the application's
// start), cmd_updates.go, cmd_pack.go, cmd_packs.go, cmd_db.go,
// cmd_backups.go, cmd_keys.go. The pieces every command shares:
//
//   - globals.go: the global flags (--root, --db, --json, --quiet,
//     --trusted-key, --lock-timeout), accepted before or after any command;
//   - exit.go: the exit codes and the one switch that maps errors to them,
//     usageError (exit 2) and withHint (an "upkeep: hint:" line);
//   - output.go: writeJSON and the small text helpers.
//
// A new command is a file cmd_NAME.go with a newNAMECommand-style
// constructor registered in newApp (app.go).
package cli
