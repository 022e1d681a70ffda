package mgmt

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/seal"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

const (
	adminToken = "lanyard-admin-0123456789abcdef0123456789abcdef"
	tenantID   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	subID      = "0b1f6471-1bf0-4dda-aec3-111122223333"
	apiVer     = "2023-01-31"
	msiBase    = "http://127.0.0.1:10080"
	caFile     = "/var/lib/lanyard/ca.pem"
	bundleFile = "/var/lib/lanyard/bundle.pem"

	genericMessage = "An internal error occurred."
)

var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// syncBuffer collects log output written by server goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type fixture struct {
	h    *Handler
	srv  *httptest.Server
	st   *sqlstore.Store
	dir  *directory.Service
	kr   *keys.Keyring
	logs *syncBuffer
	pg   *fakePostgresRoles
}

// newFixture builds the management API over a real SQLite store and a real keyring, and
// serves it on a real listener. Nothing is requested yet, so the route table is unbuilt.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "lanyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := seal.New(bytes.Repeat([]byte{3}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keys.New(t.Context(), st, sealer, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := directory.New(st, lanyard.Tenant{ID: tenantID, SubscriptionID: subID}, []byte("0123456789abcdef0123456789abcdef"), nil)
	sum := sha256.Sum256([]byte(adminToken))
	logs := &syncBuffer{}
	h := &Handler{
		Directory:      dir,
		Containers:     newBlobService(t),
		Keys:           kr,
		Env:            Environment{MSIBaseURL: msiBase, CAFile: caFile, BundleFile: bundleFile},
		AdminTokenHash: sum[:],
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
	}
	pg := newFakePostgresRoles()
	h.Postgres = &directory.Postgres{Directory: dir, Sealer: sealer, Roles: pg, FreeAddress: pg.freeAddress}
	h.ServiceBus = &directory.ServiceBus{Directory: dir, FreeAddress: freePorts()}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{h: h, srv: srv, st: st, dir: dir, kr: kr, logs: logs, pg: pg}
}

