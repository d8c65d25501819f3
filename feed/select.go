package feed

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/go-version"
)

// Skip is an update of the feed a fetch leaves out, and why.
type Skip struct {
	Pack    string `json:"pack"`
	Version string `json:"version"`
	Reason  string `json:"reason"`
}

// Select picks what a root fetches from an index: for each installed pack
// (pack name to installed version) the newest version the rules allow,
// and for each pack in add that is not installed, its newest version the
// rules allow. The rules: strictly newer than installed (never a
// downgrade), upgrades_from admits the installed version, and requires is
// met by what is installed and what the same fetch brings. Packs of the
// index neither installed nor in add are left out silently; a newer
// version the rules refuse is in skipped with the reason. A pack in add
// that the index does not offer is an error.
func Select(ix *Index, installed map[string]*version.Version, add []string) (chosen []Entry, skipped []Skip, err error) {
	byPack := map[string][]Entry{}
	for _, e := range ix.Updates {
		byPack[e.Pack] = append(byPack[e.Pack], e)
	}
	var missing []string
	for _, p := range add {
		if _, ok := byPack[p]; !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("the feed offers no pack %s", strings.Join(missing, ", "))
	}

	// Candidates per pack, newest first, that pass the rules of the pack
	// alone; requires is settled below, against the choice of the others.
	cands := map[string][]Entry{}
	for _, pack := range sortedKeys(byPack) {
		es := byPack[pack]
		slices.SortFunc(es, func(a, b Entry) int { return b.SemVersion().Compare(a.SemVersion()) })
		have, isInstalled := installed[pack]
		if !isInstalled && !slices.Contains(add, pack) {
			continue
		}
		for _, e := range es {
			switch {
			case isInstalled && e.SemVersion().LessThanOrEqual(have):
				// the installed version or older: nothing to fetch
			case isInstalled && e.UpgradesFrom != "" && !mustConstraint(e.UpgradesFrom).Check(have):
				skipped = append(skipped, Skip{pack, e.Version, fmt.Sprintf("upgrades %s from %s only, and %s is installed", pack, e.UpgradesFrom, have.Original())})
			default:
				cands[pack] = append(cands[pack], e)
			}
		}
	}

	// Take the newest candidate of each pack; while one's requires are not
	// met by the others' choices or what is installed, drop it for the
	// next. Choices only move down, so this ends.
	pick := map[string]int{}
	for changed := true; changed; {
		changed = false
		after := map[string]*version.Version{}
		for p, v := range installed {
			after[p] = v
		}
		for _, p := range sortedKeys(cands) {
			if i := pick[p]; i < len(cands[p]) {
				after[p] = cands[p][i].SemVersion()
			} else if _, ok := installed[p]; !ok {
				delete(after, p)
			}
		}
		for _, p := range sortedKeys(cands) {
			i := pick[p]
			if i >= len(cands[p]) {
				continue
			}
			e := cands[p][i]
			if why := unmet(e, after); why != "" {
				skipped = append(skipped, Skip{p, e.Version, why})
				pick[p] = i + 1
				changed = true
			}
		}
	}
	for _, p := range sortedKeys(cands) {
		if i := pick[p]; i < len(cands[p]) {
			chosen = append(chosen, cands[p][i])
		}
	}
	// A skipped version newer than the one chosen is worth reporting; an
	// older one is not.
	var keep []Skip
	for _, s := range skipped {
		newer := true
		for _, c := range chosen {
			if c.Pack == s.Pack && !version.Must(version.NewVersion(s.Version)).GreaterThan(c.SemVersion()) {
				newer = false
			}
		}
		if newer {
			keep = append(keep, s)
		}
	}
	return chosen, keep, nil
}

// unmet says which requirement of e the versions in after do not meet, or
// "" when all are met.
func unmet(e Entry, after map[string]*version.Version) string {
	var why []string
	for _, dep := range sortedKeys(e.Requires) {
		want := e.Requires[dep]
		v, ok := after[dep]
		switch {
		case !ok:
			why = append(why, fmt.Sprintf("requires %s %s, which is neither installed nor fetched", dep, want))
		case !mustConstraint(want).Check(v):
			why = append(why, fmt.Sprintf("requires %s %s, and %s %s would be there", dep, want, dep, v.Original()))
		}
	}
	return strings.Join(why, "; ")
}

func mustConstraint(s string) version.Constraints {
	c, err := version.NewConstraint(s)
	if err != nil {
		panic(err) // Parse checked it
	}
	return c
}
