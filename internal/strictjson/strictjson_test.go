package strictjson

import (
	"slices"
	"strings"
	"testing"
)

func TestScanKeys(t *testing.T) {
	data := []byte(`{"a": 1, "a": 2, "b": {"c": 1, "\u0063": 2}, "d": [{"e": 1}, {"e": 1, "e": [{"f": 1, "f": 2}]}], "requires": {"X": 1}, "Pack": 1}`)
	var dups, odds []string
	ScanKeys(data, func(path, key string) { dups = append(dups, path+" "+key) }, func(path, key string) { odds = append(odds, path+" "+key) })
	if want := []string{" a", "b c", "d[1] e", "d[1].e[0] f"}; !slices.Equal(dups, want) {
		t.Errorf("dup %q, want %q", dups, want)
	}
	if want := []string{"b c", "requires X", " Pack"}; !slices.Equal(odds, want) {
		t.Errorf("odd %q, want %q", odds, want)
	}
}

func TestObjectAndDescribe(t *testing.T) {
	fields, unknown, ok := Object([]byte(`{"z": 1, "a": null, "y": "s"}`), "a")
	if !ok || len(fields) != 3 || !slices.Equal(unknown, []string{"y", "z"}) {
		t.Fatalf("Object: %v %v %v", fields, unknown, ok)
	}
	if _, ok := Present(fields, "a"); ok {
		t.Error("null is present")
	}
	if _, _, ok := Object([]byte(`[1]`)); ok {
		t.Error("an array is an object")
	}
	for raw, want := range map[string]string{`"x"`: `string "x"`, `12`: "number 12", ` true`: "boolean true", `null`: "null", `[]`: "an array", ``: "nothing"} {
		if got := Describe([]byte(raw)); got != want {
			t.Errorf("Describe(%s) = %s, want %s", raw, got, want)
		}
	}
	// 101 bytes: the cut at 100 would split the é; it goes before it.
	a99 := strings.Repeat("a", 99)
	if got, want := Quote(a99+"é"), `"`+a99+`"...`; got != want {
		t.Errorf("Quote of 101 bytes: %s, want %s", got, want)
	}
}
