package sqlmeta

import (
	"strings"
	"unicode/utf8"
)

// Blob and container names are compared bytewise, and callers bound listings with strings
// that are not text: the Blob engine skips past a prefix p with the marker p+"\xff", and a
// client's prefix or marker may hold any bytes. PostgreSQL refuses such strings as text
// parameters, so every bound is first mapped to an equivalent one that is storable.

// storableText reports whether s can be a name column's value on both engines: valid
// UTF-8 without NUL.
func storableText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// firstUnstorableByte returns the offset of the first byte of s that starts an invalid UTF-8
// sequence or is NUL, or -1.
func firstUnstorableByte(s string) int {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == 0 || (r == utf8.RuneError && size == 1) {
			return i
		}
		i += size
	}
	return -1
}

// textAtLeast returns a storable string b such that, for every storable name n, n >= x exactly
// when n >= b. ok is false when no storable name is >= x.
func textAtLeast(x string) (b string, ok bool) {
	i := firstUnstorableByte(x)
	if i < 0 {
		return x, true
	}
	// No storable name equals x. One that starts with p = x[:i] (a run of whole runes)
	// compares with x by its next rune's encoding against x[i:]: UTF-8 is prefix-free and
	// x[i:] does not start with a storable rune, so they differ within that rune or x[i:]
	// is a proper prefix of it. Hence n >= x exactly when n >= p + the smallest storable
	// rune whose encoding sorts after x[i:]; without one, when n sorts after every name
	// starting with p.
	p, rest := x[:i], x[i:]
	if r, ok := smallestRuneAfter(rest); ok {
		return p + string(r), true
	}
	return textPastPrefix(p)
}

// smallestRuneAfter returns the smallest storable rune whose UTF-8 encoding sorts after
// rest, if any. UTF-8 (extended to surrogates) preserves code point order bytewise, so
// the predicate is monotonic and a binary search finds it.
func smallestRuneAfter(rest string) (rune, bool) {
	after := func(r rune) bool { return string(encodeRuneAny(r)) > rest }
	lo, hi := rune(1), rune(utf8.MaxRune) // NUL is not storable
	if !after(hi) {
		return 0, false
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if after(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if 0xD800 <= lo && lo <= 0xDFFF {
		lo = 0xE000 // surrogates are not storable; the next rune sorts after them all
	}
	return lo, true
}

// encodeRuneAny encodes r in UTF-8, surrogates included (as their 3-byte form), so that the
// encodings of all of 0..MaxRune are in code point order.
func encodeRuneAny(r rune) []byte {
	if 0xD800 <= r && r <= 0xDFFF {
		return []byte{0xE0 | byte(r>>12), 0x80 | byte(r>>6)&0x3F, 0x80 | byte(r)&0x3F}
	}
	return utf8.AppendRune(nil, r)
}

// textPastPrefix returns the smallest storable string that sorts after every string starting
// with the storable p; ok is false when there is none (p is empty, or only U+10FFFF).
func textPastPrefix(p string) (string, bool) {
	for p != "" {
		r, size := utf8.DecodeLastRuneInString(p)
		p = p[:len(p)-size]
		if r == 0xD7FF {
			return p + "\uE000", true
		}
		if r < utf8.MaxRune {
			return p + string(r+1), true
		}
	}
	return "", false
}

// blobNameRange holds the bounds of a listing of the names that start with prefix and sort
// strictly after after, as storable strings: names n with n > gt (when hasGT), n >= ge
// (when hasGE) and n < lt (when hasLT). empty is true when no storable name qualifies.
type blobNameRange struct {
	gt, ge, lt          string
	hasGT, hasGE, hasLT bool
	empty               bool
}

func blobListRange(prefix, after string) blobNameRange {
	var nr blobNameRange
	if after != "" {
		if storableText(after) {
			nr.gt, nr.hasGT = after, true
		} else if b, ok := textAtLeast(after); ok { // n > after ⇔ n >= after, as n != after
			nr.ge, nr.hasGE = b, true
		} else {
			return blobNameRange{empty: true}
		}
	}
	if prefix != "" {
		b, ok := textAtLeast(prefix)
		if !ok {
			return blobNameRange{empty: true}
		}
		if !nr.hasGE || b > nr.ge {
			nr.ge, nr.hasGE = b, true
		}
		// n starts with prefix ⇔ prefix <= n < end, end being prefix with its trailing
		// 0xFF bytes dropped and its last byte incremented (no end: no upper bound).
		n := len(prefix) // not strings.TrimRight, which reads "\xff" as U+FFFD
		for n > 0 && prefix[n-1] == 0xff {
			n--
		}
		if n > 0 {
			end := prefix[:n-1] + string([]byte{prefix[n-1] + 1})
			if b, ok := textAtLeast(end); ok {
				nr.lt, nr.hasLT = b, true
			}
		}
	}
	return nr
}

// where appends the range's conditions on column col to a query and its arguments.
func (nr blobNameRange) where(q *strings.Builder, args []any, col string) []any {
	if nr.hasGT {
		q.WriteString(" AND " + col + " > ?")
		args = append(args, nr.gt)
	}
	if nr.hasGE {
		q.WriteString(" AND " + col + " >= ?")
		args = append(args, nr.ge)
	}
	if nr.hasLT {
		q.WriteString(" AND " + col + " < ?")
		args = append(args, nr.lt)
	}
	return args
}
