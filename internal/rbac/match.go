package rbac

import "strings"

// MatchAction reports whether the permission pattern (an entry of Actions, NotActions,
// DataActions or NotDataActions) covers action. Matching is ASCII case-insensitive and
// anchored at both ends; '*' matches any run of characters, '/' included, because built-ins
// rely on it (Service Bus Data Sender's Microsoft.ServiceBus/*/send/action must cover
// Microsoft.ServiceBus/namespaces/messages/send/action).
//
// One extension: a '*' that fills a whole segment ("/*/") may also match no segment at
// all. Managed Identity Operator is documented as granting
// Microsoft.ManagedIdentity/userAssignedIdentities/assign/action through its only entry
// Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action, which a plain glob
// would miss.
//
// It does not allocate. Its cost is linear for patterns with one '*' (every custom role)
// and at worst len(pattern)*len(action).
func MatchAction(pattern, action string) bool {
	p, s := pattern, action
	pi, si := 0, 0
	// The last '*' seen: where the pattern resumes after it, where its match ends now, and
	// whether it is a whole-segment star. Backtracking only ever revisits the last star:
	// a later star can absorb anything an earlier one could.
	starP, starS, starSeg := -1, 0, false
	for si < len(s) {
		if pi < len(p) && p[pi] == '*' {
			seg := segmentStar(p, pi)
			pi++
			if seg {
				pi++ // the star takes its trailing '/' with it, so it can match nothing
			}
			starP, starS, starSeg = pi, si, seg
			continue
		}
		if pi < len(p) && foldEq(p[pi], s[si]) {
			pi++
			si++
			continue
		}
		if starP < 0 {
			return false
		}
		if starSeg {
			// A whole-segment star matches nothing or a run ending in '/': grow it to the
			// next '/'.
			k := strings.IndexByte(s[starS:], '/')
			if k < 0 {
				return false
			}
			starS += k + 1
		} else {
			starS++
		}
		pi, si = starP, starS
	}
	for pi < len(p) && p[pi] == '*' {
		if segmentStar(p, pi) {
			pi++
		}
		pi++
	}
	return pi == len(p)
}

// segmentStar reports whether the '*' at p[i] is a whole segment: "/*/".
func segmentStar(p string, i int) bool {
	return i > 0 && p[i-1] == '/' && i+1 < len(p) && p[i+1] == '/'
}

func foldEq(a, b byte) bool {
	if a == b {
		return true
	}
	if 'A' <= a && a <= 'Z' {
		a += 'a' - 'A'
	}
	if 'A' <= b && b <= 'Z' {
		b += 'a' - 'A'
	}
	return a == b
}

// asciiEqualFold is strings.EqualFold for ASCII strings; other bytes must be equal.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if !foldEq(a[i], b[i]) {
			return false
		}
	}
	return true
}

// ScopeCovers reports whether an assignment at assignmentScope applies to resourceScope:
// the scopes are equal, or resourceScope lies below assignmentScope on a segment boundary.
// Comparison is case-insensitive, as ARM ids are; trailing slashes are ignored; "/" (the
// root) covers every scope. An empty assignment scope covers only the empty scope, so a
// malformed assignment grants nothing.
//
// Management groups are not resolved here: an assignment at
// /providers/Microsoft.Management/managementGroups/{mg} covers only ids under that prefix,
// not the subscriptions in the group.
func ScopeCovers(assignmentScope, resourceScope string) bool {
	a, r := trimScope(assignmentScope), trimScope(resourceScope)
	if a == "" {
		return assignmentScope != "" || resourceScope == ""
	}
	if len(r) < len(a) || !strings.EqualFold(r[:len(a)], a) {
		return false
	}
	return len(r) == len(a) || r[len(a)] == '/'
}

// trimScope drops trailing slashes; the root "/" becomes "".
func trimScope(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// pattern is a permission string compiled once per role definition, so the common shapes
// ("*", exact, "prefix/*", "*/suffix") skip the general matcher.
type pattern struct {
	raw  string
	kind patternKind
	lit  string // the literal part for exact, prefix and suffix kinds
}

type patternKind uint8

const (
	patAll patternKind = iota
	patExact
	patPrefix
	patSuffix
	patGlob
)

func compilePattern(raw string) pattern {
	n := strings.Count(raw, "*")
	switch {
	case raw == "*":
		return pattern{raw: raw, kind: patAll}
	case n == 0:
		return pattern{raw: raw, kind: patExact, lit: raw}
	case n == 1 && strings.HasSuffix(raw, "*"):
		return pattern{raw: raw, kind: patPrefix, lit: raw[:len(raw)-1]}
	case n == 1 && strings.HasPrefix(raw, "*"):
		return pattern{raw: raw, kind: patSuffix, lit: raw[1:]}
	}
	return pattern{raw: raw, kind: patGlob}
}

func (p *pattern) match(action string) bool {
	switch p.kind {
	case patAll:
		return true
	case patExact:
		return asciiEqualFold(p.lit, action)
	case patPrefix:
		return len(action) >= len(p.lit) && asciiEqualFold(p.lit, action[:len(p.lit)])
	case patSuffix:
		return len(action) >= len(p.lit) && asciiEqualFold(p.lit, action[len(action)-len(p.lit):])
	}
	return MatchAction(p.raw, action)
}

func compilePatterns(raw []string) []pattern {
	if len(raw) == 0 {
		return nil
	}
	out := make([]pattern, len(raw))
	for i, r := range raw {
		out[i] = compilePattern(r)
	}
	return out
}

// firstMatch returns the first pattern in ps that covers action, or nil.
func firstMatch(ps []pattern, action string) *pattern {
	for i := range ps {
		if ps[i].match(action) {
			return &ps[i]
		}
	}
	return nil
}

// asciiLower lower-cases ASCII letters, returning s itself when it has none to change.
// Map keys are built with it and looked up with lowerInto, so both agree byte for byte.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return string(lowerInto(make([]byte, 0, len(s)), s))
		}
	}
	return s
}

// lowerInto appends s, ASCII lower-cased, to dst. With dst on the caller's stack, a map
// lookup on string(result) does not allocate.
func lowerInto(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
