package updates

import (
	"slices"
	"testing"

	"github.com/upkeep/upkeep/manifest"
)

// TestAcrossFolders checks the order workers are handed files in: each
// file once, one folder after another in turn, the files of one folder in
// their order.
func TestAcrossFolders(t *testing.T) {
	var files []manifest.File
	for _, p := range []string{"a/1", "a/2", "a/3", "b/1", "top", "c/d/1", "b/2", "c/d/2", "top2"} {
		files = append(files, manifest.File{Path: p})
	}
	var got []string
	for _, f := range acrossFolders(files) {
		got = append(got, f.Path)
	}
	want := []string{"a/1", "b/1", "top", "c/d/1", "a/2", "b/2", "top2", "c/d/2", "a/3"}
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	one := []manifest.File{{Path: "x/1"}, {Path: "x/2"}}
	if got := acrossFolders(one); len(got) != 2 || got[0].Path != "x/1" || got[1].Path != "x/2" {
		t.Errorf("one folder: %v", got)
	}
}
