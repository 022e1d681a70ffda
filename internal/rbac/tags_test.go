package rbac

import "testing"

func TestBlobTagKey(t *testing.T) {
	cases := map[string]string{
		"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>": "Project",
		"microsoft.storage/storageaccounts/blobservices/containers/blobs/tags:project<$key_case_sensitive$>": "project",
		"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:a b/c:d<$key_case_sensitive$>": "a b/c:d",
		"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project":                       "",
		"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:<$key_case_sensitive$>":        "",
		"Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path":                               "",
		"": "",
	}
	for name, want := range cases {
		got, ok := BlobTagKey(name)
		if got != want || ok != (want != "") {
			t.Errorf("BlobTagKey(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}
