package mgmt

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// The generic resource lists hold every type, page by $top, filter by resourceType, and
// answer a missing group as ARM does.
func TestGenericResourceLists(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "demo", "westeurope")
	f.mustGroup(t, "other", "westeurope")
	f.mustIdentity(t, "demo", "id1")
	f.mustIdentity(t, "other", "id2")
	expect(t, f.call(t, "PUT", appPath("demo", "web"), `{}`), http.StatusOK)
	expect(t, f.call(t, "PUT", accountPath("demo", "acct1"), `{}`), http.StatusOK)
	expect(t, f.call(t, "PUT", postgresPath("demo", "pg1"), `{"properties":{"upstream":"postgres://admin@127.0.0.1/db"}}`), http.StatusCreated)

	names, pages := f.walk(t, groupPath("demo")+"/resources?api-version="+apiVer+"&$top=1", 1)
	if len(names) != 4 || pages != 4 || !names["id1"] || !names["web"] || !names["acct1"] || !names["pg1"] {
		t.Errorf("group demo: %v in %d pages", names, pages)
	}
	all, _ := f.walk(t, sub()+"/resources?api-version="+apiVer, 1000)
	if len(all) != 5 || !all["id2"] {
		t.Errorf("subscription: %v", all)
	}
	res := f.call(t, "GET", groupPath("demo")+"/resources?$filter="+url.QueryEscape("resourceType eq 'Microsoft.Storage/storageAccounts'"), "")
	expect(t, res, http.StatusOK)
	var types []string
	for _, r := range res.list(t) {
		types = append(types, str(r, "type"))
	}
	if !slices.Equal(types, []string{"Microsoft.Storage/storageAccounts"}) {
		t.Errorf("filtered: %s", res.body)
	}
	armError(t, f.call(t, "GET", groupPath("demo")+"/resources?$filter="+url.QueryEscape("tagName eq 'x'"), ""), http.StatusBadRequest, "UnsupportedFilter")
	armError(t, f.call(t, "GET", groupPath("missing")+"/resources", ""), http.StatusNotFound, "ResourceGroupNotFound")
	// HEAD is CheckExistence.
	expect(t, f.call(t, "HEAD", groupPath("demo"), ""), http.StatusNoContent)
	expect(t, f.call(t, "HEAD", groupPath("missing"), ""), http.StatusNotFound)
	expect(t, f.call(t, "HEAD", appPath("demo", "web"), ""), http.StatusNoContent)
}
