package lanyard

import "testing"

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"https://storage.azure.com":      "https://storage.azure.com",
		`C:\path`:                        `C:\path`,
		"héllo wörld ✓":                  "héllo wörld ✓",
		"a\nb\rc\td":                     `a\nb\rc\td`,
		"\x1b[31mred\x1b[0m":             `\x1b[31mred\x1b[0m`,
		"\x00\x07\x7f":                   `\x00\x07\x7f`,
		"\u009b31m":                      `\u009b31m`,
		"abc\u202eevil":                  `abc\u202eevil`,
		"\u2066\u2067\u2068\u2069\u200f": `\u2066\u2067\u2068\u2069\u200f`,
		"line\u2028sep":                  `line\u2028sep`,
		"bad\xff\xfe utf8":               `bad\xff\xfe utf8`,
		"tag\U000e0041":                  `tag\U000e0041`,
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
	if got := PrintableText("one\ntwo\x1b[2J\nthree"); got != "one\ntwo\\x1b[2J\nthree" {
		t.Errorf("PrintableText kept or lost the wrong characters: %q", got)
	}
}
