package authority

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/seal"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

const testTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"

// newKeyring returns a real Keyring over a SQLite store in t.TempDir().
func newKeyring(t *testing.T) *keys.Keyring {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "lanyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keys.New(t.Context(), st, sealer, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// server starts the authority on a real listener. BaseURL is set from the listener before
// the server starts, so the handler never sees it change.
func server(t *testing.T, kr *keys.Keyring, tls bool, now func() time.Time) (*Handler, *httptest.Server) {
	t.Helper()
	h := &Handler{TenantID: testTenant, Keys: kr, Now: now}
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewUnstartedServer(mux)
	scheme := "http"
	if tls {
		scheme = "https"
	}
	h.BaseURL = scheme + "://" + srv.Listener.Addr().String()
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return h, srv
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func fetch(t *testing.T, srv *httptest.Server, method, target string) response {
	t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = srv.URL + target
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, body}
}

func decodeObject(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, body)
	}
	return m
}

func TestDiscoveryDocuments(t *testing.T) {
	kr := newKeyring(t)
	for _, tls := range []bool{false, true} {
		h, srv := server(t, kr, tls, nil)
		base := h.BaseURL
		tests := []struct {
			name     string
			path     string
			issuer   string
			authz    string
			token    string
			jwks     string
			wantKeys []string // further fields that must be present
		}{
			{
				name:   "v2.0",
				path:   "/" + testTenant + "/v2.0/.well-known/openid-configuration",
				issuer: base + "/" + testTenant + "/v2.0",
				authz:  base + "/" + testTenant + "/oauth2/v2.0/authorize",
				token:  base + "/" + testTenant + "/oauth2/v2.0/token",
				jwks:   base + "/" + testTenant + "/discovery/v2.0/keys",
			},
			{
				name:   "v2.0 with the empty query MSAL-Go adds",
				path:   "/" + testTenant + "/v2.0/.well-known/openid-configuration?",
				issuer: base + "/" + testTenant + "/v2.0",
				authz:  base + "/" + testTenant + "/oauth2/v2.0/authorize",
				token:  base + "/" + testTenant + "/oauth2/v2.0/token",
				jwks:   base + "/" + testTenant + "/discovery/v2.0/keys",
			},
			{
				name:   "v1",
				path:   "/" + testTenant + "/.well-known/openid-configuration",
				issuer: base + "/" + testTenant + "/",
				authz:  base + "/" + testTenant + "/oauth2/authorize",
				token:  base + "/" + testTenant + "/oauth2/token",
				jwks:   base + "/" + testTenant + "/discovery/keys",
			},
		}
		for _, tt := range tests {
			name := tt.name + "/http"
			if tls {
				name = tt.name + "/https"
			}
			t.Run(name, func(t *testing.T) {
				res := fetch(t, srv, "GET", tt.path)
				if res.status != http.StatusOK {
					t.Fatalf("status = %d, want 200; body %s", res.status, res.body)
				}
				if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type = %q, want application/json", ct)
				}
				doc := decodeObject(t, res.body)
				for field, want := range map[string]string{
					"issuer": tt.issuer, "authorization_endpoint": tt.authz, "token_endpoint": tt.token, "jwks_uri": tt.jwks,
				} {
					got, _ := doc[field].(string)
					if got != want {
						t.Errorf("%s = %q, want %q", field, got, want)
					}
				}
				// MSAL-Go (ValidateIssuerMatchesAuthority) and msal-node need the issuer and
				// every endpoint under the authority's scheme and host:port.
				authority, _ := url.Parse(srv.URL)
				for _, field := range []string{"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"} {
					s, _ := doc[field].(string)
					u, err := url.Parse(s)
					if err != nil || s == "" {
						t.Errorf("%s = %q is not a URL", field, s)
						continue
					}
					if u.Scheme != authority.Scheme || u.Host != authority.Host {
						t.Errorf("%s = %q is not under %s://%s", field, s, authority.Scheme, authority.Host)
					}
				}
				algs, _ := doc["id_token_signing_alg_values_supported"].([]any)
				if !slices.Contains(algs, any("RS256")) {
					t.Errorf("id_token_signing_alg_values_supported = %v, want RS256 in it", doc["id_token_signing_alg_values_supported"])
				}
				for _, field := range []string{"subject_types_supported", "grant_types_supported", "token_endpoint_auth_methods_supported"} {
					if l, _ := doc[field].([]any); len(l) == 0 {
						t.Errorf("%s is missing or empty", field)
					}
				}
				// The document's jwks_uri must really serve the keys.
				keysRes := fetch(t, srv, "GET", tt.jwks)
				if keysRes.status != http.StatusOK {
					t.Fatalf("GET jwks_uri %s: status %d", tt.jwks, keysRes.status)
				}
				var set jose.JSONWebKeySet
				if err := json.Unmarshal(keysRes.body, &set); err != nil || len(set.Keys) == 0 {
					t.Fatalf("jwks_uri serves no key set: %v\n%s", err, keysRes.body)
				}
			})
		}
	}
}