// newBlobService opens a real Blob service in a temporary folder, for the containers.
func newBlobService(t *testing.T) *blob.Service {
	t.Helper()
	dir := t.TempDir()
	meta, err := fsmeta.Open(filepath.Join(dir, "meta"), fsmeta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	content, err := fscontent.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := blob.Open(t.Context(), blob.Config{Meta: meta, Content: content, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// list returns the value array of an ARM list response.
func (r response) list(t *testing.T) []map[string]any {
	t.Helper()
	var l struct {
		Value *[]map[string]any `json:"value"`
	}
	if err := json.Unmarshal(r.body, &l); err != nil || l.Value == nil {
		t.Fatalf("body is not an ARM list (%v):\n%s", err, r.body)
	}
	return *l.Value
}

// request sends method to path (which may carry a query) with the given headers; a nil
// header map means the admin credential.
func (f *fixture) request(t *testing.T, method, path, body string, header map[string]string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if header == nil {
		header = map[string]string{"Authorization": "Bearer " + adminToken}
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b}
}

// call is request as the admin with the api-version appended.
func (f *fixture) call(t *testing.T, method, path, body string) response {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return f.request(t, method, path+sep+"api-version="+apiVer, body, nil)
}

func expect(t *testing.T, res response, status int) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status = %d, want %d; body %s", res.status, status, res.body)
	}
}

// armError checks res is an ARM error of status and code: {"error":{"code","message"}}.
func armError(t *testing.T, res response, status int, code string) string {
	t.Helper()
	if res.status != status {
		t.Errorf("status = %d, want %d; body %s", res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(res.body, &raw); err != nil {
		t.Fatalf("error body is not JSON: %v\n%s", err, res.body)
	}
	if len(raw) != 1 || raw["error"] == nil {
		t.Fatalf("error body has top-level keys other than \"error\": %s", res.body)
	}
	var e struct {
		Code    *string `json:"code"`
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(raw["error"], &e); err != nil || e.Code == nil || e.Message == nil {
		t.Fatalf("error is not {code, message}: %s", res.body)
	}
	if *e.Code != code {
		t.Errorf("code = %q, want %q (message %q)", *e.Code, code, *e.Message)
	}
	if *e.Message == "" {
		t.Error("error message is empty")
	}
	return *e.Message
}

// get walks m along keys and returns the value there, or nil.
func get(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func str(m map[string]any, path ...string) string {
	s, _ := get(m, path...).(string)
	return s
}

func groupPath(g string) string { return "/subscriptions/" + subID + "/resourceGroups/" + g }

func identityPath(g, name string) string {
	return groupPath(g) + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name
}

func appPath(g, name string) string { return groupPath(g) + "/providers/Microsoft.Web/sites/" + name }

func (f *fixture) mustGroup(t *testing.T, name, location string) {
	t.Helper()
	res := f.call(t, "PUT", groupPath(name), `{"location":"`+location+`"}`)
	if res.status != http.StatusCreated && res.status != http.StatusOK {
		t.Fatalf("PUT group %s: %d %s", name, res.status, res.body)
	}
}

func (f *fixture) mustIdentity(t *testing.T, group, name string) map[string]any {
	t.Helper()
	res := f.call(t, "PUT", identityPath(group, name), `{}`)
	if res.status != http.StatusCreated && res.status != http.StatusOK {
		t.Fatalf("PUT identity %s: %d %s", name, res.status, res.body)
	}
	return res.object(t)
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	path := "/subscriptions?api-version=" + apiVer
	basic := base64.StdEncoding.EncodeToString([]byte("admin:" + adminToken))
	tests := []struct {
		name   string
		header map[string]string
		ok     bool
	}{
		{"no Authorization header", map[string]string{}, false},
		{"empty header", map[string]string{"Authorization": ""}, false},
		{"scheme only", map[string]string{"Authorization": "Bearer"}, false},
		{"scheme and a space", map[string]string{"Authorization": "Bearer "}, false},
		{"wrong token", map[string]string{"Authorization": "Bearer not-the-admin-token"}, false},
		{"token with a suffix", map[string]string{"Authorization": "Bearer " + adminToken + "x"}, false},
		{"token prefix", map[string]string{"Authorization": "Bearer " + adminToken[:len(adminToken)-1]}, false},
		{"token without a scheme", map[string]string{"Authorization": adminToken}, false},
		{"Basic scheme", map[string]string{"Authorization": "Basic " + basic}, false},
		{"Basic scheme with the raw token", map[string]string{"Authorization": "Basic " + adminToken}, false},
		{"other scheme", map[string]string{"Authorization": "Token " + adminToken}, false},
		{"token in another header", map[string]string{"X-Admin-Token": adminToken}, false},
		{"huge token", map[string]string{"Authorization": "Bearer " + strings.Repeat("a", 4096)}, false},
		{"JWT-looking garbage", map[string]string{"Authorization": "Bearer aaa.bbb.ccc"}, false},
		{"admin token", map[string]string{"Authorization": "Bearer " + adminToken}, true},
		{"lower-case scheme", map[string]string{"Authorization": "bearer " + adminToken}, true},
		{"upper-case scheme", map[string]string{"Authorization": "BEARER " + adminToken}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.request(t, "GET", path, "", tt.header)
			if tt.ok {
				expect(t, res, http.StatusOK)
				return
			}
			armError(t, res, http.StatusUnauthorized, "AuthenticationFailed")
			if ch := res.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer ") {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", ch)
			}
			if bytes.Contains(res.body, []byte(adminToken)) {
				t.Error("the 401 echoes the admin token")
			}
		})
	}

	// Authentication comes before anything else: no api-version, unknown paths, wrong
	// subscriptions all get 401 first.
	for _, p := range []string{"/subscriptions", "/nope?api-version=" + apiVer, "/subscriptions/other?api-version=" + apiVer} {
		armError(t, f.request(t, "GET", p, "", map[string]string{}), http.StatusUnauthorized, "AuthenticationFailed")
	}
}

func TestAuthenticationWithoutAdminHash(t *testing.T) {
	f := newFixture(t)
	f.h.AdminTokenHash = nil // before the first request
	for _, hdr := range []string{"Bearer " + adminToken, "Bearer ", "Bearer x"} {
		res := f.request(t, "GET", "/subscriptions?api-version="+apiVer, "", map[string]string{"Authorization": hdr})
		armError(t, res, http.StatusUnauthorized, "AuthenticationFailed")
	}
}

func TestAPIVersion(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name  string
		query string
		code  string // "" for success
	}{
		{"missing", "", "MissingApiVersionParameter"},
		{"empty", "?api-version=", "MissingApiVersionParameter"},
		{"other parameter only", "?apiversion=" + apiVer, "MissingApiVersionParameter"},
		{"not a date", "?api-version=latest", "InvalidApiVersionParameter"},
		{"short month", "?api-version=2023-1-31", "InvalidApiVersionParameter"},
		{"trailing junk", "?api-version=2023-01-31x", "InvalidApiVersionParameter"},
		{"unknown suffix", "?api-version=2023-01-31-beta", "InvalidApiVersionParameter"},
		{"preview plus junk", "?api-version=2023-01-31-preview-2", "InvalidApiVersionParameter"},
		{"spaces", "?api-version=%202023-01-31", "InvalidApiVersionParameter"},
		{"non-ASCII digits", "?api-version=%D9%A2%D9%A0%D9%A2%D9%A3-01-31", "InvalidApiVersionParameter"},
		{"date", "?api-version=" + apiVer, ""},
		{"preview", "?api-version=2024-11-30-preview", ""},
		{"among other parameters", "?$top=5&api-version=" + apiVer, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.request(t, "GET", "/subscriptions"+tt.query, "", nil)
			if tt.code == "" {
				expect(t, res, http.StatusOK)
				return
			}
			armError(t, res, http.StatusBadRequest, tt.code)
		})
	}
	// A long api-version is clipped in the message.
	long := strings.Repeat("9", 5000)
	msg := armError(t, f.request(t, "GET", "/subscriptions?api-version="+long, "", nil), http.StatusBadRequest, "InvalidApiVersionParameter")
	if len(msg) > 400 {
		t.Errorf("message is %d bytes: the api-version is not clipped", len(msg))
	}
}

func TestSubscriptions(t *testing.T) {
	f := newFixture(t)
	l := f.call(t, "GET", "/subscriptions", "").list(t)
	if len(l) != 1 {
		t.Fatalf("GET /subscriptions lists %d subscriptions, want 1", len(l))
	}
	for _, p := range []string{"/subscriptions/" + subID, "/subscriptions/" + strings.ToUpper(subID), "/SUBSCRIPTIONS/" + subID + "/"} {
		res := f.call(t, "GET", p, "")
		expect(t, res, http.StatusOK)
		m := res.object(t)
		if str(m, "subscriptionId") != subID || str(m, "tenantId") != tenantID || str(m, "id") != "/subscriptions/"+subID || str(m, "state") != "Enabled" {
			t.Errorf("GET %s = %s", p, res.body)
		}
	}
	if str(l[0], "subscriptionId") != subID || str(l[0], "tenantId") != tenantID {
		t.Errorf("listed subscription = %v", l[0])
	}

	other := "00000000-0000-0000-0000-000000000000"
	for _, tc := range []struct{ method, path string }{
		{"GET", "/subscriptions/" + other},
		{"GET", "/subscriptions/" + other + "/resourcegroups"},
		{"PUT", "/subscriptions/" + other + "/resourceGroups/demo"},
		{"GET", "/subscriptions/" + other + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities"},
		{"PUT", "/subscriptions/" + other + "/resourceGroups/demo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"},
		{"POST", "/subscriptions/" + other + "/resourceGroups/demo/providers/Microsoft.Web/sites/web/listIdentityEnvironment"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			msg := armError(t, f.call(t, tc.method, tc.path, "{}"), http.StatusNotFound, "SubscriptionNotFound")
			if !strings.Contains(msg, other) {
				t.Errorf("message %q does not name the subscription", msg)
			}
		})
	}
	// Nothing was created under the wrong subscription.
	if got := f.call(t, "GET", "/subscriptions/"+subID+"/resourcegroups", "").list(t); len(got) != 0 {
		t.Errorf("groups after wrong-subscription PUT: %v", got)
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "demo", "westeurope")
	for _, p := range []string{
		"/",
		"/foo",
		"/subscriptions/" + subID + "/resourceGroups/demo/providers/Microsoft.Compute/virtualMachines/vm1",
		"/subscriptions/" + subID + "/resourceGroups/demo/extra",
		"/subscriptions/" + subID + "/resourceGroups/demo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1/extra",
		"/subscriptions/" + subID + "/resourceGroups//providers/Microsoft.Web/sites/web",
		"/subscriptions/" + subID + "/resourceGroups/demo/providers/Microsoft.Web/sites/web/unknownAction",
		"/providers/Lanyard.Authority/signingKeys/kid/extra",
	} {
		t.Run("path "+p, func(t *testing.T) {
			armError(t, f.call(t, "GET", p, ""), http.StatusBadRequest, "InvalidResourceType")
		})
	}
	for _, tc := range []struct{ method, path string }{
		{"DELETE", "/subscriptions"},
		{"POST", "/subscriptions/" + subID},
		{"POST", groupPath("demo")},
		{"PUT", "/subscriptions/" + subID + "/resourcegroups"},
		{"POST", identityPath("demo", "id1")},
		{"GET", appPath("demo", "web") + "/listIdentityEnvironment"},
		{"PUT", appPath("demo", "web") + "/rotateIdentityHeader"},
		{"PUT", KeysPath},
		{"GET", KeysPath + "/rotate"},
		{"DELETE", KeysPath + "/rotate"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			msg := armError(t, f.call(t, tc.method, tc.path, "{}"), http.StatusMethodNotAllowed, "MethodNotAllowed")
			if !strings.Contains(msg, tc.method) {
				t.Errorf("message %q does not name the method", msg)
			}
		})
	}
	// A 405 changed nothing.
	if res := f.call(t, "GET", groupPath("demo"), ""); res.status != http.StatusOK {
		t.Errorf("group after 405s: %d %s", res.status, res.body)
	}
}

