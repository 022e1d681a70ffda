package blob

import (
	"encoding/base64"
)

// blockIDLength validates a block id (standard base64 of at most 64 bytes, as Azure
// requires) and returns its decoded length.
func blockIDLength(id string) (int, error) {
	if id == "" || len(id) > base64.StdEncoding.EncodedLen(MaxBlockIDBytes) {
		return 0, errInvalid(CodeInvalidBlockID, "The specified block ID is invalid. The block ID must be Base64-encoded.")
	}
	for i := 0; i < len(id); i++ {
		// The decoder skips CR and LF; an id is compared as text, so refuse them.
		if c := id[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return 0, errInvalid(CodeInvalidBlockID, "The specified block ID is invalid. The block ID must be Base64-encoded.")
		}
	}
	n, err := base64.StdEncoding.DecodeString(id)
	if err != nil || len(n) == 0 || len(n) > MaxBlockIDBytes {
		return 0, errInvalid(CodeInvalidBlockID, "The specified block ID is invalid. The block ID must be Base64-encoded.")
	}
	return len(n), nil
}

// ValidateBlockID reports whether id is a valid block id.
func ValidateBlockID(id string) error {
	_, err := blockIDLength(id)
	return err
}

// BlockIDLength returns the decoded length of a valid block id, 0 for an invalid one.
// MetaStores use it to fill BlockSummary.IDLength.
func BlockIDLength(id string) int {
	n, _ := blockIDLength(id)
	return n
}
