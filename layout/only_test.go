package layout

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// Package layout is the only builder of paths under .upkeep/: no other
// package of the module joins a name to Root.State() or spells the folder
// itself. (The lock's path was once built in two packages: change one and
// two processes no longer exclude each other.)
func TestOnlyLayoutBuildsStatePaths(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "layout" || strings.HasPrefix(d.Name(), ".") && d.Name() != "..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Join" {
					for _, a := range n.Args {
						if c, ok := a.(*ast.CallExpr); ok {
							if s, ok := c.Fun.(*ast.SelectorExpr); ok && s.Sel.Name == "State" && len(c.Args) == 0 {
								t.Errorf("%s: builds a path under .upkeep/ from State(); add a method to layout.Root", fset.Position(n.Pos()))
							}
						}
					}
				}
			case *ast.BasicLit:
				// A path, not prose (help texts name the folders).
				if n.Kind == token.STRING && (strings.Contains(n.Value, ".upkeep/") || strings.HasSuffix(n.Value, ".upkeep\"")) && !strings.Contains(n.Value, " ") {
					t.Errorf("%s: spells a path under .upkeep/ (%s); add a method to layout.Root", fset.Position(n.Pos()), n.Value)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
