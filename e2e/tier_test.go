package e2e

import "testing"

// The azblob access tier calls against Lanyard through `lanyard app run`: uploads with a
// tier, SetTier, Archive (BlobArchived), a rehydration that completes after the server's
// default delay, and the tier properties of GetProperties and of the listing.
func TestGoSDKBlobTiers(t *testing.T) {
	s := blobFlow(t)
	s.assign(t, "writer", contributor, s.account["id"].(string))
	s.assign(t, "reader", "Storage Blob Data Reader", s.account["id"].(string))
	ok(t, "tiers", s.goBlob(t, "writer", "-op", "tiers", "-container", "tiers"))
	// Set Blob Tier is a write: a Reader is refused.
	denied(t, "reader sets a tier", s.goBlob(t, "reader", "-op", "set-tier", "-container", "tiers", "-blob", "cool.txt", "-data", "Hot"))
}

// The @azure/storage-blob access tier calls: setAccessTier, uploadData with a tier,
// getProperties and the listing, Archive and its rehydration.
func TestJavaScriptSDKBlobTiers(t *testing.T) {
	requireNode(t)
	s := blobFlow(t)
	s.assign(t, "writer", contributor, s.account["id"].(string))
	ok(t, "node tiers", s.nodeBlob(t, "writer", "--op", "tiers", "--container", "tiers"))
}
