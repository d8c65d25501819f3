package textsafe

import "testing"

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, café":           "plain text, café",
		"a\nb":                       `a\nb`,
		"\x1b[2J\x1b[31mred":         `\x1b[2J\x1b[31mred`,
		"evil\u202etxt.zip":          `evil\u202etxt.zip`,
		"\u2066isolate\u2069 \u200f": `\u2066isolate\u2069 \u200f`,
		"c1 \u009b31m":               `c1 \u009b31m`,
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"blog-1.2.0.zip":                 "blog-1.2.0.zip",
		"my update.zip":                  "my update.zip",
		"evil.zip: invalid\n1. core.zip": `"evil.zip: invalid\n1. core.zip"`,
		"\u202egpj.zip":                  `"\u202egpj.zip"`,
		`quote".zip`:                     `"quote\".zip"`,
		" lead.zip":                      `" lead.zip"`,
	} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %s, want %s", in, got, want)
		}
	}
}
