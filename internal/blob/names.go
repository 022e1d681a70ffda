package blob

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ValidateContainerName applies Azure's rules: 3 to 63 characters of lowercase letters,
// digits and hyphens, starting with a letter or digit, every hyphen between two letters
// or digits. $root, $web and $logs are the special names Azure reserves.
func ValidateContainerName(name string) error {
	switch name {
	case "$root", "$web", "$logs":
		return nil
	}
	if len(name) < 3 || len(name) > 63 {
		return errInvalid(CodeOutOfRangeInput, "The specified resource name length is not within the permissible limits.")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(name)-1 && name[i-1] != '-':
		default:
			return errInvalid(CodeInvalidResourceName, "The specifed resource name contains invalid characters.")
		}
	}
	return nil
}

// ValidateBlobName accepts 1 to 1024 characters of valid UTF-8 without control
// characters. Azure allows more (it escapes such names in listings); refusing them keeps
// every name representable in XML and logs.
func ValidateBlobName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > MaxBlobNameLength {
		return errInvalid(CodeOutOfRangeInput, "The specified resource name length is not within the permissible limits.")
	}
	if !utf8.ValidString(name) {
		return errInvalid(CodeInvalidResourceName, "The specifed resource name contains invalid characters.")
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == 0xFFFE || r == 0xFFFF {
			return errInvalid(CodeInvalidResourceName, "The specifed resource name contains invalid characters.")
		}
	}
	return nil
}

// ValidateMetadata checks names (C# identifiers, compared case-insensitively), values
// (printable ASCII, as HTTP headers carry them) and the total size, and returns the
// metadata with lower-cased names.
func ValidateMetadata(md Metadata) (Metadata, error) {
	if len(md) == 0 {
		return nil, nil
	}
	out := make(Metadata, len(md))
	size := 0
	for k, v := range md {
		if !isIdentifier(k) {
			return nil, errInvalid(CodeInvalidMetadata, "The metadata specified is invalid. It has characters that are not permitted.")
		}
		for i := 0; i < len(v); i++ {
			if c := v[i]; (c < 0x20 && c != '\t') || c > 0x7e {
				return nil, errInvalid(CodeInvalidMetadata, "The metadata specified is invalid. It has characters that are not permitted.")
			}
		}
		lk := strings.ToLower(k)
		if _, dup := out[lk]; dup {
			return nil, errInvalid(CodeInvalidMetadata, "The metadata specified is invalid. It has duplicate names.")
		}
		out[lk] = v
		size += len(k) + len(v)
	}
	if size > MaxMetadataSize {
		return nil, errInvalid(CodeMetadataTooLarge, "The size of the specified metadata exceeds the maximum size permitted.")
	}
	return out, nil
}

// isIdentifier reports whether s is a C# identifier in the ASCII range: a letter or
// underscore, then letters, digits and underscores. HTTP header names cannot carry more.
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
