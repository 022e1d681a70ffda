package authority

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/lanyard-id/lanyard/internal/federation"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// The token endpoint: the OAuth 2.0 client-credentials grant, authenticated by a JWT-bearer
// client assertion (workload identity federation), as the Azure SDKs'
// WorkloadIdentityCredential and ClientAssertionCredential send it to Entra.

const (
	jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// maxTokenRequest bounds the form; a real one (assertion, claims, telemetry) is 2 to 3 KiB.
	maxTokenRequest = 64 << 10
	// maxResourceLength bounds the resource a token is asked for.
	maxResourceLength = 2048
)

// Exchanger proves a client id with a client assertion; *federation.Exchanger is one.
type Exchanger interface {
	Exchange(ctx context.Context, clientID, assertion string) (lanyard.Identity, federation.Match, error)
}

// TokenMinter mints an access token for an identity, from this authority.
type TokenMinter interface {
	MintToken(ctx context.Context, id lanyard.Identity, resource string) (AccessToken, error)
}

// AccessToken is a minted token.
type AccessToken struct {
	Raw       string
	UTI       string // its unique id, for the audit trail
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// TokenRecord describes one answer of the token endpoint, for an audit trail.
type TokenRecord struct {
	ClientID    string // as the client sent it
	PrincipalID string // "" when the client was not identified
	// Issuer, Subject and Credential say which federated credential the assertion
	// satisfied; "" on a refusal.
	Issuer, Subject, Credential string
	Resource                    string
	TokenID                     string // uti of the token issued; "" on a refusal
	Error                       string // the OAuth error of a refusal; "" when issued
	AADSTS                      int
}

// TokenEndpoint serves POST /{tenant}/oauth2/v2.0/token (scope) and /{tenant}/oauth2/token
// (v1, resource). Set Exchanger and Minter.
type TokenEndpoint struct {
	Exchanger Exchanger
	Minter    TokenMinter
	Logger    *slog.Logger
	Now       func() time.Time
	// Record, when set, is told of every token issued and every request refused.
	Record func(ctx context.Context, r TokenRecord)
}

func missing(param string) *oauthError {
	return badRequest("invalid_request", 900144, "The request body must contain the following parameter: '"+param+"'.")
}

func invalidParam(param, why string) *oauthError {
	return badRequest("invalid_request", 90100, "The parameter '"+param+"' is empty or not valid: "+why)
}

func (e *TokenEndpoint) serveV2(w http.ResponseWriter, r *http.Request) error {
	return e.serve(w, r, false)
}
func (e *TokenEndpoint) serveV1(w http.ResponseWriter, r *http.Request) error {
	return e.serve(w, r, true)
}

func (e *TokenEndpoint) serve(w http.ResponseWriter, r *http.Request, v1 bool) error {
	// Neither a token nor a refusal is for a cache to keep.
	w.Header().Set("Cache-Control", "no-store")
	form, clientID, resource, oe := e.parse(r, v1)
	if oe != nil {
		return e.refuse(r, clientID, "", resource, oe, nil)
	}
	id, m, err := e.Exchanger.Exchange(r.Context(), clientID, form.Get("client_assertion"))
	if err != nil {
		return e.refuse(r, clientID, id.PrincipalID, resource, exchangeError(err), err)
	}
	tok, err := e.Minter.MintToken(r.Context(), id, resource)
	if err != nil {
		return e.refuse(r, clientID, id.PrincipalID, resource, exchangeError(err), err)
	}
	e.logger().InfoContext(r.Context(), "federated token issued", "client_id", id.ClientID, "principal_id", id.PrincipalID,
		"credential", m.Credential.Name, "issuer", m.Issuer, "subject", m.Subject, "resource", resource)
	if e.Record != nil {
		e.Record(r.Context(), TokenRecord{ClientID: clientID, PrincipalID: id.PrincipalID, Issuer: m.Issuer, Subject: m.Subject,
			Credential: m.Credential.Name, Resource: resource, TokenID: tok.UTI})
	}
	writeTokenResponse(w, tok, resource, e.now(), v1)
	return nil
}

// parse reads and checks the form. Unknown fields (x-client-*, telemetry, client_info,
// client-request-id, claims) and the query string (msal-node adds client-request-id) are
// ignored, as Entra ignores them.
func (e *TokenEndpoint) parse(r *http.Request, v1 bool) (url.Values, string, string, *oauthError) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, "", "", invalidParam("Content-Type", "the request body must be application/x-www-form-urlencoded.")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxTokenRequest)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, "", "", badRequest("invalid_request", 90100, "The request body is larger than the limit.")
		}
		return nil, "", "", invalidParam("body", "the form is malformed.")
	}
	form := r.PostForm
	// A parameter given twice could be read one way here and another way by a proxy.
	for _, p := range []string{"grant_type", "client_id", "client_assertion", "client_assertion_type", "client_secret", "scope", "resource"} {
		if len(form[p]) > 1 {
			return form, "", "", invalidParam(p, "it is given more than once.")
		}
	}
	clientID := form.Get("client_id")
	switch g := form.Get("grant_type"); {
	case g == "":
		return form, clientID, "", missing("grant_type")
	case g != "client_credentials":
		return form, clientID, "", badRequest("unsupported_grant_type", 70003,
			"The app requested an unsupported grant type '"+clip(g)+"'. Lanyard supports client_credentials with a client assertion.")
	}
	if clientID == "" {
		return form, "", "", missing("client_id")
	}
	var resource string
	var oe *oauthError
	if v1 {
		resource = form.Get("resource")
		if resource == "" {
			return form, clientID, "", missing("resource")
		}
		oe = checkResource(resource)
	} else {
		if form.Get("scope") == "" {
			return form, clientID, "", missing("scope")
		}
		resource, oe = resourceOf(form.Get("scope"))
	}
	if oe != nil {
		return form, clientID, "", oe
	}
	assertion, secret := form.Get("client_assertion"), form.Get("client_secret")
	switch {
	case secret != "" && assertion != "":
		return form, clientID, "", invalidParam("client_secret", "give either a client assertion or a client secret, not both.")
	case secret != "":
		// Managed identities have no secrets; the only credential is an assertion.
		return form, clientID, "", &oauthError{http.StatusUnauthorized, "invalid_client", 7000215,
			"Invalid client secret provided. Lanyard identities have no client secrets: present a client assertion from a trusted issuer."}
	case assertion == "":
		return form, clientID, "", &oauthError{http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
	}
	switch t := form.Get("client_assertion_type"); t {
	case "":
		return form, clientID, "", missing("client_assertion_type")
	case jwtBearer:
	default:
		return form, clientID, "", invalidParam("client_assertion_type", "use "+jwtBearer+".")
	}
	return form, clientID, resource, nil
}

