package msi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

const (
	goodHeader = "s3cret-header"
	resource   = "https://storage.azure.com"
)

var (
	system = lanyard.Identity{PrincipalID: "sys-p", ClientID: "sys-c", Kind: lanyard.SystemAssigned, Enabled: true}
	user   = lanyard.Identity{PrincipalID: "usr-p", ClientID: "usr-c", ResourceID: "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u", Kind: lanyard.UserAssigned, Enabled: true}
	other  = lanyard.Identity{PrincipalID: "oth-p", ClientID: "oth-c", Kind: lanyard.UserAssigned, Enabled: true}
	app    = lanyard.App{ResourceID: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/a", SystemPrincipalID: system.PrincipalID, UserAssigned: []string{user.PrincipalID}}
)

// fakeApps stands in for the directory: one app holding system and user, and an identity
// (other) that exists but is not assigned to it.
type fakeApps struct{}

func (fakeApps) AuthenticateApp(_ context.Context, h string) (lanyard.App, error) {
	if h != goodHeader {
		return lanyard.App{}, directory.ErrUnknownApp
	}
	return app, nil
}

func (fakeApps) ResolveIdentity(_ context.Context, a lanyard.App, sel directory.Selector) (lanyard.Identity, error) {
	for _, id := range []lanyard.Identity{system, user, other} {
		match := sel == directory.Selector{} && id.Kind == lanyard.SystemAssigned ||
			sel.ClientID == id.ClientID || sel.PrincipalID == id.PrincipalID || sel.ResourceID != "" && sel.ResourceID == id.ResourceID
		if !match {
			continue
		}
		if id.PrincipalID != a.SystemPrincipalID && id.PrincipalID != a.UserAssigned[0] {
			return lanyard.Identity{}, directory.ErrIdentityNotAssigned
		}
		return id, nil
	}
	return lanyard.Identity{}, directory.ErrIdentityNotAssigned
}

type fakeMinter struct{ calls atomic.Int32 }

func (m *fakeMinter) Mint(_ context.Context, id lanyard.Identity, res string) (Minted, error) {
	n := m.calls.Add(1)
	now := time.Unix(1_800_000_000, 0)
	return Minted{AccessToken: "tok-" + id.PrincipalID + "-" + res + "-" + strconv.Itoa(int(n)), UTI: "uti" + strconv.Itoa(int(n)), IssuedAt: now, ExpiresAt: now.Add(time.Hour)}, nil
}

func newServer(t *testing.T) (*httptest.Server, *fakeMinter) {
	t.Helper()
	m := &fakeMinter{}
	h := &Handler{Apps: fakeApps{}, Minter: m, Cache: NewCache(DefaultCacheLimits), Now: func() time.Time { return time.Unix(1_800_000_000, 0) }}
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, m
}

func get(t *testing.T, srv *httptest.Server, path string, q url.Values, headers map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	return resp, body
}

func appServiceQuery(extra ...string) url.Values {
	q := url.Values{"api-version": {"2019-08-01"}, "resource": {resource}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

func TestAppServiceTokens(t *testing.T) {
	srv, _ := newServer(t)
	for _, tc := range []struct {
		name  string
		q     url.Values
		owner string
	}{
		{"system-assigned", appServiceQuery(), system.PrincipalID},
		{"by client id", appServiceQuery("client_id", user.ClientID), user.PrincipalID},
		{"by resource id", appServiceQuery("mi_res_id", user.ResourceID), user.PrincipalID},
		{"by object id", appServiceQuery("object_id", user.PrincipalID), user.PrincipalID},
		{"by principal id", appServiceQuery("principal_id", user.PrincipalID), user.PrincipalID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, srv, AppServicePath, tc.q, map[string]string{"X-IDENTITY-HEADER": goodHeader})
			if resp.StatusCode != 200 {
				t.Fatalf("status %d body %v", resp.StatusCode, body)
			}
			if !strings.HasPrefix(body["access_token"].(string), "tok-"+tc.owner+"-") {
				t.Errorf("access_token %v was not minted for %s", body["access_token"], tc.owner)
			}
			if body["resource"] != resource || body["token_type"] != "Bearer" {
				t.Errorf("body = %v", body)
			}
			in, _ := strconv.Atoi(body["expires_in"].(string))
			on, _ := strconv.ParseInt(body["expires_on"].(string), 10, 64)
			ref, _ := strconv.Atoi(body["refresh_in"].(string))
			if in != 3600 || on != 1_800_000_000+3600 || ref != 1800 {
				t.Errorf("expires_in=%d expires_on=%d refresh_in=%d; want 3600, now+3600, 1800", in, on, ref)
			}
		})
	}
}

func TestIMDSTokens(t *testing.T) {
	srv, _ := newServer(t)
	q := url.Values{"api-version": {"2018-02-01"}, "resource": {resource}, "msi_res_id": {user.ResourceID}}
	resp, body := get(t, srv, IMDSPrefix+goodHeader+IMDSTokenPath, q, map[string]string{"Metadata": "true"})
	if resp.StatusCode != 200 || !strings.HasPrefix(body["access_token"].(string), "tok-"+user.PrincipalID) {
		t.Fatalf("status %d body %v", resp.StatusCode, body)
	}
	// msal-node appends a slash to the token path.
	resp, body = get(t, srv, IMDSPrefix+goodHeader+IMDSTokenPath+"/", q, map[string]string{"Metadata": "true"})
	if resp.StatusCode != 200 {
		t.Fatalf("trailing slash: status %d body %v", resp.StatusCode, body)
	}
	// The bare IMDS path accepts the identity header too.
	resp, body = get(t, srv, IMDSTokenPath, url.Values{"api-version": {"2018-02-01"}, "resource": {resource}}, map[string]string{"Metadata": "true", "X-IDENTITY-HEADER": goodHeader})
	if resp.StatusCode != 200 || !strings.HasPrefix(body["access_token"].(string), "tok-"+system.PrincipalID) {
		t.Fatalf("status %d body %v", resp.StatusCode, body)
	}
}

func TestCachePerIdentityAndResource(t *testing.T) {
	srv, m := newServer(t)
	h := map[string]string{"X-IDENTITY-HEADER": goodHeader}
	_, a := get(t, srv, AppServicePath, appServiceQuery(), h)
	_, b := get(t, srv, AppServicePath, appServiceQuery(), h)
	if a["access_token"] != b["access_token"] || m.calls.Load() != 1 {
		t.Fatalf("second request minted again (%d mints)", m.calls.Load())
	}
	_, c := get(t, srv, AppServicePath, appServiceQuery("resource", "https://vault.azure.net"), h)
	_, d := get(t, srv, AppServicePath, appServiceQuery("client_id", user.ClientID), h)
	if c["access_token"] == a["access_token"] || d["access_token"] == a["access_token"] || m.calls.Load() != 3 {
		t.Fatalf("cache mixed identities or resources (%d mints)", m.calls.Load())
	}
}

func TestBadRequests(t *testing.T) {
	srv, _ := newServer(t)
	long := strings.Repeat("x", maxParamLength+1)
	for _, tc := range []struct {
		name    string
		path    string
		q       url.Values
		headers map[string]string
		status  int
		field   string // the error field that must be present
		want    string // substring of the message
	}{
		{"app service: no header", AppServicePath, appServiceQuery(), nil, 401, "message", "X-IDENTITY-HEADER"},
		{"app service: wrong header", AppServicePath, appServiceQuery(), map[string]string{"X-IDENTITY-HEADER": "nope"}, 401, "message", "X-IDENTITY-HEADER"},
		{"app service: forwarded", AppServicePath, appServiceQuery(), map[string]string{"X-IDENTITY-HEADER": goodHeader, "X-Forwarded-For": "10.0.0.1"}, 400, "message", "X-Forwarded-For"},
		{"app service: unknown api-version", AppServicePath, appServiceQuery("api-version", "2017-09-01"), map[string]string{"X-IDENTITY-HEADER": goodHeader}, 400, "message", "api-version"},
		{"app service: missing api-version", AppServicePath, url.Values{"resource": {resource}}, map[string]string{"X-IDENTITY-HEADER": goodHeader}, 400, "message", "api-version"},
		{"app service: missing resource", AppServicePath, url.Values{"api-version": {"2019-08-01"}}, map[string]string{"X-IDENTITY-HEADER": goodHeader}, 400, "message", "audience"},
		{"app service: identity not assigned", AppServicePath, appServiceQuery("client_id", other.ClientID), map[string]string{"X-IDENTITY-HEADER": goodHeader}, 400, "message", "Unable to load the proper Managed Identity"},
		{"app service: identity unknown", AppServicePath, appServiceQuery("client_id", "does-not-exist"), map[string]string{"X-IDENTITY-HEADER": goodHeader}, 400, "message", "Unable to load the proper Managed Identity"},
		{"app service: two selectors", AppServicePath, appServiceQuery("client_id", user.ClientID, "object_id", user.PrincipalID), map[string]string{"X-IDENTITY-HEADER": goodHeader}, 400, "message", "Only one of"},
		{"app service: oversized parameter", AppServicePath, appServiceQuery("resource", long), map[string]string{"X-IDENTITY-HEADER": goodHeader}, 400, "message", "too long"},
		{"imds: no metadata header", IMDSPrefix + goodHeader + IMDSTokenPath, url.Values{"api-version": {"2018-02-01"}, "resource": {resource}}, nil, 400, "error_description", "metadata header"},
		{"imds: wrong secret", IMDSPrefix + "nope" + IMDSTokenPath, url.Values{"api-version": {"2018-02-01"}, "resource": {resource}}, map[string]string{"Metadata": "true"}, 401, "error_description", "Unknown Source"},
		{"imds: no secret", IMDSTokenPath, url.Values{"api-version": {"2018-02-01"}, "resource": {resource}}, map[string]string{"Metadata": "true"}, 401, "error_description", "Unknown Source"},
		{"imds: forwarded", IMDSPrefix + goodHeader + IMDSTokenPath, url.Values{"api-version": {"2018-02-01"}, "resource": {resource}}, map[string]string{"Metadata": "true", "X-Forwarded-For": "1.2.3.4"}, 400, "error_description", "X-Forwarded-For"},
		{"imds: bad api-version", IMDSPrefix + goodHeader + IMDSTokenPath, url.Values{"api-version": {"1999-01-01"}, "resource": {resource}}, map[string]string{"Metadata": "true"}, 400, "error_description", "api-version"},
		{"imds: missing resource", IMDSPrefix + goodHeader + IMDSTokenPath, url.Values{"api-version": {"2018-02-01"}}, map[string]string{"Metadata": "true"}, 400, "error_description", "audience"},
		{"imds: not assigned", IMDSPrefix + goodHeader + IMDSTokenPath, url.Values{"api-version": {"2018-02-01"}, "resource": {resource}, "object_id": {other.PrincipalID}}, map[string]string{"Metadata": "true"}, 400, "error_description", "Identity not found"},
		{"imds: wrong path under prefix", IMDSPrefix + goodHeader + "/metadata/instance", url.Values{}, map[string]string{"Metadata": "true"}, 404, "error_description", "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, srv, tc.path, tc.q, tc.headers)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d (body %v)", resp.StatusCode, tc.status, body)
			}
			msg, _ := body[tc.field].(string)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("%s = %q, want it to mention %q", tc.field, msg, tc.want)
			}
			if _, ok := body["access_token"]; ok {
				t.Error("an error response carried a token")
			}
			for _, secret := range []string{goodHeader, "tok-"} {
				if raw, _ := json.Marshal(body); strings.Contains(string(raw), secret) {
					t.Errorf("error body leaks %q: %s", secret, raw)
				}
			}
			if tc.field == "message" {
				if body["statusCode"] != float64(tc.status) || body["correlationId"] == "" {
					t.Errorf("App Service error shape wrong: %v", body)
				}
			} else if body["error"] == "" {
				t.Errorf("IMDS error shape wrong: %v", body)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	srv, _ := newServer(t)
	resp, err := srv.Client().Post(srv.URL+AppServicePath+"?"+appServiceQuery().Encode(), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST status %d, want 405", resp.StatusCode)
	}
}

func TestCacheForget(t *testing.T) {
	c := NewCache(DefaultCacheLimits)
	now := time.Unix(1000, 0)
	c.put("p1", "r", Minted{UTI: "a", ExpiresAt: now.Add(time.Hour)}, now)
	c.put("p2", "r", Minted{UTI: "b", ExpiresAt: now.Add(time.Hour)}, now)
	c.Forget("p1")
	if _, ok := c.get("p1", "r", now); ok {
		t.Error("Forget left p1's token")
	}
	c.ForgetToken("b")
	if _, ok := c.get("p2", "r", now); ok {
		t.Error("ForgetToken left token b")
	}
	// A token with under five minutes left is not served.
	c.put("p3", "r", Minted{UTI: "c", ExpiresAt: now.Add(4 * time.Minute)}, now)
	if _, ok := c.get("p3", "r", now); ok {
		t.Error("served a token about to expire")
	}
	c.Forget("p3")
	if s := c.Stats(); s.Entries != 0 || s.Bytes != 0 {
		t.Errorf("emptied cache reports %+v", s)
	}
}

func TestCachePerPrincipalLimit(t *testing.T) {
	c := NewCache(CacheLimits{Bytes: 1 << 20, PerPrincipal: 3})
	now := time.Unix(1000, 0)
	live := Minted{AccessToken: "tok", ExpiresAt: now.Add(time.Hour)}
	for i := range 3 {
		if !c.put("p", "r"+strconv.Itoa(i), live, now) {
			t.Fatalf("resource %d of 3 not cached", i)
		}
	}
	if c.put("p", "r3", live, now) {
		t.Fatal("a fourth resource was cached past the per-principal limit of 3")
	}
	if _, ok := c.get("p", "r3", now); ok {
		t.Fatal("the over-limit token is served from the cache")
	}
	// Another identity has its own allowance, and a cached resource can be refreshed.
	if !c.put("q", "r3", live, now) || !c.put("p", "r0", live, now) {
		t.Fatal("the limit spilled over to another identity or blocked a refresh")
	}
	if s := c.Stats(); s.Entries != 4 || s.Overflow != 1 {
		t.Fatalf("stats %+v, want 4 entries and 1 overflow", s)
	}
	// Expired tokens make way for new resources.
	c.put("p", "r0", Minted{ExpiresAt: now.Add(time.Minute)}, now)
	if !c.put("p", "r3", live, now) {
		t.Fatal("an expired token kept a new resource out")
	}
}

func TestCacheByteBound(t *testing.T) {
	const bound = 16 << 10
	c := NewCache(CacheLimits{Bytes: bound, PerPrincipal: 64})
	now := time.Unix(1000, 0)
	tok := Minted{AccessToken: strings.Repeat("t", 1500), ExpiresAt: now.Add(time.Hour)}
	res := strings.Repeat("r", 1000)
	for i := range 100 {
		c.put("p"+strconv.Itoa(i), res, tok, now)
		if s := c.Stats(); s.Bytes > bound {
			t.Fatalf("after %d puts the cache holds %d bytes, bound is %d", i+1, s.Bytes, bound)
		}
	}
	s := c.Stats()
	if s.Entries == 0 || s.Evicted == 0 || s.Bytes < bound/2 {
		t.Fatalf("stats %+v: want a cache near its bound that evicted to stay there", s)
	}
	// The newest token is always kept.
	if _, ok := c.get("p99", res, now); !ok {
		t.Fatal("the latest token was not cached")
	}
	// A token bigger than the whole budget is not cached at all.
	if c.put("big", "r", Minted{AccessToken: strings.Repeat("t", bound), ExpiresAt: now.Add(time.Hour)}, now) {
		t.Fatal("cached a token larger than the byte bound")
	}
}

// An app asking for ever new resources gets valid tokens, but cannot make the endpoint keep
// them: past 64 resources per identity each request mints afresh and counts as overflow.
func TestEndpointCachesAtMost64ResourcesPerIdentity(t *testing.T) {
	m := &fakeMinter{}
	cache := NewCache(DefaultCacheLimits)
	h := &Handler{Apps: fakeApps{}, Minter: m, Cache: cache, Now: func() time.Time { return time.Unix(1_800_000_000, 0) }}
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	hdr := map[string]string{"X-IDENTITY-HEADER": goodHeader}
	res := func(i int) string { return "api://attacker/" + strconv.Itoa(i) }
	for i := range 64 {
		get(t, srv, AppServicePath, appServiceQuery("resource", res(i)), hdr)
	}
	_, a := get(t, srv, AppServicePath, appServiceQuery("resource", res(0)), hdr)
	if m.calls.Load() != 64 {
		t.Fatalf("%d mints for 64 resources and a repeat, want 64", m.calls.Load())
	}
	_, b := get(t, srv, AppServicePath, appServiceQuery("resource", res(64)), hdr)
	_, c := get(t, srv, AppServicePath, appServiceQuery("resource", res(64)), hdr)
	if m.calls.Load() != 66 || b["access_token"] == c["access_token"] || b["access_token"] == nil || a["access_token"] == nil {
		t.Fatalf("the 65th resource: %d mints, tokens %v and %v; want two distinct fresh tokens", m.calls.Load(), b["access_token"], c["access_token"])
	}
	if s := cache.Stats(); s.Entries != 64 || s.Overflow != 2 {
		t.Fatalf("stats %+v, want 64 entries and 2 overflows", s)
	}
	// Another identity of the app still caches.
	get(t, srv, AppServicePath, appServiceQuery("client_id", user.ClientID), hdr)
	get(t, srv, AppServicePath, appServiceQuery("client_id", user.ClientID), hdr)
	if m.calls.Load() != 67 {
		t.Fatalf("another identity's token was not cached (%d mints)", m.calls.Load())
	}
}
