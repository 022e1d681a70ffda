package directory

import (
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// An account's SKU is kept: given at creation (in any case, stored as Azure spells it),
// the default without one, unchanged by an update that names none, changed by one within
// its redundancy family only; an unknown SKU is Azure's InvalidAccountType.
func TestStorageAccountSKU(t *testing.T) {
	ctx := t.Context()
	s, _ := newService(t)
	if _, _, err := s.PutGroup(ctx, "demo", "", nil); err != nil {
		t.Fatal(err)
	}
	put := func(name, sku string) (lanyard.StorageAccount, error) {
		a, _, err := s.PutStorageAccount(ctx, "demo", name, "", sku, nil)
		return a, err
	}
	if a, err := put("plain", ""); err != nil || a.SKU != lanyard.SKUStandardLRS {
		t.Fatalf("account created without a SKU: %q, %v", a.SKU, err)
	}
	a, err := put("geo", "standard_ragrs")
	if err != nil || a.SKU != lanyard.SKUStandardRAGRS {
		t.Fatalf("account created with standard_ragrs: %q, %v", a.SKU, err)
	}
	if a, err = put("geo", ""); err != nil || a.SKU != lanyard.SKUStandardRAGRS {
		t.Fatalf("update without a SKU: %q, %v", a.SKU, err)
	}
	if a, err = put("geo", lanyard.SKUStandardLRS); err != nil || a.SKU != lanyard.SKUStandardLRS {
		t.Fatalf("update to Standard_LRS: %q, %v", a.SKU, err)
	}
	if got, _, err := (StorageAccounts{Directory: s}).AccountSKU(ctx, "geo"); err != nil || got != lanyard.SKUStandardLRS {
		t.Fatalf("AccountSKU after the update: %q, %v", got, err)
	}
	for _, to := range []string{lanyard.SKUStandardZRS, lanyard.SKUPremiumLRS, lanyard.SKUStandardRAGZRS} {
		_, err := put("geo", to)
		if lanyard.KindOf(err) != lanyard.KindInvalid || lanyard.CodeOf(err) != "StorageAccountTypeConversionNotAllowed" {
			t.Errorf("update from Standard_LRS to %s: %v; want StorageAccountTypeConversionNotAllowed", to, err)
		}
	}
	for _, sku := range []string{"Standard_XYZ", "LRS", "Premium_GRS"} {
		_, err := put("badsku", sku)
		if lanyard.KindOf(err) != lanyard.KindInvalid || lanyard.CodeOf(err) != "InvalidAccountType" {
			t.Errorf("account created with SKU %s: %v; want InvalidAccountType", sku, err)
		}
	}
	if _, err := s.GetStorageAccount(ctx, "demo", "badsku"); !lanyard.IsNotFound(err) {
		t.Errorf("an account with an invalid SKU was created: %v", err)
	}
	if _, ok, err := (StorageAccounts{Directory: s}).AccountSKU(ctx, "GEO"); ok || err != nil {
		t.Errorf("AccountSKU of a case variant: ok %v, %v; want no account", ok, err)
	}
}

// Storage Analytics settings are kept with the account; nil leaves a setting as it is.
func TestStorageAccountBlobAnalytics(t *testing.T) {
	ctx := t.Context()
	s, _ := newService(t)
	if _, _, err := s.PutGroup(ctx, "demo", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutStorageAccount(ctx, "demo", "acct1", "", "", nil); err != nil {
		t.Fatal(err)
	}
	accts := StorageAccounts{Directory: s}
	logging := lanyard.AnalyticsLogging{Read: true, Write: true, RetentionDays: 9}
	hour := lanyard.AnalyticsMetrics{Enabled: true, IncludeAPIs: true, RetentionDays: 2}
	if err := accts.SetBlobAnalytics(ctx, "acct1", &logging, &hour, nil); err != nil {
		t.Fatal(err)
	}
	minute := lanyard.AnalyticsMetrics{Enabled: true}
	if err := accts.SetBlobAnalytics(ctx, "acct1", nil, nil, &minute); err != nil {
		t.Fatal(err)
	}
	got, err := accts.BlobAnalytics(ctx, "acct1")
	if want := (lanyard.BlobAnalytics{Logging: logging, HourMetrics: hour, MinuteMetrics: minute}); err != nil || got != want {
		t.Fatalf("BlobAnalytics = %+v, %v; want %+v", got, err, want)
	}
	if err := accts.SetBlobAnalytics(ctx, "nobody", nil, &hour, nil); !lanyard.IsNotFound(err) {
		t.Fatalf("SetBlobAnalytics of a missing account: %v", err)
	}
}
