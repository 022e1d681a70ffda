package mgmt

import (
	"fmt"
	"net/http"
	"testing"
)

// Blob services and containers as ARM resources, beyond what the SDK deployment in e2e
// exercises: paging, the refusals, and what the Blob endpoint would see.
func TestBlobServiceAndContainers(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "demo", "westeurope")
	acct := accountPath("demo", "acct1")
	expect(t, f.call(t, "PUT", acct, `{}`), http.StatusOK)
	svc := acct + "/blobServices/default"

	armError(t, f.call(t, "GET", acct+"/blobServices/other", ""), http.StatusNotFound, "ResourceNotFound")
	armError(t, f.call(t, "GET", accountPath("demo", "nope")+"/blobServices/default", ""), http.StatusNotFound, "StorageAccountNotFound")
	if got := f.call(t, "GET", acct+"/blobServices", "").list(t); len(got) != 1 || str(got[0], "name") != "default" || str(got[0], "id") != svc {
		t.Errorf("blob services: %v", got)
	}
	// Settings Lanyard has (everything off) are accepted; one it would not keep is refused.
	expect(t, f.call(t, "PUT", svc, `{"properties":{"deleteRetentionPolicy":{"enabled":false,"days":7},"cors":{"corsRules":[]},"isVersioningEnabled":false}}`), http.StatusOK)
	if msg := armError(t, f.call(t, "PUT", svc, `{"properties":{"changeFeed":{"enabled":true}}}`), http.StatusBadRequest, "FeatureNotSupported"); msg == "" {
		t.Error("no message")
	}
	// Versioning and blob soft delete are kept, reported, and left as they are by a
	// request that does not mention them.
	expect(t, f.call(t, "PUT", svc, `{"properties":{"isVersioningEnabled":true,"deleteRetentionPolicy":{"enabled":true,"days":7}}}`), http.StatusOK)
	expect(t, f.call(t, "PATCH", svc, `{"properties":{"cors":{"corsRules":[]}}}`), http.StatusOK)
	got := f.call(t, "GET", svc, "").object(t)
	if v, _ := got["properties"].(map[string]any)["isVersioningEnabled"].(bool); !v {
		t.Errorf("isVersioningEnabled after turning it on: %v", got)
	}
	if p, _ := got["properties"].(map[string]any)["deleteRetentionPolicy"].(map[string]any); p["enabled"] != true || p["days"] != float64(7) {
		t.Errorf("deleteRetentionPolicy after turning it on: %v", got)
	}
	for _, bad := range []string{`{"enabled":true,"days":0}`, `{"enabled":true,"days":366}`, `{"enabled":true}`, `{"days":3}`} {
		armError(t, f.call(t, "PATCH", svc, `{"properties":{"deleteRetentionPolicy":`+bad+`}}`), http.StatusBadRequest, "InvalidRequestPropertyValue")
	}
	expect(t, f.call(t, "PATCH", svc, `{"properties":{"isVersioningEnabled":false,"deleteRetentionPolicy":{"enabled":false}}}`), http.StatusOK)
	got = f.call(t, "GET", svc, "").object(t)
	if v, _ := got["properties"].(map[string]any)["isVersioningEnabled"].(bool); v {
		t.Errorf("isVersioningEnabled after turning it off: %v", got)
	}
	if p, _ := got["properties"].(map[string]any)["deleteRetentionPolicy"].(map[string]any); p["enabled"] != false {
		t.Errorf("deleteRetentionPolicy after turning it off: %v", got)
	}

	for i := range 5 {
		res := f.call(t, "PUT", fmt.Sprintf("%s/containers/ctr%d", svc, i), `{"properties":{"metadata":{"n":"`+fmt.Sprint(i)+`"}}}`)
		expect(t, res, http.StatusCreated)
		if str(res.object(t), "id") != fmt.Sprintf("%s/containers/ctr%d", svc, i) {
			t.Errorf("container id: %s", res.body)
		}
	}
	// A redeploy of a container replaces its metadata.
	res := f.call(t, "PUT", svc+"/containers/ctr0", `{"properties":{"metadata":{"n":"again"}}}`)
	expect(t, res, http.StatusOK)
	if str(res.object(t), "properties", "metadata", "n") != "again" {
		t.Errorf("metadata after the redeploy: %s", res.body)
	}
	armError(t, f.call(t, "PUT", svc+"/containers/open", `{"properties":{"publicAccess":"Container"}}`), http.StatusConflict, "PublicAccessNotPermitted")
	armError(t, f.call(t, "PUT", svc+"/containers/Bad_Name", `{}`), http.StatusBadRequest, "InvalidResourceName")
	names, pages := f.walk(t, svc+"/containers?api-version="+apiVer+"&$top=2", 2)
	if len(names) != 5 || pages != 3 {
		t.Errorf("containers: %v in %d pages", names, pages)
	}
	// The containers are the Blob endpoint's own.
	if c, err := f.h.Containers.GetContainer(t.Context(), "acct1", "ctr3"); err != nil || c.Metadata["n"] != "3" {
		t.Errorf("Blob sees %+v, %v", c, err)
	}
	expect(t, f.call(t, "PATCH", svc+"/containers/ctr3", `{"properties":{"metadata":{"n":"patched"}}}`), http.StatusOK)
	armError(t, f.call(t, "PATCH", svc+"/containers/absent", `{}`), http.StatusNotFound, "ContainerNotFound")
	expect(t, f.call(t, "DELETE", svc+"/containers/ctr3", ""), http.StatusOK)
	expect(t, f.call(t, "DELETE", svc+"/containers/ctr3", ""), http.StatusNoContent)
	armError(t, f.call(t, "GET", svc+"/containers/ctr3", ""), http.StatusNotFound, "ContainerNotFound")
	expect(t, f.call(t, "HEAD", svc+"/containers/ctr2", ""), http.StatusNoContent)
}

