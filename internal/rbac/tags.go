package rbac

import "strings"

// Blob index tag attributes are named by their key between markers, e.g.
// Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>;
// the key is case-sensitive, unlike the rest of the name.
const (
	attrBlobTagPrefix = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:"
	attrKeySuffix     = "<$key_case_sensitive$>"
)

// BlobTagKey returns the tag key an attribute name of a blob index tag names, for
// @Resource and @Request blob tag attributes; ok is false for other attributes.
func BlobTagKey(name string) (key string, ok bool) {
	if len(name) < len(attrBlobTagPrefix) || !strings.EqualFold(name[:len(attrBlobTagPrefix)], attrBlobTagPrefix) {
		return "", false
	}
	key, ok = strings.CutSuffix(name[len(attrBlobTagPrefix):], attrKeySuffix)
	if !ok || key == "" {
		return "", false
	}
	return key, true
}
