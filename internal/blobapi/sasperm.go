package blobapi

import (
	"net/http"
	"strings"
)

// sasPermissionLetters are the blob and container SAS permissions Azure defines, in
// their canonical order: read, add, create, write, delete, delete version, permanent
// delete, list, tags, find by tags, move, execute, ownership, permissions, immutability.
const sasPermissionLetters = "racwdxyltfmeopi"

// sasAllows maps each operation a SAS may authorize to the permissions, any one of which
// allows it (Azure's "Permissions for a service SAS"). An operation missing here (one on
// the container itself, the service, a batch) is beyond what a blob or container SAS
// grants.
var sasAllows = map[*operation]string{
	opGetBlob: "r", opGetBlobProps: "r", opGetBlobMeta: "r", opGetBlockList: "r", opGetPageRanges: "r",
	// c creates a blob that does not exist yet; w creates or replaces.
	opPutBlob: "cw", opCreateAppend: "cw", opCreatePage: "cw",
	opPutBlock: "w", opPutBlockList: "w", opPutPage: "w", opSealBlob: "w",
	opAppendBlock: "aw",
	opSetBlobMeta: "w", opSetBlobProps: "w", opSetPageBlobProps: "w",
	opDeleteBlob: "d", opDeleteBlobVersion: "x",
	opListBlobs: "l",
	// Leases are writes (acquire, renew, change, release, break), as Azure's table has them.
	opLeaseBlob:   "w",
	opSetBlobTier: "w",
	opGetBlobTags: "t", opSetBlobTags: "t",
	opFindBlobs: "f",
}

// sasCreateOnly lists the operations that c allows only as a creation.
var sasCreateOnly = map[*operation]bool{opPutBlob: true, opCreateAppend: true, opCreatePage: true}

// validPermissions reports whether sp is made of known permission letters, each once.
func validPermissions(sp string) bool {
	if sp == "" {
		return false
	}
	for i, c := range sp {
		if !strings.ContainsRune(sasPermissionLetters, c) || strings.ContainsRune(sp[i+1:], c) {
			return false
		}
	}
	return true
}

// sasPermits decides op against the SAS's permissions sp. It returns whether the SAS
// allows only creating (c without w), or the error to answer.
func sasPermits(op *operation, sp string) (createOnly bool, err error) {
	allowed, ok := sasAllows[op]
	if !ok || !strings.ContainsAny(sp, allowed) {
		return false, errSASPermission()
	}
	return sasCreateOnly[op] && !strings.ContainsRune(sp, 'w'), nil
}

func errSASPermission() error {
	return &apiError{status: http.StatusForbidden, code: "AuthorizationPermissionMismatch",
		message: authMessages["AuthorizationPermissionMismatch"]}
}

func errSASResourceType() error {
	return &apiError{status: http.StatusForbidden, code: "AuthorizationResourceTypeMismatch",
		message: "This request is not authorized to perform this operation using this resource type."}
}