func checkGroup(t *testing.T, m map[string]any, name, location string, tags map[string]string) {
	t.Helper()
	if got, want := str(m, "id"), "/subscriptions/"+subID+"/resourceGroups/"+name; got != want {
		t.Errorf("id = %q, want %q", got, want)
	}
	if str(m, "name") != name || str(m, "type") != "Microsoft.Resources/resourceGroups" || str(m, "location") != location {
		t.Errorf("name/type/location = %q/%q/%q, want %q/Microsoft.Resources/resourceGroups/%q", str(m, "name"), str(m, "type"), str(m, "location"), name, location)
	}
	if str(m, "properties", "provisioningState") != "Succeeded" {
		t.Errorf("properties.provisioningState = %v", get(m, "properties", "provisioningState"))
	}
	gotTags, ok := m["tags"].(map[string]any)
	if !ok {
		t.Errorf("tags = %#v, want an object (never null)", m["tags"])
	}
	if len(gotTags) != len(tags) {
		t.Errorf("tags = %v, want %v", gotTags, tags)
	}
	for k, v := range tags {
		if gotTags[k] != v {
			t.Errorf("tags[%s] = %v, want %s", k, gotTags[k], v)
		}
	}
}

func TestResourceGroups(t *testing.T) {
	f := newFixture(t)
	res := f.call(t, "PUT", groupPath("Demo-RG"), `{"location":"westeurope","tags":{"env":"test"}}`)
	expect(t, res, http.StatusCreated)
	checkGroup(t, res.object(t), "Demo-RG", "westeurope", map[string]string{"env": "test"})

	// PUT again: 200, same group, tags replaced.
	res = f.call(t, "PUT", groupPath("Demo-RG"), `{"location":"westeurope","tags":{"env":"prod","team":"a"}}`)
	expect(t, res, http.StatusOK)
	checkGroup(t, res.object(t), "Demo-RG", "westeurope", map[string]string{"env": "prod", "team": "a"})

	// Keywords and names match case-insensitively; the name comes back as created.
	for _, p := range []string{
		groupPath("Demo-RG"),
		"/subscriptions/" + subID + "/resourcegroups/demo-rg",
		"/SUBSCRIPTIONS/" + strings.ToUpper(subID) + "/RESOURCEGROUPS/DEMO-RG",
		groupPath("Demo-RG") + "/",
	} {
		res := f.call(t, "GET", p, "")
		expect(t, res, http.StatusOK)
		checkGroup(t, res.object(t), "Demo-RG", "westeurope", map[string]string{"env": "prod", "team": "a"})
	}
	// PUT with another case updates, not creates.
	res = f.call(t, "PUT", "/subscriptions/"+subID+"/resourcegroups/DEMO-RG", `{"location":"WestEurope"}`)
	expect(t, res, http.StatusOK)
	if n := str(res.object(t), "name"); n != "Demo-RG" {
		t.Errorf("name after case-changed PUT = %q", n)
	}

	// A group without a location gets the default; one in another location is refused.
	res = f.call(t, "PUT", groupPath("nolocation"), "")
	expect(t, res, http.StatusCreated)
	checkGroup(t, res.object(t), "nolocation", directory.DefaultLocation, nil)
	armError(t, f.call(t, "PUT", groupPath("Demo-RG"), `{"location":"eastus"}`), http.StatusBadRequest, "InvalidResourceGroupLocation")

	l := f.call(t, "GET", "/subscriptions/"+subID+"/resourceGroups", "").list(t)
	if len(l) != 2 {
		t.Fatalf("list = %d groups, want 2", len(l))
	}
	names := map[string]bool{}
	for _, g := range l {
		names[str(g, "name")] = true
		if str(g, "type") != lanyard.TypeResourceGroup {
			t.Errorf("listed type = %q", str(g, "type"))
		}
	}
	if !names["Demo-RG"] || !names["nolocation"] {
		t.Errorf("listed names = %v", names)
	}

	expect(t, f.call(t, "DELETE", groupPath("demo-rg"), ""), http.StatusOK)
	armError(t, f.call(t, "GET", groupPath("Demo-RG"), ""), http.StatusNotFound, "ResourceGroupNotFound")
	armError(t, f.call(t, "DELETE", groupPath("Demo-RG"), ""), http.StatusNotFound, "ResourceGroupNotFound")
}

