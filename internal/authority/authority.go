// Package authority serves Lanyard's Entra-style authority: OpenID discovery documents (v1
// and v2.0) and the signing keys (JWKS) under /{tenant}/..., so that MSAL clients and any
// standard OIDC verifier can find and check Lanyard's tokens.
package authority

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/handler"
	"github.com/lanyard-id/lanyard/internal/lanyard"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
)

// KeySet publishes the signing keys.
type KeySet interface {
	// JWKS returns every key whose tokens may still be valid at now.
	JWKS(now time.Time) jose.JSONWebKeySet
}

// Handler serves the authority's discovery routes.
type Handler struct {
	// BaseURL is the authority host, e.g. https://127.0.0.1:10443, with no trailing slash.
	BaseURL  string
	TenantID string
	Keys     KeySet
	Now      func() time.Time
	// Token, when set, serves the token endpoints (federated client credentials).
	Token *TokenEndpoint
}

// IssuerV1 returns the issuer of v1 tokens (those Lanyard issues): {base}/{tenant}/.
func IssuerV1(baseURL, tenantID string) string { return baseURL + "/" + tenantID + "/" }

// IssuerV2 returns the issuer named by the v2.0 discovery document.
func IssuerV2(baseURL, tenantID string) string { return baseURL + "/" + tenantID + "/v2.0" }

// Mount registers the routes on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.Handle("GET /{tenant}/v2.0/.well-known/openid-configuration", h.tenant(h.discoveryV2))
	mux.Handle("GET /{tenant}/.well-known/openid-configuration", h.tenant(h.discoveryV1))
	mux.Handle("GET /{tenant}/discovery/v2.0/keys", h.tenant(h.keys))
	mux.Handle("GET /{tenant}/discovery/keys", h.tenant(h.keys))
	for _, path := range []string{"/{tenant}/oauth2/v2.0/authorize", "/{tenant}/oauth2/authorize"} {
		mux.Handle("GET "+path, h.tenant(authorize))
		mux.Handle("POST "+path, h.tenant(authorize))
	}
	if h.Token != nil {
		mux.Handle("POST /{tenant}/oauth2/v2.0/token", h.tenant(h.Token.serveV2))
		mux.Handle("POST /{tenant}/oauth2/token", h.tenant(h.Token.serveV1))
	}
}

// tenant admits requests for this server's tenant, matched case-insensitively because
// MSAL lowercases the authority.
func (h *Handler) tenant(next handler.Func) http.Handler {
	return handler.Serve(func(w http.ResponseWriter, r *http.Request) error {
		t := r.PathValue("tenant")
		if !strings.EqualFold(t, h.TenantID) && !strings.EqualFold(t, "organizations") && !strings.EqualFold(t, "common") {
			return badRequest("invalid_tenant", 90002,
				"Tenant '"+clip(t)+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
		}
		return next(w, r)
	}, writeError)
}

// discoveryDoc advertises what the authority serves and nothing else: the
// client-credentials grant with a client assertion (private_key_jwt), never a secret, and
// no response type, since the authorization endpoint (which MSAL requires a document to
// name, and challenges point to) answers every request with unsupported_response_type.
type discoveryDoc struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TenantRegionScope                 *string  `json:"tenant_region_scope"`
	CloudInstanceName                 string   `json:"cloud_instance_name"`
}

func (h *Handler) baseDoc() discoveryDoc {
	return discoveryDoc{
		TokenEndpointAuthMethodsSupported: []string{"private_key_jwt"},
		ResponseTypesSupported:            []string{},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		ClaimsSupported:                   []string{"sub", "iss", "aud", "exp", "iat", "nbf", "oid", "tid", "appid", "idtyp", "xms_mirid", "uti", "ver"},
		GrantTypesSupported:               []string{"client_credentials"},
		CloudInstanceName:                 "lanyard",
	}
}

func (h *Handler) discoveryV2(w http.ResponseWriter, r *http.Request) error {
	t := h.BaseURL + "/" + h.TenantID
	d := h.baseDoc()
	d.Issuer = IssuerV2(h.BaseURL, h.TenantID)
	d.AuthorizationEndpoint = t + "/oauth2/v2.0/authorize"
	d.TokenEndpoint = t + "/oauth2/v2.0/token"
	d.JWKSURI = t + "/discovery/v2.0/keys"
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (h *Handler) discoveryV1(w http.ResponseWriter, r *http.Request) error {
	t := h.BaseURL + "/" + h.TenantID
	d := h.baseDoc()
	d.Issuer = IssuerV1(h.BaseURL, h.TenantID)
	d.AuthorizationEndpoint = t + "/oauth2/authorize"
	d.TokenEndpoint = t + "/oauth2/token"
	d.JWKSURI = t + "/discovery/keys"
	writeJSON(w, http.StatusOK, d)
	return nil
}

// authorize is the authorization endpoint. Lanyard signs no one in interactively: its
// tokens go to workloads, through the managed-identity endpoint or the token endpoint, so
// every request is refused, in OAuth's terms and without a redirect (RFC 6749 4.1.2.1:
// no client or redirect URI is registered to send one to).
func authorize(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	return badRequest("unsupported_response_type", 700054,
		"Lanyard has no interactive sign-in: it issues tokens to workloads only, through the managed-identity endpoint or, with a client assertion, the token endpoint.")
}

func (h *Handler) keys(w http.ResponseWriter, r *http.Request) error {
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	w.Header().Set("Cache-Control", "max-age=300")
	writeJSON(w, http.StatusOK, h.Keys.JWKS(now))
	return nil
}

// oauthError is an error answer: the OAuth error, the HTTP status and the AADSTS code.
type oauthError struct {
	status int
	code   string
	aadsts int
	msg    string
}

func (e *oauthError) Error() string { return e.code + ": " + aadstsPrefix(e.aadsts) + e.msg }

func badRequest(code string, aadsts int, msg string) *oauthError {
	return &oauthError{http.StatusBadRequest, code, aadsts, msg}
}

// errServer is the answer to an error that is not an oauthError: nothing returns one
// today, but a new path that did would still answer in the protocol's shape.
var errServer = &oauthError{http.StatusInternalServerError, "server_error", 50000, "There was an error issuing a token."}

// writeError is the authority's handler.Encoder: Entra's OAuth JSON shape, with an
// AADSTS code.
func writeError(w http.ResponseWriter, _ *http.Request, err error) {
	e := errServer
	var oe *oauthError
	if errors.As(err, &oe) {
		e = oe
	}
	traceID := uuid.NewString()
	writeJSON(w, e.status, struct {
		Error         string `json:"error"`
		Description   string `json:"error_description"`
		ErrorCodes    []int  `json:"error_codes"`
		Timestamp     string `json:"timestamp"`
		TraceID       string `json:"trace_id"`
		CorrelationID string `json:"correlation_id"`
	}{
		Error:         e.code,
		Description:   aadstsPrefix(e.aadsts) + e.msg + " Trace ID: " + traceID,
		ErrorCodes:    []int{e.aadsts},
		Timestamp:     time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		TraceID:       traceID,
		CorrelationID: uuid.NewString(),
	})
}

func aadstsPrefix(code int) string { return "AADSTS" + strconv.Itoa(code) + ": " }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func clip(s string) string { return lanyard.Clip(s, 64) }
