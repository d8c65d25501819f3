package main

import (
	"os"
	"testing"
)

// Every usage error exits 2, at every level, with flags written with two
// dashes and a hint that names the closest command or flag and the
// command's own help.
func TestUsageErrorsAtEveryLevel(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args   []string
		stderr []string
	}{
		{[]string{"db", "stat"}, []string{`upkeep: error: unknown command "stat" for upkeep db (did you mean 'upkeep db status'?)`, "upkeep: hint: run 'upkeep db --help' for usage"}},
		{[]string{"bakups", "list"}, []string{`unknown command "bakups" for upkeep (did you mean 'upkeep backups'?)`, "run 'upkeep --help' for usage"}},
		{[]string{"--instal-updates"}, []string{"upkeep: error: flag provided but not defined: --instal-updates (did you mean --install-updates?)", "run 'upkeep --help' for usage"}},
		{[]string{"db", "history", "--limt", "3"}, []string{"--limt (did you mean --limit?)", "upkeep: hint: run 'upkeep db history --help' for usage"}},
		{[]string{"backups", "frobnicate"}, []string{`unknown command "frobnicate" for upkeep backups`, "run 'upkeep backups --help' for usage"}},
	}
	for _, c := range cases {
		r := run(t, dir, c.args...)
		r.want(t, 2, nil, c.stderr)
	}
}

// A command's own arguments and flags are checked before the root: the
// same usage error exits 2 outside a root as inside one, and nothing is
// made in the folder.
func TestUsageErrorsBeforeTheRoot(t *testing.T) {
	notRoot := t.TempDir()
	root := t.TempDir()
	run(t, ".", "init", root).want(t, 0, nil, nil)
	cases := []struct {
		args   []string
		stderr string
	}{
		{[]string{"db", "down", "--pack", "blog"}, "upkeep: error: db down needs --pack PACK and --to VERSION"},
		{[]string{"db", "up", "--to", "3"}, "upkeep: error: db up --to needs --pack"},
		{[]string{"db", "accept", "--pack", "blog"}, "upkeep: error: db accept needs --pack PACK and either --version VERSION or --table TABLE"},
		{[]string{"db", "baseline", "--pack", "blog"}, "upkeep: error: db baseline needs --pack PACK and --version VERSION"},
		{[]string{"db", "adopt", "--pack", "blog", "--from", "flyway"}, "upkeep: error: db adopt needs --pack PACK and --from golang-migrate or --from goose"},
		{[]string{"backups", "show"}, "upkeep: error: upkeep backups show takes one argument, ID"},
		{[]string{"backups", "verify", "a", "b"}, "upkeep: error: upkeep backups verify takes one argument, ID"},
		{[]string{"backups", "restore"}, "upkeep: error: upkeep backups restore takes one argument, ID"},
		{[]string{"backups", "prune", "--keep", "0"}, "upkeep: error: backups prune --keep 0: keep at least 1 backup"},
		{[]string{"backups", "export", "X"}, "upkeep: error: backups export needs -o FULL.zip"},
		{[]string{"updates", "list", "x"}, "upkeep: error: updates list takes no arguments"},
		{[]string{"updates", "show"}, "upkeep: error: upkeep updates show takes one argument, ZIP"},
		{[]string{"updates", "prune", "--keep", "0"}, "upkeep: error: updates prune --keep 0: keep at least 1 zip of each pack"},
		{[]string{"updates", "watch", "x"}, "upkeep: error: updates watch takes no arguments"},
		{[]string{"serve", "x"}, "upkeep: error: serve takes no arguments"},
		{[]string{"feed", "fetch"}, "upkeep: error: name the feed with --feed URL or UPKEEP_FEED"},
		{[]string{"keys", "trust"}, "upkeep: error: upkeep keys trust takes one argument, FILE"},
		{[]string{"keys", "untrust"}, "upkeep: error: upkeep keys untrust takes one argument, ID"},
		{[]string{"--dry-run"}, "upkeep: error: --dry-run goes with --install-updates"},
	}
	for _, c := range cases {
		for _, dir := range []string{notRoot, root} {
			run(t, dir, c.args...).want(t, 2, nil, []string{c.stderr})
		}
	}
	if left, err := os.ReadDir(notRoot); err != nil || len(left) != 0 {
		t.Fatalf("the folder that is not a root holds %v (%v)", left, err)
	}
}

// `upkeep help --help` is the help command's own help, as `--help` on
// any other command is that command's.
func TestHelpOfHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "--help"}, {"help", "-h"}, {"--root", t.TempDir(), "help", "--help"}, {"help", "help"}} {
		run(t, ".", args...).want(t, 0, []string{"upkeep help - the help of upkeep, or of a command", "upkeep help [COMMAND...]"}, nil)
	}
	run(t, ".", "help", "db", "--help").want(t, 0, []string{"upkeep db - each pack's database schema"}, nil)
}