func TestInvalidNames(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "demo", "westeurope")
	tests := []struct {
		name string
		path string
		code string
	}{
		{"group ending in a period", groupPath("demo."), "InvalidResourceGroup"},
		{"group with a space", groupPath("a%20b"), "InvalidResourceGroup"},
		{"group with a star", groupPath("a*b"), "InvalidResourceGroup"},
		{"group with non-ASCII letters", groupPath("gr%C3%BCn"), "InvalidResourceGroup"},
		{"group of 91 characters", groupPath(strings.Repeat("g", 91)), "InvalidResourceGroup"},
		{"identity of 2 characters", identityPath("demo", "ab"), "InvalidResourceName"},
		{"identity starting with a hyphen", identityPath("demo", "-abc"), "InvalidResourceName"},
		{"identity with a period", identityPath("demo", "a.bc"), "InvalidResourceName"},
		{"identity of 129 characters", identityPath("demo", "a"+strings.Repeat("b", 128)), "InvalidResourceName"},
		{"app ending in a hyphen", appPath("demo", "web-"), "InvalidResourceName"},
		{"app with an underscore", appPath("demo", "my_app"), "InvalidResourceName"},
		{"app of 61 characters", appPath("demo", strings.Repeat("a", 61)), "InvalidResourceName"},
		{"app of one character", appPath("demo", "a"), "InvalidResourceName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := armError(t, f.call(t, "PUT", tt.path, `{}`), http.StatusBadRequest, tt.code)
			if len(msg) > 400 {
				t.Errorf("message is %d bytes: the name is not clipped", len(msg))
			}
		})
	}
	// At the limits, names are accepted.
	expect(t, f.call(t, "PUT", groupPath(strings.Repeat("g", 90)), `{}`), http.StatusCreated)
	expect(t, f.call(t, "PUT", groupPath("a_b-c.d(e)"), `{}`), http.StatusCreated)
	expect(t, f.call(t, "PUT", identityPath("demo", "abc"), `{}`), http.StatusCreated)
	expect(t, f.call(t, "PUT", identityPath("demo", "a"+strings.Repeat("b", 127)), `{}`), http.StatusCreated)
	expect(t, f.call(t, "PUT", appPath("demo", "ab"), `{}`), http.StatusOK)
	expect(t, f.call(t, "PUT", appPath("demo", strings.Repeat("a", 60)), `{}`), http.StatusOK)
}

func checkIdentity(t *testing.T, m map[string]any, group, name, location string) {
	t.Helper()
	if got, want := str(m, "id"), identityPath(group, name); got != want {
		t.Errorf("id = %q, want %q", got, want)
	}
	if str(m, "name") != name || str(m, "type") != lanyard.TypeUserAssignedIdentity || str(m, "location") != location {
		t.Errorf("name/type/location = %q/%q/%q", str(m, "name"), str(m, "type"), str(m, "location"))
	}
	if _, ok := m["tags"].(map[string]any); !ok {
		t.Errorf("tags = %#v, want an object", m["tags"])
	}
	for _, k := range []string{"clientId", "principalId"} {
		if !guid.MatchString(str(m, "properties", k)) {
			t.Errorf("properties.%s = %q, want a GUID", k, str(m, "properties", k))
		}
	}
	if str(m, "properties", "clientId") == str(m, "properties", "principalId") {
		t.Error("clientId equals principalId")
	}
	if str(m, "properties", "tenantId") != tenantID {
		t.Errorf("properties.tenantId = %q, want %q", str(m, "properties", "tenantId"), tenantID)
	}
}