// Storage account names and keys.
func TestAccountNameAndKeys(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "demo", "westeurope")
	expect(t, f.call(t, "PUT", accountPath("demo", "taken1"), `{}`), http.StatusOK)
	check := sub() + "/providers/Microsoft.Storage/checkNameAvailability"
	for _, tc := range []struct{ name, body string }{
		{"free1", `{"nameAvailable":true}`},
		{"taken1", `{"nameAvailable":false,"reason":"AlreadyExists","message":"The storage account named taken1 is already taken."}`},
	} {
		res := f.call(t, "POST", check, `{"name":"`+tc.name+`","type":"Microsoft.Storage/storageAccounts"}`)
		expect(t, res, http.StatusOK)
		if got := string(res.body); got != tc.body+"\n" {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.body)
		}
	}
	res := f.call(t, "POST", check, `{"name":"Not_Valid","type":"Microsoft.Storage/storageAccounts"}`)
	if obj := res.object(t); obj["nameAvailable"] != false || obj["reason"] != "AccountNameInvalid" {
		t.Errorf("an invalid name: %s", res.body)
	}
	armError(t, f.call(t, "POST", check, `{"name":"free1","type":"Microsoft.Web/sites"}`), http.StatusBadRequest, "InvalidResourceType")
	armError(t, f.call(t, "POST", accountPath("demo", "taken1")+"/listKeys", ""), http.StatusForbidden, "KeyBasedAuthenticationNotPermitted")
	armError(t, f.call(t, "POST", accountPath("demo", "absent1")+"/listKeys", ""), http.StatusNotFound, "StorageAccountNotFound")
	if got := f.call(t, "POST", accountPath("demo", "taken1")+"/listKeys", "").header.Get("x-ms-error-code"); got != "KeyBasedAuthenticationNotPermitted" {
		t.Errorf("x-ms-error-code = %q", got)
	}
}

func sub() string { return "/subscriptions/" + subID }
