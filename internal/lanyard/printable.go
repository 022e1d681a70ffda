package lanyard

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable returns s with every character a terminal would act on, or that would change
// how the text around it reads, shown as a visible escape: C0 controls (\n, \r, \t,
// \x1b...), DEL, C1 controls (\u009b...), format characters such as the bidi overrides
// (\u202e, \u2066...), line and paragraph separators, and bytes that are not UTF-8 (\xff).
// Values that came in a request, such as a token's resource, reach people's terminals
// through the CLI and the logs; escaped, such a value can neither forge a line nor
// recolour or reorder the text around it. Backslashes are left alone, so ordinary text
// reads the same.
func Printable(s string) string {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if needsEscape(r, size) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case !needsEscape(r, size):
			b.WriteString(s[i : i+size])
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}

// PrintableText is Printable for prose made of lines: the line breaks are kept, and
// everything else is escaped.
func PrintableText(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Printable(l)
	}
	return strings.Join(lines, "\n")
}

func needsEscape(r rune, size int) bool {
	return r == utf8.RuneError && size == 1 || IsControlOrFormat(r)
}

// IsControlOrFormat reports whether Printable escapes r: a C0 or C1 control, DEL, a format
// character (bidi controls, zero-width characters) or a line or paragraph separator.
func IsControlOrFormat(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r < 0x7f:
		return false
	}
	return unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}