// resourceOf turns a v2 scope into the v1 resource it names: everything before the last
// "/.default", so that https://database.windows.net//.default asks for
// https://database.windows.net/. The OpenID scopes the Go SDK adds are ignored.
func resourceOf(scope string) (string, *oauthError) {
	var resources []string
	for _, s := range strings.Fields(scope) {
		switch s {
		case "openid", "offline_access", "profile", "email":
			continue
		}
		resources = append(resources, s)
	}
	switch len(resources) {
	case 0:
		return "", badRequest("invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid: it names no resource. Ask for {resource}/.default.")
	case 1:
	default:
		return "", badRequest("invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid: a token is for one resource; ask for one {resource}/.default.")
	}
	s := resources[0]
	i := strings.LastIndex(s, "/.default")
	if i <= 0 || i+len("/.default") != len(s) {
		return "", badRequest("invalid_scope", 1002012, "The provided value for scope "+clip(s)+
			" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
	}
	resource := s[:i]
	return resource, checkResource(resource)
}

func checkResource(resource string) *oauthError {
	if len(resource) > maxResourceLength {
		return badRequest("invalid_scope", 70011, "The resource is longer than "+strconv.Itoa(maxResourceLength)+" characters.")
	}
	for _, r := range resource {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return badRequest("invalid_scope", 70011, "The resource "+clip(strconv.Quote(resource))+" is not valid.")
		}
	}
	return nil
}

