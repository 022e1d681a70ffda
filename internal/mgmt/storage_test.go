package mgmt

import (
	"net/http"
	"testing"
)

// A storage account's SKU is a property of the account: given by PUT (Standard_LRS
// without one), returned with its tier by GET and the lists, changed by PATCH or PUT
// within what Azure changes in place; an unknown SKU is a 400 InvalidAccountType. A
// read-access geo-redundant account has a secondary Blob endpoint.
func TestStorageAccountSKU(t *testing.T) {
	f := newFixture(t)
	f.h.Env.BlobBaseURL = "https://127.0.0.1:10000"
	f.mustGroup(t, "demo", "westeurope")
	sku := func(res response) (name, tier string) {
		t.Helper()
		expect(t, res, http.StatusOK)
		o := res.object(t)
		return str(o, "sku", "name"), str(o, "sku", "tier")
	}

	if name, tier := sku(f.call(t, "PUT", accountPath("demo", "plain1"), `{}`)); name != "Standard_LRS" || tier != "Standard" {
		t.Errorf("account created without a SKU: %s %s", name, tier)
	}
	res := f.call(t, "PUT", accountPath("demo", "geo1"), `{"sku":{"name":"Standard_RAGRS"},"kind":"StorageV2"}`)
	if name, tier := sku(res); name != "Standard_RAGRS" || tier != "Standard" {
		t.Errorf("account created with Standard_RAGRS: %s %s", name, tier)
	}
	o := res.object(t)
	if got := str(o, "properties", "secondaryEndpoints", "blob"); got != "https://127.0.0.1:10000/geo1-secondary/" {
		t.Errorf("secondary endpoint %q; body %s", got, res.body)
	}
	if name, tier := sku(f.call(t, "PUT", accountPath("demo", "prem1"), `{"sku":{"name":"Premium_ZRS"}}`)); name != "Premium_ZRS" || tier != "Premium" {
		t.Errorf("account created with Premium_ZRS: %s %s", name, tier)
	}
	if name, _ := sku(f.call(t, "GET", accountPath("demo", "geo1"), "")); name != "Standard_RAGRS" {
		t.Errorf("GET: %s", name)
	}
	list := f.call(t, "GET", groupPath("demo")+"/providers/Microsoft.Storage/storageAccounts", "")
	expect(t, list, http.StatusOK)
	skus := map[string]string{}
	for _, a := range list.list(t) {
		skus[str(a, "name")] = str(a, "sku", "name")
	}
	if skus["plain1"] != "Standard_LRS" || skus["geo1"] != "Standard_RAGRS" || skus["prem1"] != "Premium_ZRS" {
		t.Errorf("list: %v", skus)
	}

	// PATCH changes geo-replication in place; tags and the SKU are kept when not named.
	res = f.call(t, "PATCH", accountPath("demo", "geo1"), `{"sku":{"name":"Standard_GRS"}}`)
	if name, _ := sku(res); name != "Standard_GRS" {
		t.Errorf("PATCH to Standard_GRS: %s", name)
	}
	if o := res.object(t); get(o, "properties", "secondaryEndpoints") != nil {
		t.Errorf("a Standard_GRS account has a readable secondary: %s", res.body)
	}
	if name, _ := sku(f.call(t, "PATCH", accountPath("demo", "geo1"), `{"tags":{"a":"b"}}`)); name != "Standard_GRS" {
		t.Errorf("PATCH of tags changed the SKU to %s", name)
	}
	armError(t, f.call(t, "PATCH", accountPath("demo", "geo1"), `{"sku":{"name":"Standard_ZRS"}}`), http.StatusBadRequest, "StorageAccountTypeConversionNotAllowed")
	armError(t, f.call(t, "PUT", accountPath("demo", "prem1"), `{"sku":{"name":"Standard_LRS"}}`), http.StatusBadRequest, "StorageAccountTypeConversionNotAllowed")
	if name, _ := sku(f.call(t, "GET", accountPath("demo", "geo1"), "")); name != "Standard_GRS" {
		t.Errorf("a refused PATCH changed the SKU to %s", name)
	}

	for _, body := range []string{`{"sku":{"name":"Standard_XYZ"}}`, `{"sku":{"name":""}}`, `{"sku":{"name":"StandardSSD_LRS"}}`} {
		armError(t, f.call(t, "PUT", accountPath("demo", "bad1"), body), http.StatusBadRequest, "InvalidAccountType")
	}
	armError(t, f.call(t, "PATCH", accountPath("demo", "geo1"), `{"sku":{"name":"Gold"}}`), http.StatusBadRequest, "InvalidAccountType")
	armError(t, f.call(t, "GET", accountPath("demo", "bad1"), ""), http.StatusNotFound, "StorageAccountNotFound")
}
