package blob

import (
	"net/url"
	"sort"
	"strings"
)

// Blob index tag limits, as Azure enforces them.
const (
	MaxTags          = 10
	MaxTagKeyLength  = 128
	MaxTagValueLen   = 256
	maxTagsHeaderLen = 8 << 10 // 10 tags of the longest key and value, percent-encoded, fit
)

// Error codes of blob index tags.
const (
	CodeInvalidTag        = "InvalidTag"
	CodeTagsTooLarge      = "TagsTooLarge"
	CodeEmptyTagName      = "EmptyTagName"
	CodeDuplicateTagNames = "DuplicateTagNames"
)

// Tags are a blob's index tags: up to MaxTags key/value pairs, keys case-sensitive. A
// blob's tags are indexed by the MetaStore so that Find Blobs by Tags need not scan.
type Tags map[string]string

// Clone returns a copy of t (nil stays nil).
func (t Tags) Clone() Tags {
	if t == nil {
		return nil
	}
	c := make(Tags, len(t))
	for k, v := range t {
		c[k] = v
	}
	return c
}

// Keys returns t's keys in bytewise order, the order Get Blob Tags lists them in.
func (t Tags) Keys() []string {
	ks := make([]string, 0, len(t))
	for k := range t {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Header renders t in the query-string form of x-ms-tags.
func (t Tags) Header() string {
	var b strings.Builder
	for i, k := range t.Keys() {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(t[k]))
	}
	return b.String()
}

// TagPair is one tag as a request lists it; the order and duplicates are kept so that
// ValidateTagList can refuse duplicates.
type TagPair struct{ Key, Value string }

// ValidateTagList checks a tag set as a request carries it (Set Blob Tags' body, the
// x-ms-tags header) and returns it as Tags; none is nil.
func ValidateTagList(pairs []TagPair) (Tags, error) {
	if len(pairs) > MaxTags {
		return nil, errTagsTooLarge()
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	t := make(Tags, len(pairs))
	for _, p := range pairs {
		if p.Key == "" {
			return nil, errInvalid(CodeEmptyTagName, "The name of one of the tag key-value pairs is empty.")
		}
		if len(p.Key) > MaxTagKeyLength || len(p.Value) > MaxTagValueLen {
			return nil, errTagsTooLarge()
		}
		if !validTagText(p.Key) || !validTagText(p.Value) {
			return nil, errInvalid(CodeInvalidTag, "The tags specified are invalid. It contains characters that are not permitted.")
		}
		if _, dup := t[p.Key]; dup {
			return nil, errInvalid(CodeDuplicateTagNames, "The tags specified contain duplicate names.")
		}
		t[p.Key] = p.Value
	}
	return t, nil
}

// ParseTagsHeader parses x-ms-tags: "k1=v1&k2=v2", each part URL-encoded. An empty
// header is no tags.
func ParseTagsHeader(h string) (Tags, error) {
	if h == "" {
		return nil, nil
	}
	if len(h) > maxTagsHeaderLen {
		return nil, errTagsTooLarge()
	}
	parts := strings.Split(h, "&")
	if len(parts) > MaxTags {
		return nil, errTagsTooLarge()
	}
	pairs := make([]TagPair, 0, len(parts))
	for _, part := range parts {
		k, v, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, errInvalid(CodeInvalidTag, "The tags specified are invalid. It contains characters that are not permitted.")
		}
		pairs = append(pairs, TagPair{Key: key, Value: val})
	}
	return ValidateTagList(pairs)
}

// validTagText reports whether s uses only the characters Azure allows in tag keys and
// values: letters, digits, space and + - . / : = _.
func validTagText(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tagChar(s[i]) {
			return false
		}
	}
	return true
}

func tagChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte(" +-./:=_", c) >= 0
}

func errTagsTooLarge() error {
	return errInvalid(CodeTagsTooLarge, "The tags specified exceed the maximum permissible limit.")
}
