package layers

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/upkeep/upkeep"

// level of each public package, and of the CLI; higher imports lower.
var level = map[string]int{
	"":             9, // main
	"bench":        9, // bench/... (benchmark commands)
	"examples":     9, // examples/... (applications that embed upkeep)
	"internal/cli": 8,
	"admin":        7,
	"jsondoc":      6, // the JSON documents of the CLI and the admin API
	"updates":      5,
	"feed":         4,
	"backupstore":  4,
	"packs":        4,
	"manifest":     2,
	"layout":       1,
}

// helper is the level of internal helpers: -1, outside the order; checked
// by their own rule.
const helper = -1

func levelOf(rel string) (int, bool) {
	for _, top := range []string{"bench", "examples"} {
		if rel == top || strings.HasPrefix(rel, top+"/") {
			return level[top], true
		}
	}
	if l, ok := level[rel]; ok {
		return l, true
	}
	if strings.HasPrefix(rel, "internal/") {
		return helper, true
	}
	return 0, false
}

type pkg struct {
	ImportPath string
	Deps       []string
}

// listPackages is `go list -deps` of every package of the module.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Deps", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// violations returns one line per import that runs the wrong way.
func violations(pkgs []pkg) []string {
	var bad []string
	for _, p := range pkgs {
		from, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		fromLevel, known := levelOf(from)
		if !known {
			bad = append(bad, "package "+p.ImportPath+" has no level: add it to the table in internal/layers/layers_test.go and to DESIGN's order")
			continue
		}
		for _, d := range p.Deps {
			to, ok := rel(d)
			if !ok {
				continue
			}
			toLevel, known := levelOf(to)
			switch {
			case !known:
				// reported as a package of its own
			case fromLevel == helper:
				if toLevel != helper && to != "manifest" && to != "layout" {
					bad = append(bad, p.ImportPath+" (an internal helper) imports "+d+": helpers import no public package but manifest and layout")
				}
				if to == "internal/cli" {
					bad = append(bad, p.ImportPath+" imports "+d)
				}
			case toLevel == helper:
				// helpers may be imported from any level
			case toLevel > fromLevel:
				bad = append(bad, p.ImportPath+" imports "+d+", which is above it")
			case toLevel == fromLevel && fromLevel != level["packs"] && fromLevel != level["bench"] && fromLevel != level["examples"]:
				bad = append(bad, p.ImportPath+" imports "+d+", which is at its own level")
			}
		}
	}
	return bad
}

func TestImportsRunOneWay(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 8 {
		t.Fatalf("go list found %d packages of the module", len(pkgs))
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// The check itself: a lower package that imports a higher one is caught.
func TestViolationsAreFound(t *testing.T) {
	pkgs := []pkg{
		{ImportPath: module + "/manifest", Deps: []string{"fmt", module + "/updates"}},
		{ImportPath: module + "/internal/lock", Deps: []string{module + "/packs"}},
		{ImportPath: module + "/internal/signing", Deps: []string{module + "/manifest", module + "/internal/atomicfile"}},
		{ImportPath: module + "/updates", Deps: []string{module + "/packs", module + "/internal/lock", module + "/layout"}},
		{ImportPath: module + "/newthing"},
		{ImportPath: module + "/admin", Deps: []string{module + "/internal/cli"}},
	}
	got := violations(pkgs)
	want := []string{"manifest imports " + module + "/updates", "internal/lock (an internal helper) imports", "newthing has no level", "admin imports " + module + "/internal/cli"}
	if len(got) != len(want) {
		t.Fatalf("got %d violations, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("violation %d = %q, want it to say %q", i, got[i], want[i])
		}
	}
}
