package blob

import (
	"crypto/subtle"

	"github.com/google/uuid"
)

// ParseLeaseID parses a lease id, a GUID in any of the forms .NET's Guid.Parse reads (and
// so Azure accepts): 32 hex digits, hyphenated 8-4-4-4-12, or hyphenated in braces or
// parentheses. It returns the canonical form (lower-case, hyphenated) that leases are
// stored and compared in; ok is false for anything else.
func ParseLeaseID(s string) (canonical string, ok bool) {
	switch {
	case len(s) == 38 && (s[0] == '{' && s[37] == '}' || s[0] == '(' && s[37] == ')'):
		s = s[1:37]
	case len(s) != 32 && len(s) != 36:
		return "", false // uuid.Parse also reads urn:uuid: forms, which .NET does not
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// SameLeaseID reports whether two lease ids name the same GUID (case-insensitively, in
// any form). A lease id is what proves a caller holds the lease, so it is compared in
// constant time.
func SameLeaseID(a, b string) bool {
	ca, ok1 := ParseLeaseID(a)
	cb, ok2 := ParseLeaseID(b)
	return ok1 && ok2 && subtle.ConstantTimeCompare([]byte(ca), []byte(cb)) == 1
}
