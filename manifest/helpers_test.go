package manifest

import (
	"errors"
	"flag"
)

var update = flag.Bool("update", false, "rewrite the generated testdata corpus")

// lines returns the message of each problem of err, one per line.
func lines(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, lines(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

var _ = errors.New