func TestIssuerHelpers(t *testing.T) {
	if got, want := IssuerV1("https://h:1", "t"), "https://h:1/t/"; got != want {
		t.Errorf("IssuerV1 = %q, want %q", got, want)
	}
	if got, want := IssuerV2("https://h:1", "t"), "https://h:1/t/v2.0"; got != want {
		t.Errorf("IssuerV2 = %q, want %q", got, want)
	}
}

func TestTenantMatching(t *testing.T) {
	kr := newKeyring(t)
	h, srv := server(t, kr, false, nil)
	paths := []struct {
		name   string
		format string
		issuer string // "" for the key sets
	}{
		{"v2.0 discovery", "/%s/v2.0/.well-known/openid-configuration", IssuerV2(h.BaseURL, testTenant)},
		{"v1 discovery", "/%s/.well-known/openid-configuration", IssuerV1(h.BaseURL, testTenant)},
		{"v2.0 keys", "/%s/discovery/v2.0/keys", ""},
		{"v1 keys", "/%s/discovery/keys", ""},
	}
	tenants := []struct {
		name   string
		tenant string
		ok     bool
	}{
		{"exact", testTenant, true},
		{"upper-cased", strings.ToUpper(testTenant), true},
		{"mixed case", "72F988BF-86f1-41AF-91ab-2d7cd011db47", true},
		{"organizations", "organizations", true},
		{"common upper-cased", "COMMON", true},
		{"other tenant", "00000000-0000-0000-0000-000000000001", false},
		{"tenant as prefix", testTenant + "x", false},
		{"consumers", "consumers", false},
		{"a domain name", "contoso.onmicrosoft.com", false},
	}
	for _, p := range paths {
		for _, tn := range tenants {
			t.Run(p.name+"/"+tn.name, func(t *testing.T) {
				res := fetch(t, srv, "GET", strings.Replace(p.format, "%s", tn.tenant, 1))
				if !tn.ok {
					checkInvalidTenant(t, res, tn.tenant)
					return
				}
				if res.status != http.StatusOK {
					t.Fatalf("status = %d, want 200; body %s", res.status, res.body)
				}
				if p.issuer == "" {
					return
				}
				// The issuer names the configured tenant, whatever case the request used.
				if got, _ := decodeObject(t, res.body)["issuer"].(string); got != p.issuer {
					t.Errorf("issuer = %q, want %q", got, p.issuer)
				}
			})
		}
	}
}

