package manifest

import (
	"testing"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// TestFoldNameASCIIFastPath checks that foldName's ASCII path gives what
// the full fold gives, for every ASCII byte and mixed names.
func TestFoldNameASCIIFastPath(t *testing.T) {
	full := func(s string) string { return norm.NFC.String(cases.Fold().String(norm.NFC.String(s))) }
	names := []string{"", "manifest.json", "MANIFEST.JSON", "Migrations/0001_Init.up.sql", "a/B/c", "K", "k", "café", "CAFÉ", "Σσς", "Straße", "ﬁle"}
	for c := 0; c < 0x80; c++ {
		names = append(names, string(rune(c)), "x"+string(rune(c))+"Y")
	}
	for _, n := range names {
		if got, want := foldName(n), full(n); got != want {
			t.Errorf("foldName(%q) = %q, want %q", n, got, want)
		}
	}
}
