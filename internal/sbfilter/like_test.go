package sbfilter

import (
	"strings"
	"testing"
)

func TestLike(t *testing.T) {
	for _, tc := range []struct {
		s, pattern string
		escape     rune
		want       bool
	}{
		{"", "", -1, true},
		{"", "%", -1, true},
		{"", "%%", -1, true},
		{"", "_", -1, false},
		{"a", "", -1, false},
		{"a", "_", -1, true},
		{"ab", "_", -1, false},
		{"abc", "a%c", -1, true},
		{"ac", "a%c", -1, true},
		{"abcbc", "a%bc", -1, true},
		{"abcbd", "a%bc", -1, false},
		{"aXbXc", "%X%X%", -1, true},
		{"aXb", "%X%X%", -1, false},
		{"mississippi", "m%iss%ppi", -1, true},
		{"mississippi", "%s_s%", -1, true},
		{"mississippi", "%s__s%", -1, true},
		{"mississippi", "%p__p%", -1, false},
		{"ABC", "abc", -1, false}, // case-sensitive
		{"été", "_t_", -1, true},  // characters, not bytes
		{"日本語", "日%", -1, true},
		{"ABC%", `ABC\%`, '\\', true},
		{"ABCD", `ABC\%`, '\\', false},
		{"A_C", `A\_C`, '\\', true},
		{"ABC", `A\_C`, '\\', false},
		{`A\C`, `A\\C`, '\\', true},
		{"AxC", "AxxC", 'x', true}, // xx is a literal x
		{"AxxC", "AxxC", 'x', false},
		{"AC", "AxC", 'x', true}, // x escapes C
		{"100%", "%!%", '!', true},
		{"100", "%!%", '!', false},
		{"[a]", "[a]", -1, true}, // brackets are not classes
		{"a", "[a]", -1, false},
	} {
		got, err := like(tc.s, tc.pattern, tc.escape)
		if err != nil || got != tc.want {
			t.Errorf("%q LIKE %q ESCAPE %q: %v, %v", tc.s, tc.pattern, tc.escape, got, err)
		}
	}
	if _, err := like("x", `x\`, '\\'); err == nil {
		t.Error("a pattern ending in its escape character matched")
	}
}

// A pattern that backtracks a lot still ends in about len(s)·len(pattern) steps.
func TestLikeBacktracking(t *testing.T) {
	s := strings.Repeat("a", 20000)
	pattern := strings.Repeat("%a", 500) + "b"
	if got, err := like(s, pattern, -1); got || err != nil {
		t.Errorf("%v, %v", got, err)
	}
}