func TestIdentities(t *testing.T) {
	f := newFixture(t)
	armError(t, f.call(t, "PUT", identityPath("missing", "id1"), `{}`), http.StatusNotFound, "ResourceGroupNotFound")
	armError(t, f.call(t, "GET", groupPath("missing")+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities", ""), http.StatusNotFound, "ResourceGroupNotFound")

	f.mustGroup(t, "demo", "westeurope")
	f.mustGroup(t, "other", "eastus")
	res := f.call(t, "PUT", identityPath("demo", "id1"), `{"tags":{"team":"a"}}`)
	expect(t, res, http.StatusCreated)
	created := res.object(t)
	checkIdentity(t, created, "demo", "id1", "westeurope") // the group's location
	if str(created, "tags", "team") != "a" {
		t.Errorf("tags = %v", created["tags"])
	}

	// PUT again: 200, the same principal, tags replaced; a different case is the same identity.
	res = f.call(t, "PUT", groupPath("DEMO")+"/providers/microsoft.managedidentity/USERASSIGNEDIDENTITIES/ID1", `{"tags":{"team":"b"}}`)
	expect(t, res, http.StatusOK)
	again := res.object(t)
	checkIdentity(t, again, "demo", "id1", "westeurope")
	for _, k := range []string{"clientId", "principalId"} {
		if str(again, "properties", k) != str(created, "properties", k) {
			t.Errorf("properties.%s changed on update", k)
		}
	}
	if str(again, "tags", "team") != "b" {
		t.Errorf("tags after update = %v", again["tags"])
	}

	res = f.call(t, "PUT", identityPath("other", "id2"), `{"location":"northeurope"}`)
	expect(t, res, http.StatusCreated)
	checkIdentity(t, res.object(t), "other", "id2", "northeurope")

	for _, p := range []string{identityPath("demo", "id1"), "/subscriptions/" + subID + "/resourcegroups/demo/providers/Microsoft.ManagedIdentity/userassignedidentities/Id1"} {
		res := f.call(t, "GET", p, "")
		expect(t, res, http.StatusOK)
		got := res.object(t)
		checkIdentity(t, got, "demo", "id1", "westeurope")
		if str(got, "properties", "principalId") != str(created, "properties", "principalId") {
			t.Errorf("GET %s: another principal", p)
		}
	}

	if l := f.call(t, "GET", groupPath("demo")+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities", "").list(t); len(l) != 1 || str(l[0], "name") != "id1" {
		t.Errorf("list in demo = %v", l)
	}
	if l := f.call(t, "GET", "/subscriptions/"+subID+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities", "").list(t); len(l) != 2 {
		t.Errorf("list in subscription = %d identities, want 2", len(l))
	}

	expect(t, f.call(t, "DELETE", identityPath("demo", "id1"), ""), http.StatusOK)
	armError(t, f.call(t, "GET", identityPath("demo", "id1"), ""), http.StatusNotFound, "ResourceNotFound")
	// ARM: deleting what is not there is not an error.
	res = f.call(t, "DELETE", identityPath("demo", "id1"), "")
	expect(t, res, http.StatusNoContent)
	if len(res.body) != 0 {
		t.Errorf("204 has a body: %s", res.body)
	}
	expect(t, f.call(t, "DELETE", identityPath("demo", "never"), ""), http.StatusNoContent)
	if l := f.call(t, "GET", groupPath("demo")+"/providers/Microsoft.ManagedIdentity/userAssignedIdentities", "").list(t); len(l) != 0 {
		t.Errorf("list after delete = %v", l)
	}
}

// appIdentity returns the identity block of an app response.
func appIdentity(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	id, ok := m["identity"].(map[string]any)
	if !ok {
		t.Fatalf("app has no identity block: %v", m)
	}
	return id
}

func userAssigned(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	u, _ := appIdentity(t, m)["userAssignedIdentities"].(map[string]any)
	return u
}

func TestApps(t *testing.T) {
	f := newFixture(t)
	armError(t, f.call(t, "PUT", appPath("missing", "web"), `{}`), http.StatusNotFound, "ResourceGroupNotFound")
	f.mustGroup(t, "demo", "westeurope")
	id1 := f.mustIdentity(t, "demo", "id1")
	id2 := f.mustIdentity(t, "demo", "id2")
	id1ID, id2ID := str(id1, "id"), str(id2, "id")

	body := `{"location":"westeurope","tags":{"app":"web"},"identity":{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{"` + id1ID + `":{}}}}`
	res := f.call(t, "PUT", appPath("demo", "web"), body)
	expect(t, res, http.StatusOK) // Microsoft.Web/sites answers 200 or 202, never 201
	app := res.object(t)
	if str(app, "id") != appPath("demo", "web") || str(app, "name") != "web" || str(app, "type") != lanyard.TypeApp || str(app, "location") != "westeurope" {
		t.Errorf("app = %s", res.body)
	}
	if str(app, "properties", "provisioningState") != "Succeeded" {
		t.Errorf("provisioningState = %v", get(app, "properties", "provisioningState"))
	}
	ident := appIdentity(t, app)
	if str(ident, "type") != "SystemAssigned, UserAssigned" {
		t.Errorf("identity.type = %q", str(ident, "type"))
	}
	systemPrincipal := str(ident, "principalId")
	if !guid.MatchString(systemPrincipal) || str(ident, "tenantId") != tenantID {
		t.Errorf("identity.principalId/tenantId = %q/%q", systemPrincipal, str(ident, "tenantId"))
	}
	ua := userAssigned(t, app)
	if len(ua) != 1 {
		t.Fatalf("userAssignedIdentities = %v, want id1 only", ua)
	}
	entry, _ := ua[id1ID].(map[string]any)
	if str(entry, "clientId") != str(id1, "properties", "clientId") || str(entry, "principalId") != str(id1, "properties", "principalId") {
		t.Errorf("userAssignedIdentities[id1] = %v, want the identity's clientId and principalId", entry)
	}

	// GET returns the same.
	res = f.call(t, "GET", "/subscriptions/"+subID+"/resourcegroups/DEMO/providers/microsoft.web/SITES/WEB", "")
	expect(t, res, http.StatusOK)
	if got := res.object(t); str(appIdentity(t, got), "principalId") != systemPrincipal || len(userAssigned(t, got)) != 1 {
		t.Errorf("GET app = %s", res.body)
	}

	// PATCH without an identity block keeps the identities and changes the tags.
	res = f.call(t, "PATCH", appPath("demo", "web"), `{"tags":{"app":"web2"}}`)
	expect(t, res, http.StatusOK)
	got := res.object(t)
	if str(got, "tags", "app") != "web2" {
		t.Errorf("tags after PATCH = %v", got["tags"])
	}
	if str(appIdentity(t, got), "type") != "SystemAssigned, UserAssigned" || str(appIdentity(t, got), "principalId") != systemPrincipal || len(userAssigned(t, got)) != 1 {
		t.Errorf("PATCH without identity changed the identities: %s", res.body)
	}

	// PATCH with an identity block replaces them: id2 by name in the app's group, no system identity.
	res = f.call(t, "PATCH", appPath("demo", "web"), `{"identity":{"type":"UserAssigned","userAssignedIdentities":{"id2":null}}}`)
	expect(t, res, http.StatusOK)
	got = res.object(t)
	if str(appIdentity(t, got), "type") != "UserAssigned" || str(appIdentity(t, got), "principalId") != "" {
		t.Errorf("identity after PATCH to UserAssigned = %v", got["identity"])
	}
	if ua := userAssigned(t, got); len(ua) != 1 || ua[id2ID] == nil {
		t.Errorf("userAssignedIdentities = %v, want id2 only", ua)
	}
	if str(got, "tags", "app") != "web2" {
		t.Errorf("PATCH without tags changed them: %v", got["tags"])
	}

	// Identity type None removes every identity.
	res = f.call(t, "PATCH", appPath("demo", "web"), `{"identity":{"type":"None"}}`)
	expect(t, res, http.StatusOK)
	got = res.object(t)
	if ident := appIdentity(t, got); str(ident, "type") != "None" || str(ident, "principalId") != "" || ident["userAssignedIdentities"] != nil {
		t.Errorf("identity after None = %v", ident)
	}
	// The removed system identity is gone for good; adding one again makes a new principal.
	res = f.call(t, "PATCH", appPath("demo", "web"), `{"identity":{"type":"systemassigned"}}`)
	expect(t, res, http.StatusOK)
	if p := str(appIdentity(t, res.object(t)), "principalId"); !guid.MatchString(p) || p == systemPrincipal {
		t.Errorf("new system principal = %q (old %q)", p, systemPrincipal)
	}

	// Bad identity types are refused and change nothing.
	for _, typ := range []string{"Magic", "SystemAssigned, Magic", "SystemAssigned;UserAssigned"} {
		armError(t, f.call(t, "PUT", appPath("demo", "web"), `{"identity":{"type":"`+typ+`"}}`), http.StatusBadRequest, "InvalidIdentityType")
		armError(t, f.call(t, "PATCH", appPath("demo", "web"), `{"identity":{"type":"`+typ+`"}}`), http.StatusBadRequest, "InvalidIdentityType")
	}
	res = f.call(t, "GET", appPath("demo", "web"), "")
	if str(appIdentity(t, res.object(t)), "type") != "SystemAssigned" {
		t.Errorf("identity after refused changes = %s", res.body)
	}

	// A user-assigned identity that does not exist is not assigned.
	res = f.call(t, "PUT", appPath("demo", "web"), `{"identity":{"type":"UserAssigned","userAssignedIdentities":{"`+identityPath("demo", "nope")+`":{}}}}`)
	if res.status < 400 || res.status >= 500 {
		t.Errorf("PUT with a missing identity: %d %s, want a 4xx", res.status, res.body)
	}

	// Lists, PATCH of a missing app, DELETE twice.
	if l := f.call(t, "GET", groupPath("demo")+"/providers/Microsoft.Web/sites", "").list(t); len(l) != 1 || str(l[0], "name") != "web" {
		t.Errorf("list apps in group = %v", l)
	}
	if l := f.call(t, "GET", "/subscriptions/"+subID+"/providers/Microsoft.Web/sites", "").list(t); len(l) != 1 {
		t.Errorf("list apps in subscription = %v", l)
	}
	armError(t, f.call(t, "PATCH", appPath("demo", "nope"), `{}`), http.StatusNotFound, "ResourceNotFound")
	armError(t, f.call(t, "GET", appPath("demo", "nope"), ""), http.StatusNotFound, "ResourceNotFound")
	expect(t, f.call(t, "DELETE", appPath("demo", "web"), ""), http.StatusOK)
	expect(t, f.call(t, "DELETE", appPath("demo", "web"), ""), http.StatusNoContent)
}

// TestAppAfterIdentityDeleted: deleting a user-assigned identity takes it away from the apps
// that held it; the app stays readable.
func TestAppAfterIdentityDeleted(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "demo", "westeurope")
	id1 := f.mustIdentity(t, "demo", "id1")
	expect(t, f.call(t, "PUT", appPath("demo", "web"), `{"identity":{"type":"UserAssigned","userAssignedIdentities":{"`+str(id1, "id")+`":{}}}}`), http.StatusOK)
	expect(t, f.call(t, "DELETE", identityPath("demo", "id1"), ""), http.StatusOK)
	res := f.call(t, "GET", appPath("demo", "web"), "")
	expect(t, res, http.StatusOK)
	if ua := userAssigned(t, res.object(t)); len(ua) != 0 {
		t.Errorf("app still lists the deleted identity: %v", ua)
	}
}

func TestIdentityEnvironment(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "demo", "westeurope")
	expect(t, f.call(t, "PUT", appPath("demo", "web"), `{"identity":{"type":"SystemAssigned"}}`), http.StatusOK)

	env := func(action string) map[string]string {
		t.Helper()
		res := f.call(t, "POST", appPath("demo", "web")+"/"+action, "")
		expect(t, res, http.StatusOK)
		if cc := res.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control = %q, want no-store", action, cc)
		}
		var m map[string]string
		if err := json.Unmarshal(res.body, &m); err != nil {
			t.Fatalf("%s: body is not a string map: %v\n%s", action, err, res.body)
		}
		want := []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE"}
		if len(m) != len(want) {
			t.Errorf("%s: variables %v, want exactly %v", action, m, want)
		}
		for _, k := range want {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: %s is missing", action, k)
			}
		}
		h := m["IDENTITY_HEADER"]
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(h) {
			t.Errorf("%s: IDENTITY_HEADER = %q, want lower-case hex", action, h)
		}
		for k, want := range map[string]string{
			"IDENTITY_ENDPOINT":                 msiBase + "/msi/token",
			"AZURE_POD_IDENTITY_AUTHORITY_HOST": msiBase + "/imds/" + h,
			"NODE_EXTRA_CA_CERTS":               caFile,
			"SSL_CERT_FILE":                     bundleFile,
			"CURL_CA_BUNDLE":                    bundleFile,
			"REQUESTS_CA_BUNDLE":                bundleFile,
		} {
			if m[k] != want {
				t.Errorf("%s: %s = %q, want %q", action, k, m[k], want)
			}
		}
		return m
	}

	first := env("listIdentityEnvironment")
	if again := env("listIdentityEnvironment"); again["IDENTITY_HEADER"] != first["IDENTITY_HEADER"] {
		t.Error("listing the environment twice gave two headers")
	}
	// Action names match case-insensitively too.
	expect(t, f.call(t, "POST", appPath("demo", "web")+"/listidentityenvironment", ""), http.StatusOK)

	app, err := f.dir.AuthenticateApp(t.Context(), first["IDENTITY_HEADER"])
	if err != nil || app.Name != "web" {
		t.Fatalf("the listed header does not authenticate the app: %v %v", app.Name, err)
	}

	rotated := env("rotateIdentityHeader")
	if rotated["IDENTITY_HEADER"] == first["IDENTITY_HEADER"] {
		t.Fatal("rotateIdentityHeader returned the same header")
	}
	if _, err := f.dir.AuthenticateApp(t.Context(), first["IDENTITY_HEADER"]); err == nil {
		t.Error("the old header still authenticates after rotation")
	}
	if _, err := f.dir.AuthenticateApp(t.Context(), rotated["IDENTITY_HEADER"]); err != nil {
		t.Errorf("the rotated header does not authenticate: %v", err)
	}
	if now := env("listIdentityEnvironment"); now["IDENTITY_HEADER"] != rotated["IDENTITY_HEADER"] {
		t.Error("listIdentityEnvironment does not return the rotated header")
	}

	for _, action := range []string{"listIdentityEnvironment", "rotateIdentityHeader"} {
		armError(t, f.call(t, "POST", appPath("demo", "nope")+"/"+action, ""), http.StatusNotFound, "ResourceNotFound")
	}
}

