package main

import "testing"

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
