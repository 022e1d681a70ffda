package mgmt

import (
	"net/http"
	"testing"
)

// containerDeleteRetentionPolicy is kept on the account, reported by GET, checked for
// Azure's range, and makes Delete Container keep the container, which
// $include=deleted lists.
func TestContainerDeleteRetentionPolicy(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "demo", "westeurope")
	acct := accountPath("demo", "acct1")
	expect(t, f.call(t, "PUT", acct, `{}`), http.StatusOK)
	svc := acct + "/blobServices/default"
	policy := func(res response) map[string]any {
		t.Helper()
		p, _ := res.object(t)["properties"].(map[string]any)
		m, _ := p["containerDeleteRetentionPolicy"].(map[string]any)
		return m
	}
	if p := policy(f.call(t, "GET", svc, "")); p["enabled"] != false || p["days"] != nil {
		t.Fatalf("policy of a new account: %v", p)
	}
	for _, bad := range []string{`{"enabled":true}`, `{"enabled":true,"days":0}`, `{"enabled":true,"days":366}`} {
		armError(t, f.call(t, "PUT", svc, `{"properties":{"containerDeleteRetentionPolicy":`+bad+`}}`), http.StatusBadRequest, "InvalidRequestPropertyValue")
	}
	res := f.call(t, "PUT", svc, `{"properties":{"containerDeleteRetentionPolicy":{"enabled":true,"days":7}}}`)
	expect(t, res, http.StatusOK)
	if p := policy(res); p["enabled"] != true || p["days"] != float64(7) {
		t.Fatalf("PUT answers the policy %v", p)
	}
	// A PUT without the property keeps it.
	expect(t, f.call(t, "PUT", svc, `{"properties":{"isVersioningEnabled":false}}`), http.StatusOK)
	if p := policy(f.call(t, "GET", svc, "")); p["enabled"] != true || p["days"] != float64(7) {
		t.Fatalf("GET after PUTs: %v", p)
	}
	if a, err := f.h.Directory.GetStorageAccount(t.Context(), "demo", "acct1"); err != nil || a.ContainerDeleteRetentionDays != 7 {
		t.Fatalf("account: %+v, %v", a, err)
	}

	expect(t, f.call(t, "PUT", svc+"/containers/kept", `{}`), http.StatusCreated)
	expect(t, f.call(t, "DELETE", svc+"/containers/kept", ""), http.StatusOK)
	armError(t, f.call(t, "GET", svc+"/containers/kept", ""), http.StatusNotFound, "ContainerNotFound")
	if got := f.call(t, "GET", svc+"/containers", "").list(t); len(got) != 0 {
		t.Fatalf("plain listing shows %v", got)
	}
	got := f.call(t, "GET", svc+"/containers?api-version="+apiVer+"&$include=deleted", "").list(t)
	if len(got) != 1 || str(got[0], "name") != "kept" {
		t.Fatalf("$include=deleted: %v", got)
	}
	p := got[0]["properties"].(map[string]any)
	if p["deleted"] != true || p["remainingRetentionDays"] != float64(7) || len(str(got[0], "properties", "version")) != 16 || str(got[0], "properties", "deletedTime") == "" {
		t.Fatalf("deleted container properties: %v", p)
	}
	armError(t, f.call(t, "GET", svc+"/containers?api-version="+apiVer+"&$include=metadata", ""), http.StatusBadRequest, "InvalidQueryParameterValue")

	// Switched off, deletions are final again.
	res = f.call(t, "PUT", svc, `{"properties":{"containerDeleteRetentionPolicy":{"enabled":false}}}`)
	if p := policy(res); p["enabled"] != false {
		t.Fatalf("after switching off: %v", p)
	}
	expect(t, f.call(t, "PUT", svc+"/containers/gone", `{}`), http.StatusCreated)
	expect(t, f.call(t, "DELETE", svc+"/containers/gone", ""), http.StatusOK)
	if got := f.call(t, "GET", svc+"/containers?api-version="+apiVer+"&$include=deleted", "").list(t); len(got) != 1 {
		t.Fatalf("$include=deleted after a final deletion: %v", got)
	}
}
