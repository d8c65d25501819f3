package cli

import (
	"encoding/json"
	"io"
	"slices"
	"strings"

	"github.com/upkeep/upkeep/jsondoc"
)

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func colonLines(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return ":\n  " + strings.Join(s, "\n  ")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// writeJSONLine writes v as one line of JSON (a stream of documents).
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// printJSON writes v to w as one upkeep JSON document (jsondoc.Marshal):
// the bytes the admin API serves for the same document.
func printJSON(w io.Writer, v any) error { return jsondoc.Write(w, v) }