// exchangeError maps a refusal of the exchange to Entra's error for it. This is the one
// place the token endpoint turns error codes into protocol errors.
func exchangeError(err error) *oauthError {
	msg := lanyard.MessageOf(err)
	invalidClient := func(n int) *oauthError { return &oauthError{http.StatusUnauthorized, "invalid_client", n, msg} }
	switch lanyard.CodeOf(err) {
	case federation.CodeUnknownClient:
		return badRequest("unauthorized_client", 700016, msg+" This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.")
	case federation.CodeClientDisabled, "IdentityDisabled":
		return badRequest("unauthorized_client", 7000112, msg)
	case federation.CodeNoCredentials:
		return badRequest("invalid_request", 70021, msg)
	case federation.CodeUntrustedIssuer:
		return invalidClient(700211)
	case federation.CodeAudienceMismatch:
		return invalidClient(700212)
	case federation.CodeSubjectMismatch, federation.CodeAssertionRevoked:
		return invalidClient(700213)
	case federation.CodeExpired, federation.CodeNotYetValid:
		return invalidClient(700024)
	case federation.CodeBadAlgorithm, federation.CodeBadSignature:
		return invalidClient(700027)
	case federation.CodeUnknownKey:
		return invalidClient(7000272)
	case federation.CodeMalformed, federation.CodeMissingClaim, federation.CodeTooLarge:
		return badRequest("invalid_request", 50027, "JWT token is invalid or malformed. "+msg)
	case federation.CodeIssuerUnavailable:
		return badRequest("invalid_request", 50166, "Request to External OIDC endpoint failed. "+msg)
	}
	switch lanyard.KindOf(err) {
	case lanyard.KindUnavailable:
		return &oauthError{http.StatusServiceUnavailable, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again."}
	case lanyard.KindInvalid:
		return badRequest("invalid_request", 90100, msg)
	}
	return errServer
}

// refuse logs and records the refusal oe, who asked and why, and returns oe for the
// encoder to write. The assertion itself is never logged.
func (e *TokenEndpoint) refuse(r *http.Request, clientID, principalID, resource string, oe *oauthError, cause error) error {
	level := slog.LevelInfo
	if oe.status >= 500 {
		level = slog.LevelError
	}
	attrs := []any{"client_id", clip(clientID), "error", oe.code, "aadsts", oe.aadsts, "status", oe.status}
	if cause != nil {
		attrs = append(attrs, "code", lanyard.CodeOf(cause), "err", cause)
	}
	e.logger().Log(r.Context(), level, "federated token refused", attrs...)
	if e.Record != nil {
		e.Record(r.Context(), TokenRecord{ClientID: clientID, PrincipalID: principalID, Resource: resource, Error: oe.code, AADSTS: oe.aadsts})
	}
	return oe
}

// writeTokenResponse writes Entra's success body: numbers in v2.0, strings (with expires_on,
// not_before and resource) in v1, as Entra writes them.
func writeTokenResponse(w http.ResponseWriter, t AccessToken, resource string, now time.Time, v1 bool) {
	in := max(int64(t.ExpiresAt.Sub(now)/time.Second), 0)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if v1 {
		writeJSON(w, http.StatusOK, struct {
			TokenType    string `json:"token_type"`
			ExpiresIn    string `json:"expires_in"`
			ExtExpiresIn string `json:"ext_expires_in"`
			ExpiresOn    string `json:"expires_on"`
			NotBefore    string `json:"not_before"`
			Resource     string `json:"resource"`
			AccessToken  string `json:"access_token"`
		}{"Bearer", strconv.FormatInt(in, 10), strconv.FormatInt(in, 10), strconv.FormatInt(t.ExpiresAt.Unix(), 10),
			strconv.FormatInt(t.IssuedAt.Unix(), 10), resource, t.Raw})
		return
	}
	writeJSON(w, http.StatusOK, struct {
		TokenType    string `json:"token_type"`
		ExpiresIn    int64  `json:"expires_in"`
		ExtExpiresIn int64  `json:"ext_expires_in"`
		AccessToken  string `json:"access_token"`
	}{"Bearer", in, in, t.Raw})
}

func (e *TokenEndpoint) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *TokenEndpoint) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.Default()
}