func checkKey(t *testing.T, m map[string]any, active bool) string {
	t.Helper()
	kid := str(m, "name")
	if kid == "" || str(m, "id") != KeysPath+"/"+kid || str(m, "type") != "Lanyard.Authority/signingKeys" {
		t.Errorf("key id/name/type = %q/%q/%q", str(m, "id"), kid, str(m, "type"))
	}
	if get(m, "properties", "active") != active || get(m, "properties", "published") != true {
		t.Errorf("active/published = %v/%v, want %v/true", get(m, "properties", "active"), get(m, "properties", "published"), active)
	}
	created, err := time.Parse(time.RFC3339Nano, str(m, "properties", "createdAt"))
	if err != nil || time.Since(created) > time.Hour || time.Since(created) < -time.Minute {
		t.Errorf("createdAt = %q (%v)", str(m, "properties", "createdAt"), err)
	}
	notAfter, err := time.Parse(time.RFC3339Nano, str(m, "properties", "certificateNotAfter"))
	if err != nil || !notAfter.After(time.Now().Add(30*24*time.Hour)) {
		t.Errorf("certificateNotAfter = %q (%v)", str(m, "properties", "certificateNotAfter"), err)
	}
	_, hasRetired := get(m, "properties").(map[string]any)["retiredAt"]
	_, hasRemove := get(m, "properties").(map[string]any)["removeAfter"]
	if hasRetired == active || hasRemove == active {
		t.Errorf("active=%v but retiredAt present=%v, removeAfter present=%v", active, hasRetired, hasRemove)
	}
	return kid
}

