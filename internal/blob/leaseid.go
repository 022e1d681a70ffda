package blob

import (
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// ParseLeaseID parses a lease id, a GUID in any of the forms .NET's Guid.Parse reads (and
// so Azure accepts): 32 hex digits, hyphenated 8-4-4-4-12, or hyphenated in braces or
// parentheses. It returns the canonical form (lower-case, hyphenated) that leases are
// stored and compared in; ok is false for anything else.
func ParseLeaseID(s string) (canonical string, ok bool) {
	if len(s) == 38 && (s[0] == '{' && s[37] == '}' || s[0] == '(' && s[37] == ')') {
		s = s[1:37]
	}
	var digits string
	switch len(s) {
	case 32:
		digits = s
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return "", false
		}
		digits = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	default:
		return "", false
	}
	var b [16]byte
	if _, err := hex.Decode(b[:], []byte(digits)); err != nil {
		return "", false
	}
	h := hex.EncodeToString(b[:])
	return strings.Join([]string{h[:8], h[8:12], h[12:16], h[16:20], h[20:]}, "-"), true
}

// SameLeaseID reports whether two lease ids name the same GUID (case-insensitively, in
// any form). A lease id is what proves a caller holds the lease, so it is compared in
// constant time.
func SameLeaseID(a, b string) bool {
	ca, ok1 := ParseLeaseID(a)
	cb, ok2 := ParseLeaseID(b)
	return ok1 && ok2 && subtle.ConstantTimeCompare([]byte(ca), []byte(cb)) == 1
}
