package msi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/handler"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Handler serves both managed-identity protocols.
type Handler struct {
	Apps   Apps
	Minter Minter
	Cache  *Cache
	Logger *slog.Logger
	Now    func() time.Time
	// Audit, when set, records every token handed out and every request refused; a token
	// whose issue it cannot record is not handed out.
	Audit Auditor
	// Fresh, when set, says whether the identities, revocations and keys tokens are issued
	// from are up to date; while it returns an error no token is handed out, cached or
	// not, and the caller gets that error (a 503 when it is KindUnavailable).
	Fresh func() error
}

// protocol captures what differs between App Service and IMDS.
type protocol struct {
	name        string
	apiVersions []string
	// selectors maps a query parameter to the Selector field it sets.
	selectors map[string]func(*directory.Selector, string)
	writeErr  func(w http.ResponseWriter, status int, code, msg string)
}

var (
	byClient    = func(s *directory.Selector, v string) { s.ClientID = v }
	byPrincipal = func(s *directory.Selector, v string) { s.PrincipalID = v }
	byResource  = func(s *directory.Selector, v string) { s.ResourceID = v }
)

var appService = protocol{
	name:        "appservice",
	apiVersions: []string{"2019-08-01"},
	selectors: map[string]func(*directory.Selector, string){
		"client_id": byClient, "mi_res_id": byResource, "object_id": byPrincipal, "principal_id": byPrincipal,
	},
	writeErr: writeAppServiceError,
}

var imds = protocol{
	name:        "imds",
	apiVersions: []string{"2018-02-01", "2019-08-01"},
	selectors: map[string]func(*directory.Selector, string){
		"client_id": byClient, "msi_res_id": byResource, "mi_res_id": byResource, "object_id": byPrincipal, "principal_id": byPrincipal,
	},
	writeErr: writeIMDSError,
}

// Mount registers the endpoint's routes on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.Handle(AppServicePath, handler.Serve(func(w http.ResponseWriter, r *http.Request) error {
		return h.serve(w, r, appService, r.Header.Get("X-Identity-Header"))
	}, appService.encode))
	for _, p := range []string{IMDSTokenPath, IMDSTokenPath + "/"} {
		mux.Handle(p, handler.Serve(func(w http.ResponseWriter, r *http.Request) error {
			return h.serve(w, r, imds, r.Header.Get("X-Identity-Header"))
		}, imds.encode))
	}
	mux.Handle(IMDSPrefix, handler.Serve(func(w http.ResponseWriter, r *http.Request) error {
		secret, rest, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, IMDSPrefix), "/")
		// msal-node appends a slash to the token path.
		if !ok || "/"+strings.TrimSuffix(rest, "/") != IMDSTokenPath {
			// Not a token request, so not a refusal to record.
			return &refusal{http.StatusNotFound, "not_found", "The requested path was not found."}
		}
		return h.serve(w, r, imds, secret)
	}, imds.encode))
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// serve answers a token request of protocol p. Every way it can say no, from a wrong
// method to a disabled identity, is recorded.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, p protocol, header string) error {
	err := h.issue(w, r, p, header)
	if err == nil {
		return nil
	}
	var ref *refusal
	if !errors.As(err, &ref) {
		ref = p.refusalOf(err)
		if ref.status == http.StatusInternalServerError {
			// Internal details are logged, never sent.
			h.logger().ErrorContext(r.Context(), "managed identity token request failed", "protocol", p.name, "err", err)
		}
	}
	h.recordRefusal(r, p, ref)
	return ref
}

func (h *Handler) issue(w http.ResponseWriter, r *http.Request, p protocol, header string) error {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		return &refusal{http.StatusMethodNotAllowed, "invalid_request", "Only GET is supported."}
	}
	q, err := h.checkRequest(r, p)
	if err != nil {
		return err
	}
	if h.Fresh != nil {
		if err := h.Fresh(); err != nil {
			return err
		}
	}
	app, err := h.Apps.AuthenticateApp(r.Context(), header)
	if err != nil {
		return err
	}
	var sel directory.Selector
	for name, set := range p.selectors {
		if v := q.Get(name); v != "" {
			set(&sel, v)
		}
	}
	id, err := h.Apps.ResolveIdentity(r.Context(), app, sel)
	if err != nil {
		return err
	}
	resource := q.Get("resource")
	now := h.now()
	tok, cached := h.Cache.get(id.PrincipalID, resource, now)
	if !cached {
		tok, err = h.Minter.Mint(r.Context(), id, resource)
		if err != nil {
			return err
		}
	}
	// A token is handed out, and cached, only once its issue is on record.
	if err := h.recordIssued(r, p, app, id, resource, tok, cached); err != nil {
		return err
	}
	if !cached {
		h.Cache.put(id.PrincipalID, resource, tok, now)
	}
	writeToken(w, tok, id, resource, now)
	return nil
}