var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// checkInvalidTenant checks Entra's answer to an unknown tenant: 400 and the OAuth error JSON.
func checkInvalidTenant(t *testing.T, res response, tenant string) {
	t.Helper()
	if res.status != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400; body %s", res.status, res.body)
	}
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var e struct {
		Error         *string `json:"error"`
		Description   *string `json:"error_description"`
		ErrorCodes    []int   `json:"error_codes"`
		Timestamp     *string `json:"timestamp"`
		TraceID       *string `json:"trace_id"`
		CorrelationID *string `json:"correlation_id"`
	}
	if err := json.Unmarshal(res.body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v\n%s", err, res.body)
	}
	if e.Error == nil || *e.Error != "invalid_tenant" {
		t.Errorf("error = %v, want invalid_tenant", e.Error)
	}
	if e.Description == nil || !strings.HasPrefix(*e.Description, "AADSTS90002:") {
		t.Errorf("error_description = %v, want it to start with AADSTS90002:", e.Description)
	} else {
		if len(tenant) <= 64 && !strings.Contains(*e.Description, tenant) {
			t.Errorf("error_description %q does not name the tenant %q", *e.Description, tenant)
		}
		if len(*e.Description) > 400 {
			t.Errorf("error_description is %d bytes: the tenant is not clipped", len(*e.Description))
		}
	}
	if !slices.Equal(e.ErrorCodes, []int{90002}) {
		t.Errorf("error_codes = %v, want [90002]", e.ErrorCodes)
	}
	if e.TraceID == nil || !guid.MatchString(*e.TraceID) {
		t.Errorf("trace_id = %v, want a GUID", e.TraceID)
	} else if e.Description != nil && !strings.Contains(*e.Description, "Trace ID: "+*e.TraceID) {
		t.Errorf("error_description %q does not carry trace_id %s", *e.Description, *e.TraceID)
	}
	if e.CorrelationID == nil || !guid.MatchString(*e.CorrelationID) {
		t.Errorf("correlation_id = %v, want a GUID", e.CorrelationID)
	}
	if e.Timestamp == nil {
		t.Error("timestamp is missing")
	} else if ts, err := time.Parse("2006-01-02 15:04:05Z", *e.Timestamp); err != nil {
		t.Errorf("timestamp %q is not in Entra's format: %v", *e.Timestamp, err)
	} else if d := time.Since(ts); d < -time.Minute || d > time.Minute {
		t.Errorf("timestamp %q is %v away from now", *e.Timestamp, d)
	}
}

func TestInvalidTenantIsClipped(t *testing.T) {
	kr := newKeyring(t)
	_, srv := server(t, kr, false, nil)
	long := strings.Repeat("x", 5000)
	res := fetch(t, srv, "GET", "/"+long+"/v2.0/.well-known/openid-configuration")
	checkInvalidTenant(t, res, long)
	if bytes.Contains(res.body, []byte(long[:100])) {
		t.Error("the error echoes the whole tenant")
	}
}

func TestTraceIDsDiffer(t *testing.T) {
	kr := newKeyring(t)
	_, srv := server(t, kr, false, nil)
	seen := map[string]bool{}
	for range 3 {
		res := fetch(t, srv, "GET", "/nope/v2.0/.well-known/openid-configuration")
		m := decodeObject(t, res.body)
		for _, f := range []string{"trace_id", "correlation_id"} {
			id, _ := m[f].(string)
			if _, err := uuid.Parse(id); err != nil || seen[id] {
				t.Errorf("%s %q is not a fresh GUID", f, id)
			}
			seen[id] = true
		}
	}
}

func TestWrongMethodIsNotDiscovery(t *testing.T) {
	kr := newKeyring(t)
	_, srv := server(t, kr, false, nil)
	paths := []string{
		"/" + testTenant + "/v2.0/.well-known/openid-configuration",
		"/" + testTenant + "/.well-known/openid-configuration",
		"/" + testTenant + "/discovery/v2.0/keys",
		"/" + testTenant + "/discovery/keys",
	}
	for _, p := range paths {
		for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
			t.Run(m+" "+p, func(t *testing.T) {
				res := fetch(t, srv, m, p)
				if res.status != http.StatusMethodNotAllowed {
					t.Errorf("status = %d, want 405", res.status)
				}
				if allow := res.header.Get("Allow"); !strings.Contains(allow, "GET") {
					t.Errorf("Allow = %q, want GET in it", allow)
				}
				if bytes.Contains(res.body, []byte("issuer")) || bytes.Contains(res.body, []byte(`"keys"`)) {
					t.Errorf("a %s got the document: %s", m, res.body)
				}
			})
		}
	}
	// Paths the authority does not serve are not discovery either.
	for _, p := range []string{
		"/.well-known/openid-configuration",
		"/" + testTenant + "/v2.0/.well-known/openid-configuration/extra",
		"/" + testTenant + "/v1.0/.well-known/openid-configuration",
	} {
		if res := fetch(t, srv, "GET", p); res.status != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, res.status)
		}
	}
}

// jwk is the raw JSON of one key, so that field names are checked as Entra spells them.
type jwk struct {
	Kty string   `json:"kty"`
	Use string   `json:"use"`
	Kid string   `json:"kid"`
	X5t string   `json:"x5t"`
	N   string   `json:"n"`
	E   string   `json:"e"`
	X5c []string `json:"x5c"`
	D   string   `json:"d"`
	P   string   `json:"p"`
	Q   string   `json:"q"`
}