func TestSigningKeys(t *testing.T) {
	f := newFixture(t)
	l := f.call(t, "GET", KeysPath, "").list(t)
	if len(l) != 1 {
		t.Fatalf("keys = %d, want 1", len(l))
	}
	old := checkKey(t, l[0], true)
	if old != f.kr.Signer().KeyID() {
		t.Errorf("listed kid %q, signer %q", old, f.kr.Signer().KeyID())
	}
	if l := f.call(t, "GET", "/providers/lanyard.authority/SIGNINGKEYS", "").list(t); len(l) != 1 {
		t.Errorf("case-insensitive keys path lists %d keys", len(l))
	}

	res := f.call(t, "POST", KeysPath+"/rotate", "")
	expect(t, res, http.StatusOK)
	rotated := checkKey(t, res.object(t), true)
	if rotated == old || rotated != f.kr.Signer().KeyID() {
		t.Errorf("rotated kid %q (old %q, signer %q)", rotated, old, f.kr.Signer().KeyID())
	}

	l = f.call(t, "GET", KeysPath, "").list(t)
	if len(l) != 2 {
		t.Fatalf("keys after rotation = %d, want 2", len(l))
	}
	if checkKey(t, l[0], true) != rotated || checkKey(t, l[1], false) != old {
		t.Errorf("keys are not newest first: %v", l)
	}
	retired, err1 := time.Parse(time.RFC3339Nano, str(l[1], "properties", "retiredAt"))
	removeAfter, err2 := time.Parse(time.RFC3339Nano, str(l[1], "properties", "removeAfter"))
	if err1 != nil || err2 != nil || removeAfter.Sub(retired) != lanyard.MaxTokenLifetime+keys.RetireGrace {
		t.Errorf("retiredAt %v, removeAfter %v: want removeAfter = retiredAt + %v", retired, removeAfter, lanyard.MaxTokenLifetime+keys.RetireGrace)
	}
}

func TestRequestBodies(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "demo", "westeurope")
	tests := []struct {
		name   string
		path   string
		body   string
		status int
		code   string
	}{
		{"truncated JSON", groupPath("g1"), `{"location":`, 400, "InvalidRequestContent"},
		{"not JSON", groupPath("g1"), `location=westeurope`, 400, "InvalidRequestContent"},
		{"tags of the wrong type", groupPath("g1"), `{"tags":"a=b"}`, 400, "InvalidRequestContent"},
		{"location of the wrong type", identityPath("demo", "id1"), `{"location":7}`, 400, "InvalidRequestContent"},
		{"identity of the wrong type", appPath("demo", "web"), `{"identity":"SystemAssigned"}`, 400, "InvalidRequestContent"},
		{"trailing garbage", groupPath("g1"), `{"location":"x"} {`, 400, "InvalidRequestContent"},
		{"JSON array", appPath("demo", "web"), `[]`, 400, "InvalidRequestContent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			armError(t, f.call(t, "PUT", tt.path, tt.body), tt.status, tt.code)
		})
	}
	// Nothing was created by the refused requests.
	armError(t, f.call(t, "GET", groupPath("g1"), ""), http.StatusNotFound, "ResourceGroupNotFound")
	armError(t, f.call(t, "GET", identityPath("demo", "id1"), ""), http.StatusNotFound, "ResourceNotFound")

	// Unknown fields are ignored, as ARM ignores them; an empty body is an empty resource.
	expect(t, f.call(t, "PUT", groupPath("g2"), `{"location":"westeurope","properties":{"x":1},"sku":null}`), http.StatusCreated)
	expect(t, f.call(t, "PUT", groupPath("g3"), ""), http.StatusCreated)
	expect(t, f.call(t, "PUT", groupPath("g4"), " \n\t"), http.StatusCreated)
}

// TestBodyLimit calls ServeHTTP directly: over a connection the server may close before the
// client has written the whole oversized body.
func TestBodyLimit(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "demo", "westeurope")
	serve := func(method, path string, body []byte) response {
		req := httptest.NewRequestWithContext(t.Context(), method, path+"?api-version="+apiVer, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		return response{rec.Code, rec.Header(), rec.Body.Bytes()}
	}
	pad := func(n int) []byte {
		prefix := `{"location":"westeurope","tags":{"pad":"`
		suffix := `"}}`
		return []byte(prefix + strings.Repeat("x", n-len(prefix)-len(suffix)) + suffix)
	}
	// Exactly 1 MiB is accepted (whatever the directory then says about the tag).
	res := serve("PUT", groupPath("demo"), pad(1<<20))
	if res.status == http.StatusRequestEntityTooLarge {
		t.Errorf("a body of exactly 1 MiB: 413")
	}
	for _, tc := range []struct{ method, path string }{
		{"PUT", groupPath("big")},
		{"PATCH", groupPath("demo")},
		{"PUT", identityPath("demo", "big")},
		{"PUT", appPath("demo", "big")},
		{"PATCH", appPath("demo", "big")},
	} {
		for _, n := range []int{1<<20 + 1, 4 << 20} {
			res := serve(tc.method, tc.path, pad(n))
			msg := armError(t, res, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge")
			if strings.Contains(msg, "xxxx") {
				t.Errorf("%s %s: the message echoes the body", tc.method, tc.path)
			}
		}
	}
	armError(t, serve("GET", groupPath("big"), nil), http.StatusNotFound, "ResourceGroupNotFound")
}

func TestInternalErrorIsHidden(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "demo", "westeurope")
	expect(t, f.call(t, "PUT", appPath("demo", "web"), `{}`), http.StatusOK)
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/subscriptions/" + subID + "/resourcegroups", ""},
		{"GET", groupPath("demo"), ""},
		{"PUT", groupPath("demo2"), `{"location":"westeurope"}`},
		{"DELETE", groupPath("demo"), ""},
		{"PUT", identityPath("demo", "id1"), `{}`},
		{"GET", "/subscriptions/" + subID + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities", ""},
		{"GET", appPath("demo", "web"), ""},
		{"PUT", appPath("demo", "web"), `{}`},
		{"POST", appPath("demo", "web") + "/listIdentityEnvironment", ""},
		{"POST", appPath("demo", "web") + "/rotateIdentityHeader", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			res := f.call(t, tc.method, tc.path, tc.body)
			msg := armError(t, res, http.StatusInternalServerError, "InternalServerError")
			if msg != genericMessage {
				t.Errorf("message = %q, want %q", msg, genericMessage)
			}
			for _, leak := range []string{"sql", "closed", "database", "sqlstore"} {
				if bytes.Contains(bytes.ToLower(res.body), []byte(leak)) {
					t.Errorf("the body leaks %q: %s", leak, res.body)
				}
			}
		})
	}
	// The detail goes to the log instead.
	if logs := f.logs.String(); !strings.Contains(logs, "database is closed") || !strings.Contains(logs, "management request failed") {
		t.Errorf("the cause was not logged:\n%s", logs)
	}
}

