package sqlstore

import (
	"regexp"
	"strings"
	"testing"
)

func TestWildcardMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/bc", false},
		{"*", "", true},
		{"a*", "a", true},
		{"*/write", "x/y/write", true},
		{"*/write", "x/y/read", false},
		{"x/*/write", "x/write", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "acb", false},
		{"a*aa", "aa", false},
		{"a*a*a", "aaa", true},
		{"*%_*", "100%_done", true},
	} {
		if got := wildcardMatch(c.pattern, c.s); got != c.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

// FuzzWildcardMatch: the matcher agrees with a regular expression in which '*' is ".*"
// and everything else is literal.
func FuzzWildcardMatch(f *testing.F) {
	f.Add("microsoft.storage/*/blobs/*", "microsoft.storage/storageaccounts/blobservices/containers/blobs/read")
	f.Add("a*a*a", "aaaa")
	f.Add("*", "")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		parts := strings.Split(pattern, "*")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		re, err := regexp.Compile(`^(?s:` + strings.Join(parts, ".*") + `)$`)
		if err != nil {
			return // invalid UTF-8 and the like
		}
		if got, want := wildcardMatch(pattern, s), re.MatchString(s); got != want {
			t.Fatalf("wildcardMatch(%q, %q) = %v, the regular expression says %v", pattern, s, got, want)
		}
	})
}