func getJWKS(t *testing.T, srv *httptest.Server, path string) []jwk {
	t.Helper()
	res := fetch(t, srv, "GET", path)
	if res.status != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %s", path, res.status, res.body)
	}
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if cc := res.header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") {
		t.Errorf("Cache-Control = %q, want a max-age", cc)
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(res.body, &set); err != nil {
		t.Fatalf("JWKS is not JSON: %v\n%s", err, res.body)
	}
	return set.Keys
}

func checkJWK(t *testing.T, k jwk) {
	t.Helper()
	if k.Kty != "RSA" || k.Use != "sig" {
		t.Errorf("kty/use = %q/%q, want RSA/sig", k.Kty, k.Use)
	}
	if k.Kid == "" || k.Kid != k.X5t {
		t.Errorf("kid %q != x5t %q", k.Kid, k.X5t)
	}
	if k.D != "" || k.P != "" || k.Q != "" {
		t.Fatal("the JWKS publishes private key material")
	}
	if len(k.X5c) == 0 {
		t.Fatal("x5c is missing")
	}
	der, err := base64.StdEncoding.DecodeString(k.X5c[0]) // x5c is standard base64, not base64url
	if err != nil {
		t.Fatalf("x5c[0] is not standard base64: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("x5c[0] is not a certificate: %v", err)
	}
	sum := sha1.Sum(der)
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); k.X5t != want {
		t.Errorf("x5t = %q, want the certificate's SHA-1 thumbprint %q", k.X5t, want)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		t.Fatalf("certificate key is %T, want RSA", cert.PublicKey)
	}
	n, err := base64.RawURLEncoding.DecodeString(k.N)
	if err != nil {
		t.Fatalf("n is not base64url: %v", err)
	}
	e, err := base64.RawURLEncoding.DecodeString(k.E)
	if err != nil {
		t.Fatalf("e is not base64url: %v", err)
	}
	if new(big.Int).SetBytes(n).Cmp(pub.N) != 0 {
		t.Error("n differs from the certificate's modulus")
	}
	if new(big.Int).SetBytes(e).Int64() != int64(pub.E) {
		t.Errorf("e = %x, want the certificate's exponent %d", e, pub.E)
	}
	if pub.N.BitLen() < 2048 {
		t.Errorf("modulus is %d bits, want at least 2048", pub.N.BitLen())
	}
	if now := time.Now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		t.Errorf("certificate is not valid now: %v..%v", cert.NotBefore, cert.NotAfter)
	}
}

func TestJWKS(t *testing.T) {
	kr := newKeyring(t)
	_, srv := server(t, kr, false, nil)
	for _, path := range []string{"/" + testTenant + "/discovery/v2.0/keys", "/" + testTenant + "/discovery/keys"} {
		t.Run(path, func(t *testing.T) {
			ks := getJWKS(t, srv, path)
			if len(ks) != 1 {
				t.Fatalf("JWKS has %d keys, want 1", len(ks))
			}
			checkJWK(t, ks[0])
			if ks[0].Kid != kr.Signer().KeyID() {
				t.Errorf("published kid %q, signer uses %q", ks[0].Kid, kr.Signer().KeyID())
			}
		})
	}
}

func TestJWKSAfterRotation(t *testing.T) {
	kr := newKeyring(t)
	now := time.Now()
	clock := func() time.Time { return now } // read only; set before the server starts
	_, srv := server(t, kr, false, clock)
	path := "/" + testTenant + "/discovery/v2.0/keys"
	old := kr.Signer().KeyID()
	oldToken, err := kr.Signer().Sign([]byte(`{"sub":"before rotation"}`))
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := kr.Rotate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rotated.ID == old || kr.Signer().KeyID() != rotated.ID {
		t.Fatalf("rotation did not change the active key: %s -> %s (signer %s)", old, rotated.ID, kr.Signer().KeyID())
	}
	ks := getJWKS(t, srv, path)
	var kids []string
	for _, k := range ks {
		checkJWK(t, k)
		kids = append(kids, k.Kid)
	}
	if !slices.Equal(kids, []string{rotated.ID, old}) {
		t.Errorf("kids = %v, want the new key then the old one [%s %s]", kids, rotated.ID, old)
	}
	newToken, err := kr.Signer().Sign([]byte(`{"sub":"after rotation"}`))
	if err != nil {
		t.Fatal(err)
	}
	set := parseJWKS(t, fetch(t, srv, "GET", path).body)
	for _, tok := range []string{oldToken, newToken} {
		verifyWithJWKS(t, set, tok)
	}

}

