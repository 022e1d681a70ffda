package authority

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// The discovery documents advertise only what the router serves: each endpoint answers,
// every advertised grant, client authentication method and response type works, and what
// does not work is not advertised (the code flow, client secrets).
func TestDiscoveryAdvertisesOnlyWhatIsServed(t *testing.T) {
	w := newTokenWorld(t)
	assertion := w.assertion(t, w.source, lanyard.DefaultFederatedAudience, time.Now())
	for _, doc := range []struct {
		path string
		v1   bool
	}{
		{"/" + testTenant + "/v2.0/.well-known/openid-configuration", false},
		{"/" + testTenant + "/.well-known/openid-configuration", true},
	} {
		t.Run(doc.path, func(t *testing.T) {
			res := w.get(t, doc.path)
			if res.status != http.StatusOK {
				t.Fatalf("%d %s", res.status, res.body)
			}
			var d struct {
				AuthorizationEndpoint string   `json:"authorization_endpoint"`
				TokenEndpoint         string   `json:"token_endpoint"`
				JWKSURI               string   `json:"jwks_uri"`
				AuthMethods           []string `json:"token_endpoint_auth_methods_supported"`
				ResponseTypes         []string `json:"response_types_supported"`
				ResponseModes         []string `json:"response_modes_supported"`
				GrantTypes            []string `json:"grant_types_supported"`
			}
			if err := json.Unmarshal(res.body, &d); err != nil {
				t.Fatal(err)
			}
			// Every field names something served: no 404, no 405.
			if r := w.get(t, d.JWKSURI); r.status != http.StatusOK {
				t.Errorf("jwks_uri %s: %d", d.JWKSURI, r.status)
			}
			// The authorization endpoint (MSAL requires one; the Blob and management
			// challenges point to it) answers, in OAuth's terms, every response type it
			// is asked for with unsupported_response_type: so none is advertised.
			for _, rt := range []string{"code", "id_token", "token", "code id_token"} {
				for _, method := range []string{"GET", "POST"} {
					q := url.Values{"response_type": {rt}, "client_id": {w.target.ClientID}, "redirect_uri": {"https://app.example/cb"}}
					r := w.do(t, method, d.AuthorizationEndpoint+"?"+q.Encode())
					if r.status != http.StatusBadRequest || oauthCode(t, r.body) != "unsupported_response_type" || r.header.Get("Location") != "" {
						t.Errorf("%s authorization_endpoint response_type=%s: %d %s", method, rt, r.status, r.body)
					}
					if slices.Contains(d.ResponseTypes, rt) {
						t.Errorf("response_types_supported advertises %q", rt)
					}
				}
			}
			if len(d.ResponseModes) > 0 {
				t.Errorf("response_modes_supported = %v for an authorization endpoint that serves none", d.ResponseModes)
			}
			// Each advertised grant and client authentication method gets a token.
			form := func(auth string) url.Values {
				f := goForm(w.target.ClientID, assertion, "https://storage.azure.com/.default")
				if doc.v1 {
					f.Del("scope")
					f.Set("resource", "https://storage.azure.com")
				}
				if auth != "private_key_jwt" {
					f.Del("client_assertion")
					f.Del("client_assertion_type")
					f.Set("client_secret", "s3cret")
				}
				return f
			}
			path := strings.TrimPrefix(d.TokenEndpoint, w.srv.URL)
			for _, grant := range d.GrantTypes {
				if grant != "client_credentials" {
					t.Errorf("grant_types_supported advertises %q, which the token endpoint refuses", grant)
				}
			}
			for _, auth := range d.AuthMethods {
				if r := w.post(t, path, form(auth), ""); r.status != http.StatusOK {
					t.Errorf("token_endpoint_auth_methods_supported advertises %s, refused: %d %s", auth, r.status, r.body)
				}
			}
			if !slices.Contains(d.AuthMethods, "private_key_jwt") || !slices.Contains(d.GrantTypes, "client_credentials") {
				t.Errorf("the served grant is not advertised: %v %v", d.GrantTypes, d.AuthMethods)
			}
			// A client secret is refused, so no secret method is advertised.
			if r := w.post(t, path, form("client_secret_post"), ""); r.status == http.StatusOK || oauthCode(t, r.body) != "invalid_client" {
				t.Errorf("a client secret: %d %s", r.status, r.body)
			}
			for _, m := range d.AuthMethods {
				if strings.HasPrefix(m, "client_secret") {
					t.Errorf("token_endpoint_auth_methods_supported advertises %s", m)
				}
			}
		})
	}
}

func oauthCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Error
}

func (w *tokenWorld) get(t *testing.T, target string) response {
	t.Helper()
	return w.do(t, "GET", target)
}

func (w *tokenWorld) do(t *testing.T, method, target string) response {
	t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = w.srv.URL + target
	}
	return fetch(t, w.srv, method, target)
}
