package federation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// testIssuer is an OpenID Connect issuer written for the tests: its own keys, a discovery
// document and a JWKS, served over loopback HTTPS by httptest. Several issuers may share
// one server under different paths, as Kubernetes clusters share oidc.prod-aks.azure.com.
type testIssuer struct {
	t   *testing.T
	srv *httptest.Server
	url string // the issuer, as tokens carry it

	mu        sync.Mutex
	keys      map[string]testKey // kid → key, published in the JWKS when public is true
	discovery func(w http.ResponseWriter, r *http.Request) bool
	jwks      func(w http.ResponseWriter, r *http.Request) bool
	docIssuer string // when set, the discovery document names this issuer instead

	discoveryHits atomic.Int32
	jwksHits      atomic.Int32
}

type testKey struct {
	alg    jose.SignatureAlgorithm
	signer crypto.Signer
	public bool
}

var (
	rsaOnce sync.Once
	rsaKeys [3]*rsa.PrivateKey // generated once: RSA generation is slow under -race
)

func testRSAKey(i int) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		for j := range rsaKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys[j] = k
		}
	})
	return rsaKeys[i]
}

// newTestIssuer starts an issuer at https://127.0.0.1:port{path}, publishing an RSA key
// "rsa-1" (RS256) and an EC key "ec-1" (ES256).
func newTestIssuer(t *testing.T, path string) *testIssuer {
	t.Helper()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss := &testIssuer{t: t, keys: map[string]testKey{
		"rsa-1": {alg: jose.RS256, signer: testRSAKey(0), public: true},
		"ec-1":  {alg: jose.ES256, signer: ec, public: true},
	}}
	mux := http.NewServeMux()
	base := strings.TrimSuffix(path, "/")
	mux.HandleFunc(base+"/.well-known/openid-configuration", iss.serveDiscovery)
	mux.HandleFunc(base+"/keys", iss.serveJWKS)
	iss.srv = httptest.NewTLSServer(mux)
	t.Cleanup(iss.srv.Close)
	iss.url = iss.srv.URL + path
	return iss
}

func (i *testIssuer) client() *http.Client { return i.srv.Client() }

func (i *testIssuer) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	i.discoveryHits.Add(1)
	i.mu.Lock()
	hook, docIssuer := i.discovery, i.docIssuer
	i.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	if docIssuer == "" {
		docIssuer = i.url
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                docIssuer,
		"jwks_uri":                              strings.TrimSuffix(i.url, "/") + "/keys",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
	})
}

func (i *testIssuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	i.jwksHits.Add(1)
	i.mu.Lock()
	hook := i.jwks
	var set jose.JSONWebKeySet
	for kid, k := range i.keys {
		if k.public {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.signer.Public(), KeyID: kid, Algorithm: string(k.alg), Use: "sig"})
		}
	}
	i.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

// addKey adds a key; public says whether the JWKS publishes it.
func (i *testIssuer) addKey(kid string, alg jose.SignatureAlgorithm, signer crypto.Signer, public bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys[kid] = testKey{alg: alg, signer: signer, public: public}
}

func (i *testIssuer) publish(kid string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	k := i.keys[kid]
	k.public = true
	i.keys[kid] = k
}

func (i *testIssuer) fetches() int { return int(i.discoveryHits.Load()) }

// sign signs claims with key kid; kid "" signs with rsa-1 and no kid header.
func (i *testIssuer) sign(kid string, claims map[string]any) string {
	i.t.Helper()
	i.mu.Lock()
	name := kid
	if name == "" {
		name = "rsa-1"
	}
	k, ok := i.keys[name]
	i.mu.Unlock()
	if !ok {
		i.t.Fatalf("no key %q", name)
	}
	return signWith(i.t, k.alg, k.signer, kid, claims)
}

func signWith(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// unsigned builds a token with header h and claims, and signature sig (base64url).
func unsigned(t testing.TB, h map[string]any, claims map[string]any, sig string) string {
	t.Helper()
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb) + "." + sig
}

// githubClaims are the claims of a GitHub Actions OIDC token for a push to main.
func githubClaims(issuer string, now time.Time) map[string]any {
	return map[string]any{
		"jti":                   "8f7c7d5e-3f0c-4f5b-9a7e-2b1c7a4e6d10",
		"sub":                   "repo:org/repo:ref:refs/heads/main",
		"aud":                   "api://AzureADTokenExchange",
		"ref":                   "refs/heads/main",
		"sha":                   "1d2f0c6b9a3e4f5a6b7c8d9e0f1a2b3c4d5e6f70",
		"repository":            "org/repo",
		"repository_owner":      "org",
		"repository_owner_id":   "1234567",
		"run_id":                "9876543210",
		"run_number":            "42",
		"run_attempt":           "1",
		"repository_visibility": "private",
		"repository_id":         "7654321",
		"actor_id":              "111",
		"actor":                 "octocat",
		"workflow":              "deploy",
		"head_ref":              "",
		"base_ref":              "",
		"event_name":            "push",
		"ref_protected":         "true",
		"ref_type":              "branch",
		"workflow_ref":          "org/repo/.github/workflows/deploy.yml@refs/heads/main",
		"job_workflow_ref":      "org/repo/.github/workflows/deploy.yml@refs/heads/main",
		"runner_environment":    "github-hosted",
		"iss":                   issuer,
		"nbf":                   now.Add(-5 * time.Second).Unix(),
		"exp":                   now.Add(5 * time.Minute).Unix(),
		"iat":                   now.Unix(),
	}
}

// kubernetesClaims are the claims of a projected service-account token for Azure.
func kubernetesClaims(issuer string, now time.Time) map[string]any {
	return map[string]any{
		"aud": []string{"api://AzureADTokenExchange"},
		"exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(),
		"iss": issuer,
		"kubernetes.io": map[string]any{
			"namespace": "ns",
			"pod":       map[string]any{"name": "web-7d9f8b6c5-x2x4z", "uid": "0f6c2a8e-2b7d-4f36-a1c8-1b9f0e3d5c21"},
			"serviceaccount": map[string]any{
				"name": "sa", "uid": "5a1e7c3d-8b2f-4e6a-9c0d-3f4b2a1e6d70",
			},
		},
		"nbf": now.Unix(),
		"sub": "system:serviceaccount:ns:sa",
	}
}
