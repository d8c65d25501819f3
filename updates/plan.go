package updates

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/upkeep/upkeep/manifest"
)

// plan classifies the readable updates against what is installed and
// against each other, and numbers the ready ones in install order: a pack
// after the packs it requires. It works on the updates in place.
func plan(updates []*Update, installed map[string]*manifest.Manifest) {
	byPack := map[string][]*Update{}
	for _, u := range updates {
		if u.Status == Ready {
			byPack[u.Pack] = append(byPack[u.Pack], u)
		}
	}

	// One update per pack and batch: with several, which one is meant is
	// the operator's call, not ours.
	for pack, us := range byPack {
		if len(us) < 2 {
			continue
		}
		var names []string
		for _, u := range us {
			names = append(names, fmt.Sprintf("%s (%s)", u.File, u.Version))
		}
		sort.Strings(names)
		for _, u := range us {
			u.fail(Blocked, fmt.Sprintf("%s: %d updates of pack %s are pending: %s; remove all but one",
				u.File, len(us), pack, strings.Join(names, ", ")))
		}
	}

	for _, u := range updates {
		if u.Status != Ready {
			continue
		}
		m := u.manifest
		old, ok := installed[u.Pack]
		if !ok {
			continue
		}
		u.InstalledVersion = old.Version
		if u.Database != nil {
			u.Database.From = old.SchemaVersion()
		}
		switch cmp := m.SemVersion().Compare(old.SemVersion()); {
		case cmp == 0:
			u.fail(Installed, fmt.Sprintf("%s: %s %s is already installed", u.File, u.Pack, u.Version))
		case cmp < 0:
			u.fail(Downgrade, fmt.Sprintf("%s: %s %s is older than the installed %s; refused: upkeep installs no downgrade (going back is restoring a backup, which backups restore refuses while other hosts share the database)",
				u.File, u.Pack, u.Version, old.Version))
		case u.UpgradesFrom != "":
			if !m.UpgradesFromConstraint().Check(old.SemVersion()) {
				u.fail(Blocked, fmt.Sprintf("%s: upgrades %s from %s only, and %s is installed; install the versions in between first",
					u.File, u.Pack, u.UpgradesFrom, old.Version))
			}
		}
	}
	for _, u := range updates {
		if u.Database != nil {
			u.Database.Migrations = migrationsBetween(u.manifest, u.Database.From, u.Database.To)
		}
	}

	// requires: met by the version a pack will have after the batch, which
	// is the ready update's when there is one and the installed one's
	// otherwise. Blocking one update can unmeet another's needs, so repeat
	// until nothing changes; then order, and block what forms a cycle.
	for {
		for changed := true; changed; {
			changed = false
			after := map[string]*Update{}
			for _, u := range updates {
				if u.Status == Ready {
					after[u.Pack] = u
				}
			}
			for _, u := range updates {
				if u.Status != Ready {
					continue
				}
				if p := unmet(u, after, installed, updates); len(p) > 0 {
					u.fail(Blocked, p...)
					changed = true
				}
			}
		}
		cycle := order(updates)
		if len(cycle) == 0 {
			return
		}
		for _, u := range cycle {
			var names []string
			for _, v := range cycle {
				names = append(names, v.Pack)
			}
			u.fail(Blocked, fmt.Sprintf("%s: %s requires itself through %s; break the cycle", u.File, u.Pack, strings.Join(names, " -> ")))
		}
	}
}

// unmet returns one problem per requirement of u that the batch does not meet.
func unmet(u *Update, after map[string]*Update, installed map[string]*manifest.Manifest, all []*Update) []string {
	var problems []string
	for _, dep := range sortedKeys(u.Requires) {
		want := u.Requires[dep]
		c, _ := u.manifest.Requirement(dep)
		if v, ok := after[dep]; ok {
			if !c.Check(v.manifest.SemVersion()) {
				problems = append(problems, fmt.Sprintf("%s: requires %s %s, and %s in this batch brings %s %s",
					u.File, dep, want, v.File, dep, v.Version))
			}
			continue
		}
		if m, ok := installed[dep]; ok {
			if !c.Check(m.SemVersion()) {
				problems = append(problems, fmt.Sprintf("%s: requires %s %s, and %s %s is installed%s",
					u.File, dep, want, dep, m.Version, notReady(dep, all)))
			}
			continue
		}
		problems = append(problems, fmt.Sprintf("%s: requires %s %s, which is not installed%s",
			u.File, dep, want, notReady(dep, all)))
	}
	return problems
}

// notReady names the pending zips of pack that cannot be part of the batch.
func notReady(pack string, all []*Update) string {
	var s []string
	for _, v := range all {
		if v.Pack == pack && v.Status != Ready {
			s = append(s, fmt.Sprintf("%s is %s", v.File, v.Status))
		}
	}
	if len(s) == 0 {
		return ""
	}
	return " (" + strings.Join(s, "; ") + ")"
}

// order numbers the ready updates so that each comes after the ready
// updates it requires, ties broken by pack name. It returns the updates of
// one cycle when there is one, in cycle order, and numbers nothing then.
func order(updates []*Update) []*Update {
	ready := map[string]*Update{}
	var packs []string
	for _, u := range updates {
		u.Order = 0
		if u.Status == Ready {
			ready[u.Pack] = u
			packs = append(packs, u.Pack)
		}
	}
	ordered, rest := requiresOrder(packs, func(p string) []string { return sortedKeys(ready[p].Requires) })
	if len(rest) > 0 {
		done := map[string]bool{}
		for _, p := range ordered {
			done[p] = true
		}
		return cycleIn(ready, done)
	}
	for i, p := range ordered {
		ready[p].Order = i + 1
	}
	return nil
}

// cycleIn follows requires among the ready, not yet ordered updates until a
// pack repeats, and returns that cycle.
func cycleIn(ready map[string]*Update, done map[string]bool) []*Update {
	var start string
	for _, pack := range sortedKeys(ready) {
		if !done[pack] {
			start = pack
			break
		}
	}
	seen := map[string]int{}
	var walk []*Update
	for pack := start; ; {
		if i, ok := seen[pack]; ok {
			return walk[i:]
		}
		seen[pack] = len(walk)
		u := ready[pack]
		walk = append(walk, u)
		for _, dep := range sortedKeys(u.Requires) {
			if _, inBatch := ready[dep]; inBatch && !done[dep] {
				pack = dep
				break
			}
		}
	}
}

// migrationNames returns the file names under migrations/ that m lists.
func migrationNames(m *manifest.Manifest) []string {
	var names []string
	for _, f := range m.Files {
		if dir, name := path.Split(f.Path); dir == "migrations/" {
			names = append(names, name)
		}
	}
	return names
}

// migrationsBetween lists the up files of m's migrations with a version in
// (from, to], in order. From 0 for a pack whose first migration is 0 means
// none applied (schema -1), as package packs reads it.
func migrationsBetween(m *manifest.Manifest, from, to int) []string {
	migs, err := manifest.ParseMigrations(migrationNames(m))
	if err != nil {
		return nil
	}
	if from == 0 && len(migs) > 0 && migs[0].Version == 0 {
		from = -1
	}
	var out []string
	for _, mg := range migs {
		if mg.Version > from && mg.Version <= to {
			out = append(out, mg.Up)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