// checkRequest validates everything that needs no lookup and returns the parsed query.
func (h *Handler) checkRequest(r *http.Request, p protocol) (url.Values, error) {
	if len(r.URL.RawQuery) > maxQueryLength {
		return nil, badRequest("The query string is too long.")
	}
	if r.Header.Get("X-Forwarded-For") != "" {
		return nil, badRequest("Requests with an X-Forwarded-For header are not accepted: the endpoint serves local callers only.")
	}
	if p.name == imds.name && !strings.EqualFold(r.Header.Get("Metadata"), "true") {
		return nil, badRequest("Required metadata header not specified")
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("The query string is malformed.")
	}
	for name, vs := range q {
		for _, v := range vs {
			if len(v) > maxParamLength {
				return nil, badRequest("The parameter '" + clip(name) + "' is too long.")
			}
		}
	}
	v := q.Get("api-version")
	if v == "" {
		return nil, badRequest("Required query variable 'api-version' is missing.")
	}
	if !slices.Contains(p.apiVersions, v) {
		return nil, badRequest("The api-version '" + clip(v) + "' is not supported; use " + strings.Join(p.apiVersions, " or ") + ".")
	}
	if q.Get("resource") == "" {
		return nil, badRequest("Required audience parameter not specified")
	}
	n := 0
	for name := range p.selectors {
		if q.Get(name) != "" {
			n++
		}
	}
	if n > 1 {
		return nil, badRequest("Only one of " + selectorNames(p) + " may be given.")
	}
	return q, nil
}

// refusal is an answer in either protocol's error shape.
type refusal struct {
	status int
	code   string
	msg    string
}

func (e *refusal) Error() string { return e.code + ": " + e.msg }

func badRequest(msg string) *refusal { return &refusal{http.StatusBadRequest, "invalid_request", msg} }

// refusalOf maps a domain error to the protocol's refusal; this is the one place the
// endpoint turns error kinds into statuses.
func (p protocol) refusalOf(err error) *refusal {
	switch lanyard.KindOf(err) {
	case lanyard.KindUnauthenticated:
		if p.name == imds.name {
			return &refusal{http.StatusUnauthorized, "unknown_source", "Unknown Source: the identity header is missing or not valid."}
		}
		return &refusal{http.StatusUnauthorized, "unauthorized", "The X-IDENTITY-HEADER is missing or not valid."}
	case lanyard.KindInvalid, lanyard.KindNotFound:
		if errors.Is(err, directory.ErrIdentityNotAssigned) && p.name == appService.name {
			return badRequest("Unable to load the proper Managed Identity.")
		}
		if errors.Is(err, directory.ErrIdentityNotAssigned) {
			return badRequest("Identity not found")
		}
		return badRequest(lanyard.MessageOf(err))
	case lanyard.KindPermissionDenied:
		return &refusal{http.StatusForbidden, "access_denied", lanyard.MessageOf(err)}
	case lanyard.KindUnavailable:
		return &refusal{http.StatusServiceUnavailable, "temporarily_unavailable", lanyard.MessageOf(err)}
	default:
		return &refusal{http.StatusInternalServerError, "server_error", lanyard.MessageOf(err)}
	}
}

// encode is the protocol's handler.Encoder.
func (p protocol) encode(w http.ResponseWriter, _ *http.Request, err error) {
	var ref *refusal
	if !errors.As(err, &ref) {
		ref = p.refusalOf(err)
	}
	p.writeErr(w, ref.status, ref.code, ref.msg)
}

// tokenResponse is the body both protocols return. expires_on comes last and agrees with
// expires_in, because .NET reads whichever appears last and JavaScript reads only expires_on.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	ClientID     string `json:"client_id"`
	ExpiresIn    string `json:"expires_in"`
	ExtExpiresIn string `json:"ext_expires_in"`
	RefreshIn    string `json:"refresh_in"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	TokenType    string `json:"token_type"`
	ExpiresOn    string `json:"expires_on"`
}

func writeToken(w http.ResponseWriter, t Minted, id lanyard.Identity, resource string, now time.Time) {
	in := int64(t.ExpiresAt.Sub(now) / time.Second)
	body := tokenResponse{
		AccessToken:  t.AccessToken,
		ClientID:     id.ClientID,
		ExpiresIn:    strconv.FormatInt(in, 10),
		ExtExpiresIn: strconv.FormatInt(in, 10),
		RefreshIn:    strconv.FormatInt(in/2, 10),
		NotBefore:    strconv.FormatInt(t.IssuedAt.Unix(), 10),
		Resource:     resource,
		TokenType:    "Bearer",
		ExpiresOn:    strconv.FormatInt(t.ExpiresAt.Unix(), 10),
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(body)
}

// writeAppServiceError writes the App Service error shape: {"statusCode","message","correlationId"}.
func writeAppServiceError(w http.ResponseWriter, status int, _ string, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		StatusCode    int    `json:"statusCode"`
		Message       string `json:"message"`
		CorrelationID string `json:"correlationId"`
	}{status, msg, uuid.NewString()})
}

// writeIMDSError writes the IMDS error shape: {"error","error_description"}.
func writeIMDSError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{code, msg})
}

func selectorNames(p protocol) string {
	var names []string
	for n := range p.selectors {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func clip(s string) string { return lanyard.Clip(s, 64) }