func TestJWKSDropsExpiredRetiredKey(t *testing.T) {
	kr := newKeyring(t)
	old := kr.Signer().KeyID()
	if _, err := kr.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	active := kr.Signer().KeyID()
	tests := []struct {
		name string
		at   time.Duration
		want []string
	}{
		{"just after rotation", time.Minute, []string{active, old}},
		{"before the grace ends", lanyard.MaxTokenLifetime + keys.RetireGrace - time.Minute, []string{active, old}},
		{"after every old token expired", lanyard.MaxTokenLifetime + keys.RetireGrace + time.Minute, []string{active}},
	}
	start := time.Now()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := start.Add(tt.at)
			_, srv := server(t, kr, false, func() time.Time { return at })
			var kids []string
			for _, k := range getJWKS(t, srv, "/"+testTenant+"/discovery/keys") {
				kids = append(kids, k.Kid)
			}
			if !slices.Equal(kids, tt.want) {
				t.Errorf("kids = %v, want %v", kids, tt.want)
			}
		})
	}
}

func parseJWKS(t *testing.T, body []byte) jose.JSONWebKeySet {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("go-jose cannot parse the JWKS: %v\n%s", err, body)
	}
	for _, k := range set.Keys {
		if !k.Valid() || !k.IsPublic() {
			t.Errorf("key %s: valid=%v public=%v", k.KeyID, k.Valid(), k.IsPublic())
		}
		if len(k.Certificates) == 0 {
			t.Errorf("key %s: go-jose sees no x5c", k.KeyID)
		}
	}
	return set
}

// verifyWithJWKS verifies tok as a standard OIDC verifier does: kid from the header, key
// from the published set.
func verifyWithJWKS(t *testing.T, set jose.JSONWebKeySet, tok string) []byte {
	t.Helper()
	obj, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("go-jose cannot parse the token: %v", err)
	}
	hdr := obj.Signatures[0].Header
	if hdr.Algorithm != "RS256" {
		t.Errorf("alg = %q, want RS256", hdr.Algorithm)
	}
	if x5t, _ := hdr.ExtraHeaders["x5t"].(string); x5t != hdr.KeyID {
		t.Errorf("header x5t %q != kid %q", x5t, hdr.KeyID)
	}
	if typ, _ := hdr.ExtraHeaders[jose.HeaderType].(string); typ != "JWT" {
		t.Errorf("typ = %q, want JWT", typ)
	}
	found := set.Key(hdr.KeyID)
	if len(found) != 1 {
		t.Fatalf("JWKS has %d keys with kid %q, want 1", len(found), hdr.KeyID)
	}
	payload, err := obj.Verify(found[0])
	if err != nil {
		t.Fatalf("token does not verify with the published key %s: %v", hdr.KeyID, err)
	}
	// go-jose can also pick the key from the whole set.
	if _, err := obj.Verify(set); err != nil {
		t.Errorf("token does not verify against the key set: %v", err)
	}
	return payload
}

func TestJWKSVerifiesSignedToken(t *testing.T) {
	kr := newKeyring(t)
	_, srv := server(t, kr, false, nil)
	set := parseJWKS(t, fetch(t, srv, "GET", "/"+testTenant+"/discovery/v2.0/keys").body)
	payload := []byte(`{"aud":"https://storage.azure.com","iss":"x","sub":"00000000-0000-0000-0000-000000000001"}`)
	tok, err := kr.Signer().Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	if got := verifyWithJWKS(t, set, tok); !bytes.Equal(got, payload) {
		t.Errorf("payload = %s, want %s", got, payload)
	}

	// A changed payload or a key from another keyring must not verify.
	parts := strings.Split(tok, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"attacker"}`))
	tampered, err := jose.ParseSignedCompact(strings.Join(parts, "."), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tampered.Verify(set); err == nil {
		t.Error("a tampered token verified")
	}
	other := newKeyring(t)
	foreign, err := other.Signer().Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	fobj, err := jose.ParseSignedCompact(foreign, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Key(fobj.Signatures[0].Header.KeyID)) != 0 {
		t.Error("another keyring's kid is in this JWKS")
	}
	if _, err := fobj.Verify(set); err == nil {
		t.Error("a token from another keyring verified")
	}
}