// TestConcurrentRequests sends the first requests in parallel, so the lazily built route
// table and the handlers run concurrently under -race.
func TestConcurrentRequests(t *testing.T) {
	f := newFixture(t)
	// Set up through the directory, so that no request has built the route table yet.
	if _, _, err := f.dir.PutGroup(t.Context(), "demo", "westeurope", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.dir.PutApp(t.Context(), "demo", "shared", directory.AppSpec{SystemAssigned: true}); err != nil {
		t.Fatal(err)
	}
	const workers = 8
	type result struct {
		what   string
		status int
		body   string
	}
	results := make(chan result, workers*6)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			<-start
			name := "id" + string(rune('a'+i)) + "x"
			app := "app" + string(rune('a'+i))
			calls := []struct {
				method, path, body string
				want               int
			}{
				{"PUT", identityPath("demo", name), `{}`, http.StatusCreated},
				{"GET", groupPath("demo"), "", http.StatusOK},
				{"GET", KeysPath, "", http.StatusOK},
				{"PUT", appPath("demo", app), `{"identity":{"type":"UserAssigned","userAssignedIdentities":{"` + name + `":{}}}}`, http.StatusOK},
				{"POST", appPath("demo", "shared") + "/listIdentityEnvironment", "", http.StatusOK},
				{"GET", "/subscriptions/" + subID + "/providers/Microsoft.Web/sites", "", http.StatusOK},
			}
			for _, c := range calls {
				req, _ := http.NewRequest(c.method, f.srv.URL+c.path+"?api-version="+apiVer, strings.NewReader(c.body))
				req.Header.Set("Authorization", "Bearer "+adminToken)
				res, err := f.srv.Client().Do(req)
				if err != nil {
					results <- result{c.method + " " + c.path, -1, err.Error()}
					continue
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != c.want {
					results <- result{c.method + " " + c.path, res.StatusCode, string(b)}
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(results)
	for r := range results {
		t.Errorf("%s: status %d: %s", r.what, r.status, r.body)
	}
	if l := f.call(t, "GET", "/subscriptions/"+subID+"/providers/Microsoft.Web/sites", "").list(t); len(l) != workers+1 {
		t.Errorf("apps after the parallel run = %d, want %d", len(l), workers+1)
	}
}

// TestPatchGroupKeepsLocation: ARM's PATCH of a resource group (ResourceGroupsClient.Update in
// the SDKs, body ResourceGroupPatchable) carries no location; it changes only the tags.
func TestPatchGroupKeepsLocation(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "demo", "westeurope")
	res := f.call(t, "PATCH", groupPath("demo"), `{"tags":{"env":"prod"}}`)
	expect(t, res, http.StatusOK)
	checkGroup(t, res.object(t), "demo", "westeurope", map[string]string{"env": "prod"})
	res = f.call(t, "GET", groupPath("demo"), "")
	expect(t, res, http.StatusOK)
	checkGroup(t, res.object(t), "demo", "westeurope", map[string]string{"env": "prod"})
}

// TestPatchDoesNotCreate: PATCH updates an existing resource; on a missing one ARM answers
// 404 and creates nothing (the apps route already behaves so).
func TestPatchDoesNotCreate(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "demo", "westeurope")
	tests := []struct {
		name, path, code string
	}{
		{"group", groupPath("ghost"), "ResourceGroupNotFound"},
		{"identity", identityPath("demo", "ghost"), "ResourceNotFound"},
		{"app", appPath("demo", "ghost"), "ResourceNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			armError(t, f.call(t, "PATCH", tt.path, `{"tags":{"a":"b"}}`), http.StatusNotFound, tt.code)
			if res := f.call(t, "GET", tt.path, ""); res.status != http.StatusNotFound {
				t.Errorf("PATCH created the %s: GET = %d %s", tt.name, res.status, res.body)
			}
		})
	}
}

// TestIdentityTypeMustAgreeWithUserAssignedIdentities: an identity block whose type does not
// include UserAssigned must not leave user-assigned identities on the app. ARM refuses such a
// block with 400; assigning the listed identities (the opposite of "None") is never right.
func TestIdentityTypeMustAgreeWithUserAssignedIdentities(t *testing.T) {
	f := newFixture(t)
	f.mustGroup(t, "demo", "westeurope")
	id1 := str(f.mustIdentity(t, "demo", "id1"), "id")
	for _, typ := range []string{"None", "SystemAssigned"} {
		for _, method := range []string{"PUT", "PATCH"} {
			t.Run(method+" "+typ, func(t *testing.T) {
				// Start from an app without identities (201 the first time, 200 after).
				if res := f.call(t, "PUT", appPath("demo", "web"), `{"identity":{"type":"None"}}`); res.status != http.StatusCreated && res.status != http.StatusOK {
					t.Fatalf("reset app: %d %s", res.status, res.body)
				}
				res := f.call(t, method, appPath("demo", "web"), `{"identity":{"type":"`+typ+`","userAssignedIdentities":{"`+id1+`":{}}}}`)
				if res.status == http.StatusBadRequest {
					return
				}
				expect(t, res, http.StatusOK)
				if ua := userAssigned(t, res.object(t)); len(ua) != 0 {
					t.Errorf("identity type %q left user-assigned identities on the app: %v", typ, ua)
				}
			})
		}
	}
}

// freePorts hands out loopback addresses with successive ports, as a node's pick would.
func freePorts() func() (string, error) {
	var n atomic.Int32
	return func() (string, error) { return fmt.Sprintf("127.0.0.1:%d", 17200+n.Add(1)), nil }
}
