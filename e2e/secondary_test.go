package e2e

import (
	"encoding/json"
	"testing"
)

// TestGoSDKSecondaryEndpoint: an account made by `lanyard storage account create` without
// --sku is Standard_RAGRS (az's default); the unmodified azblob reads its blobs at the
// secondary endpoint (/{account}-secondary, Azure's <account>-secondary host) with the
// same credential, gets the Blob service stats there (400 on the primary), sees the SKU
// in Get Account Information, and is refused writes there (403
// InsufficientAccountPermissions), as on Azure.
func TestGoSDKSecondaryEndpoint(t *testing.T) {
	s := blobFlow(t)
	if sku, _ := s.account["sku"].(map[string]any); sku["name"] != "Standard_RAGRS" || sku["tier"] != "Standard" {
		t.Fatalf("account created without --sku: %v", s.account["sku"])
	}
	if sec, _ := s.account["secondaryEndpoints"].(map[string]any); sec["blob"] != s.accountURL+"-secondary/" {
		t.Fatalf("secondaryEndpoints = %v", s.account["secondaryEndpoints"])
	}
	acct := s.account["id"].(string)
	s.assign(t, "writer", "Storage Blob Data Owner", acct)
	// Get Blob Service Stats is blobServices/read, which no data role grants.
	s.assign(t, "writer", "Storage Account Contributor", acct)
	argv := []string{buildGoblob(t), "-account-url", s.accountURL, "-client-id", s.ids["writer"]["clientId"].(string), "-op", "secondary", "-container", "geo"}
	out, errOut, err := s.runAs(t, argv...)
	if err != nil {
		t.Fatalf("goblob secondary: %v\n%s%s\nserver log:\n%s", err, out, errOut, s.inst.stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("goblob printed %q: %v", out, err)
	}
	want := map[string]any{"ok": true, "stats": "live", "statsOnPrimary": "400 InvalidQueryParameterValue",
		"sku-primary": "Standard_RAGRS", "sku-secondary": "Standard_RAGRS", "writeOnSecondary": "403 InsufficientAccountPermissions"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v; want %v (all: %v)", k, got[k], v, got)
		}
	}
}
