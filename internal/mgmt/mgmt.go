// Package mgmt serves Lanyard's management API in ARM's shape: resource ids as paths, an
// api-version on every call, JSON resources with id, name, type and properties, and ARM's
// error body. The lanyard CLI is one client of it; ARM SDK clients can be others.
package mgmt

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/handler"
	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/token"
)

// Lanyard's own ARM-style endpoints.
const (
	// KeysPath is the collection of the authority's signing keys.
	KeysPath = "/providers/Lanyard.Authority/signingKeys"
	// CheckAccessPath answers what-if access checks.
	CheckAccessPath = "/providers/Lanyard.Authorization/checkAccess"
	// PrincipalsPath looks a principal up by client id or principal id.
	PrincipalsPath = "/providers/Lanyard.Directory/principals"
)

// Keys is what the API needs of the keyring.
type Keys interface {
	List() []keys.KeyInfo
	Rotate(ctx context.Context) (lanyard.SigningKey, error)
}

// Environment says where apps find the managed-identity endpoint and the trust bundle.
type Environment struct {
	MSIBaseURL  string // e.g. http://127.0.0.1:10080
	BlobBaseURL string // e.g. https://127.0.0.1:10000
	CAFile      string // Lanyard's CA certificate, PEM
	BundleFile  string // system roots plus Lanyard's CA, PEM
}

// Handler serves the management API.
type Handler struct {
	Directory *directory.Service
	Access    *access.Service
	Keys      Keys
	Env       Environment
	// Postgres manages PostgreSQL servers, their administrators and role bindings; nil
	// answers their routes with 503.
	Postgres *directory.Postgres
	// ServiceBus manages Service Bus namespaces and their entities; nil answers their
	// routes with 503. ServiceBusCounts, when set, tells the message counts of queues and
	// subscriptions (zeros without it).
	ServiceBus       *directory.ServiceBus
	ServiceBusCounts EntityCounts
	// Federation manages the federated identity credentials of user-assigned identities.
	Federation FederatedCredentials
	// Containers, when set, serves the blob containers of storage accounts as ARM
	// resources; nil while the Blob service is off.
	Containers Containers
	// Audit, when set, records changes and authorization decisions and serves the audit
	// API; Revocations, when set, serves token revocation.
	Audit       AuditTrail
	Revocations Revoker
	// Tokens verifies bearer tokens issued for the management audience; callers other than
	// the admin are then authorized by RBAC, as ARM does.
	Tokens *token.Verifier
	// AuthorizationURI is advertised in the 401 challenge.
	AuthorizationURI string
	// AdminTokenHash is the SHA-256 of the admin credential; the credential itself lives
	// only in the data folder.
	AdminTokenHash []byte
	Logger         *slog.Logger

	routesOnce sync.Once
	routes     []*route
}

const maxBody = 1 << 20

func (h *Handler) subscription() string { return h.Directory.Tenant().SubscriptionID }
func (h *Handler) tenant() string       { return h.Directory.Tenant().ID }

// ServeHTTP authenticates the caller, checks the api-version, authorizes and dispatches.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	handler.Run(w, r, h.serve, h.writeError)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) error {
	c, err := h.authenticate(r)
	if err == nil {
		ctx := context.WithValue(r.Context(), callerKey{}, c)
		r = r.WithContext(context.WithValue(ctx, outcomeKey{}, &outcome{}))
	}
	if err != nil && lanyard.KindOf(err) == lanyard.KindUnavailable {
		// Not the credential's fault (the store, or this node's copy of it): a 401 would
		// tell the client to drop a good token; a 503 tells it to retry.
		return err
	}
	if err != nil {
		h.auditAuthFailure(r, err)
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+h.AuthorizationURI+`", error="invalid_token", error_description="`+strings.ReplaceAll(lanyard.MessageOf(err), `"`, `'`)+`"`)
		return apiError(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. "+lanyard.MessageOf(err))
	}
	if v := r.URL.Query().Get("api-version"); v == "" {
		return apiError(http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
	} else if !apiVersion.MatchString(v) {
		return apiError(http.StatusBadRequest, "InvalidApiVersionParameter", "The api-version '"+clip(v)+"' is invalid. The supported versions are dates such as '2023-01-31'.")
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) > 0 && strings.EqualFold(segs[0], "subscriptions") && len(segs) > 1 && !strings.EqualFold(segs[1], h.subscription()) {
		return apiError(http.StatusNotFound, "SubscriptionNotFound", "The subscription '"+clip(segs[1])+"' could not be found.")
	}
	if scope, rest, ok := authorizationPath(segs); ok {
		return h.serveAuthorization(w, r, c, scope, rest)
	}
	h.routesOnce.Do(func() { h.routes = h.table() })
	for _, rt := range h.routes {
		args, ok := rt.match(segs)
		if !ok {
			continue
		}
		fn, ok := rt.methods[r.Method]
		if get, has := rt.methods[http.MethodGet]; !ok && has && r.Method == http.MethodHead {
			fn, ok = existence(get), true
		}
		if !ok {
			return apiError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The method '"+r.Method+"' is not allowed on this resource.")
		}
		if rt.typ == "" && !c.admin {
			return apiError(http.StatusForbidden, "AuthorizationFailed", "Only the local administrator may call '"+clip(r.URL.Path)+"'.")
		}
		if rt.typ != "" && !rt.filtered {
			action, scope := rt.permission(r.Method, segs)
			if err := h.authorize(r, c, action, scope); err != nil {
				return err
			}
		}
		typ := rt.typ
		if rt.readOnly {
			typ = "" // a read: nothing to record as a change
		}
		return h.audited(w, r, c, typ, strings.Join(rt.pattern, "/"), func(w http.ResponseWriter) error { return fn(w, r, args) })
	}
	return apiError(http.StatusBadRequest, "InvalidResourceType", "The resource type or path '"+clip(r.URL.Path)+"' is not served by Lanyard.")
}

var apiVersion = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview)?$`)

// caller is who made a request: the local admin, or a principal with a verified token.
type caller struct {
	admin       bool
	principalID string
	clientID    string
	uti         string // of the caller's token
}

type callerKey struct{}

// callerOf returns who made r; handlers need it for the linked permissions they check.
func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(callerKey{}).(caller)
	return c
}

func (h *Handler) authenticate(r *http.Request) (caller, error) {
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	cred = strings.TrimSpace(cred)
	if !ok || !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return caller{}, lanyard.Errorf(lanyard.KindUnauthenticated, "The 'Authorization' header is missing or not a bearer token.")
	}
	if len(cred) <= 512 && len(h.AdminTokenHash) > 0 {
		sum := sha256.Sum256([]byte(cred))
		if subtle.ConstantTimeCompare(sum[:], h.AdminTokenHash) == 1 {
			return caller{admin: true}, nil
		}
	}
	if h.Tokens == nil || strings.Count(cred, ".") != 2 {
		return caller{}, lanyard.Errorf(lanyard.KindUnauthenticated, "The credential is not valid.")
	}
	claims, err := h.Access.Authenticate(r.Context(), h.Tokens, cred, time.Now())
	if err != nil {
		return caller{}, err
	}
	return caller{principalID: claims.ObjectID, clientID: claims.AppID, uti: claims.UTI}, nil
}

// authorize decides action at scope for c, records the decision and returns ARM's
// AuthorizationFailed when it is denied. The admin is allowed everything.
func (h *Handler) authorize(r *http.Request, c caller, action, scope string) error {
	if c.admin {
		return nil
	}
	d := h.Access.Decide(c.principalID, action, false, scope)
	if err := h.auditDecision(r, c, d); err != nil {
		return err
	}
	if d.Allowed {
		return nil
	}
	return lanyard.Errorf(lanyard.KindPermissionDenied,
		"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		c.clientID, c.principalID, action, clipScope(scope)).WithCode("AuthorizationFailed")
}

// authorizeLinked decides the permissions a request needs on resources other than the one
// it addresses (an identity it binds, a role's assignable scopes), as ARM does: every one
// must be allowed, or the request fails with LinkedAuthorizationFailed naming those that
// are not.
func (h *Handler) authorizeLinked(r *http.Request, c caller, requested, requestScope, action string, scopes []string) error {
	if c.admin {
		return nil
	}
	var denied []string
	for _, scope := range scopes {
		if err := h.authorize(r, c, action, scope); err != nil {
			if lanyard.KindOf(err) != lanyard.KindPermissionDenied {
				return err
			}
			denied = append(denied, clipScope(scope))
		}
	}
	if len(denied) == 0 {
		return nil
	}
	return lanyard.Errorf(lanyard.KindPermissionDenied,
		"The client '%s' with object id '%s' has permission to perform action '%s' on scope '%s'; however, it does not have permission to perform action(s) '%s' on the linked scope(s) '%s' (respectively) or the linked scope(s) are invalid.",
		c.clientID, c.principalID, requested, clipScope(requestScope), action, strings.Join(denied, ",")).WithCode("LinkedAuthorizationFailed")
}

func (h *Handler) table() []*route {
	const (
		groups     = "subscriptions/{}/resourcegroups"
		identities = "providers/Microsoft.ManagedIdentity/userAssignedIdentities"
		sites      = "providers/Microsoft.Web/sites"
		accounts   = "providers/Microsoft.Storage/storageAccounts"
		subType    = "Microsoft.Resources/subscriptions"
		groupType  = "Microsoft.Resources/subscriptions/resourceGroups"
		idType     = lanyard.TypeUserAssignedIdentity
		siteType   = lanyard.TypeApp
		acctType   = lanyard.TypeStorageAccount
		pgServers  = "providers/Microsoft.DBforPostgreSQL/flexibleServers"
		pgType     = lanyard.TypePostgresServer
		sbSpaces   = "providers/Microsoft.ServiceBus/namespaces"
		sbNsType   = lanyard.TypeServiceBusNamespace
	)
	sbNs := groups + "/{}/" + sbSpaces + "/{}"
	return []*route{
		newRoute("subscriptions", subType).reachable().on("GET", h.listSubscriptions),
		newRoute("subscriptions/{}", subType).on("GET", h.getSubscription),
		newRoute(groups, groupType).on("GET", h.listGroups),
		newRoute(groups+"/{}", groupType).on("PUT", h.putGroup).on("PATCH", h.patchGroup).on("GET", h.getGroup).on("DELETE", h.deleteGroup),
		newRoute("subscriptions/{}/"+identities, idType).on("GET", h.listIdentities),
		newRoute(groups+"/{}/"+identities, idType).on("GET", h.listIdentities),
		newRoute(groups+"/{}/"+identities+"/{}", idType).on("PUT", h.putIdentity).on("PATCH", h.patchIdentity).on("GET", h.getIdentity).on("DELETE", h.deleteIdentity),
		newRoute(groups+"/{}/"+identities+"/{}/federatedIdentityCredentials", lanyard.TypeFederatedCredential).on("GET", h.listFederatedCredentials),
		newRoute(groups+"/{}/"+identities+"/{}/federatedIdentityCredentials/{}", lanyard.TypeFederatedCredential).on("PUT", h.putFederatedCredential).on("GET", h.getFederatedCredential).on("DELETE", h.deleteFederatedCredential),
		newRoute("subscriptions/{}/"+sites, siteType).on("GET", h.listApps),
		newRoute(groups+"/{}/"+sites, siteType).on("GET", h.listApps),
		newRoute(groups+"/{}/"+sites+"/{}", siteType).on("PUT", h.putApp).on("PATCH", h.patchApp).on("GET", h.getApp).on("DELETE", h.deleteApp),
		newRoute(groups+"/{}/"+sites+"/{}/listIdentityEnvironment", siteType).action("listIdentityEnvironment").on("POST", h.appEnvironment),
		newRoute(groups+"/{}/"+sites+"/{}/rotateIdentityHeader", siteType).action("rotateIdentityHeader").on("POST", h.rotateHeader),
		newRoute("subscriptions/{}/"+accounts, acctType).on("GET", h.listAccounts),
		newRoute(groups+"/{}/"+accounts, acctType).on("GET", h.listAccounts),
		newRoute(groups+"/{}/"+accounts+"/{}", acctType).on("PUT", h.putAccount).on("PATCH", h.patchAccount).on("GET", h.getAccount).on("DELETE", h.deleteAccount),
		newRoute("subscriptions/{}/"+pgServers, pgType).on("GET", h.listPostgresServers),
		newRoute(groups+"/{}/"+pgServers, pgType).on("GET", h.listPostgresServers),
		newRoute(groups+"/{}/"+pgServers+"/{}", pgType).on("PUT", h.putPostgresServer).on("PATCH", h.patchPostgresServer).on("GET", h.getPostgresServer).on("DELETE", h.deletePostgresServer),
		newRoute(groups+"/{}/"+pgServers+"/{}/administrators", postgresAdminType).on("GET", h.listPostgresAdmins),
		newRoute(groups+"/{}/"+pgServers+"/{}/administrators/{}", postgresAdminType).on("PUT", h.putPostgresAdmin).on("GET", h.getPostgresAdmin).on("DELETE", h.deletePostgresAdmin),
		// Binding a role is an administrator's act, reading one a reader's of the server.
		newRoute(groups+"/{}/"+pgServers+"/{}/principals", postgresPrincipalType).actions(pgType+"/read", "", "").on("GET", h.listPostgresPrincipals),
		newRoute(groups+"/{}/"+pgServers+"/{}/principals/{}", postgresPrincipalType).actions(pgType+"/read", postgresAdminType+"/write", postgresAdminType+"/write").
			on("PUT", h.putPostgresPrincipal).on("GET", h.getPostgresPrincipal).on("DELETE", h.deletePostgresPrincipal),
		newRoute("subscriptions/{}/"+sbSpaces, sbNsType).on("GET", h.listSBNamespaces),
		newRoute(groups+"/{}/"+sbSpaces, sbNsType).on("GET", h.listSBNamespaces),
		newRoute("subscriptions/{}/providers/Microsoft.ServiceBus/checkNameAvailability", sbNsType).readsWith("Microsoft.ServiceBus/checkNameAvailability/action").on("POST", h.checkSBNamespaceName),
		newRoute(sbNs, sbNsType).on("PUT", h.putSBNamespace).on("PATCH", h.patchSBNamespace).on("GET", h.getSBNamespace).on("DELETE", h.deleteSBNamespace),
		newRoute(sbNs+"/queues", lanyard.TypeServiceBusQueue).on("GET", sbQueues.listHandler(h)),
		newRoute(sbNs+"/queues/{}", lanyard.TypeServiceBusQueue).on("PUT", h.putSBQueue).on("GET", sbQueues.getHandler(h)).on("DELETE", sbQueues.deleteHandler(h)),
		newRoute(sbNs+"/topics", lanyard.TypeServiceBusTopic).on("GET", sbTopics.listHandler(h)),
		newRoute(sbNs+"/topics/{}", lanyard.TypeServiceBusTopic).on("PUT", h.putSBTopic).on("GET", sbTopics.getHandler(h)).on("DELETE", sbTopics.deleteHandler(h)),
		newRoute(sbNs+"/topics/{}/subscriptions", lanyard.TypeServiceBusSubscription).on("GET", sbSubscriptions.listHandler(h)),
		newRoute(sbNs+"/topics/{}/subscriptions/{}", lanyard.TypeServiceBusSubscription).
			on("PUT", h.putSBSubscription).on("GET", sbSubscriptions.getHandler(h)).on("DELETE", sbSubscriptions.deleteHandler(h)),
		newRoute(sbNs+"/topics/{}/subscriptions/{}/rules", lanyard.TypeServiceBusRule).on("GET", sbRules.listHandler(h)),
		newRoute(sbNs+"/topics/{}/subscriptions/{}/rules/{}", lanyard.TypeServiceBusRule).on("PUT", h.putSBRule).on("GET", sbRules.getHandler(h)).on("DELETE", sbRules.deleteHandler(h)),
		newRoute(groups+"/{}/"+accounts+"/{}/listKeys", acctType).action("listKeys").on("POST", h.listAccountKeys),
		newRoute(groups+"/{}/"+accounts+"/{}/revokeUserDelegationKeys", acctType).action("revokeUserDelegationKeys").on("POST", h.revokeUserDelegationKeys),
		newRoute("subscriptions/{}/providers/Microsoft.Storage/checkNameAvailability", acctType).readsWith("Microsoft.Storage/checkNameAvailability/read").on("POST", h.checkAccountName),
		newRoute(groups+"/{}/"+accounts+"/{}/blobServices", blobServiceType).on("GET", h.listBlobServices),
		newRoute(groups+"/{}/"+accounts+"/{}/blobServices/{}", blobServiceType).on("GET", h.getBlobService).on("PUT", h.putBlobService).on("PATCH", h.putBlobService),
		newRoute(groups+"/{}/"+accounts+"/{}/blobServices/{}/containers", containerType).on("GET", h.listContainers),
		newRoute(groups+"/{}/"+accounts+"/{}/blobServices/{}/containers/{}", containerType).on("PUT", h.putContainer).on("PATCH", h.patchContainer).on("GET", h.getContainer).on("DELETE", h.deleteContainer),
		newRoute("subscriptions/{}/resources", "Microsoft.Resources/subscriptions/resources").on("GET", h.listResources),
		newRoute(groups+"/{}/resources", "Microsoft.Resources/subscriptions/resourceGroups/resources").on("GET", h.listResources),
		newRoute(KeysPath, "").on("GET", h.listKeys),
		newRoute(KeysPath+"/rotate", "").on("POST", h.rotateKey),
		newRoute(CheckAccessPath, "").on("POST", h.checkAccess),
		newRoute(PrincipalsPath+"/{}", "").on("GET", h.getPrincipal).on("PATCH", h.patchPrincipal),
		newRoute(RevocationsPath, "").on("POST", h.revoke).on("GET", h.listRevocations),
		newRoute(AuditEventsPath, "").on("GET", h.listAuditEvents),
		newRoute(AuditEventsPath+"/verify", "").on("POST", h.verifyAudit),
		newRoute(AuditEventsPath+"/{}", "").on("GET", h.getAuditEvent),
		newRoute(AuditEventsPath+"/{}/explain", "").on("GET", h.explainAuditEvent),
	}
}

// Plumbing.

func createdStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

// outcome is what a handler tells the audit trail that its status does not: a PUT whose
// REST spec allows no 201 (storage accounts, sites) answers 200 whether it created the
// resource or not.
type outcome struct{ created bool }

type outcomeKey struct{}

// putDone answers a PUT whose spec gives 200 (or 202) and no 201 for a creation, and
// notes for the audit trail whether it created the resource.
func (h *Handler) putDone(w http.ResponseWriter, r *http.Request, created bool, v any, err error) error {
	if o, ok := r.Context().Value(outcomeKey{}).(*outcome); ok && err == nil {
		o.created = created
	}
	return h.reply(w, http.StatusOK, v, err)
}

func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return apiError(http.StatusBadRequest, "InvalidRequestContent", "The request content could not be read.")
	}
	if len(body) > maxBody {
		return apiError(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request content is larger than 1 MiB.")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return apiError(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: "+clip(err.Error())+".")
	}
	return nil
}

// status maps error kinds to HTTP statuses; it is the one place the management API does so.
//
//exhaustive:enforce
var status = map[lanyard.Kind]int{
	lanyard.KindInvalid:          http.StatusBadRequest,
	lanyard.KindNotFound:         http.StatusNotFound,
	lanyard.KindConflict:         http.StatusConflict,
	lanyard.KindUnauthenticated:  http.StatusUnauthorized,
	lanyard.KindPermissionDenied: http.StatusForbidden,
	lanyard.KindTooLarge:         http.StatusRequestEntityTooLarge,
	lanyard.KindUnavailable:      http.StatusServiceUnavailable,
	lanyard.KindInternal:         http.StatusInternalServerError,
}

// defaultCode is the ARM error code of an error that carries a kind but no code.
//
//exhaustive:enforce
var defaultCode = map[lanyard.Kind]string{
	lanyard.KindInvalid:          "InvalidRequest",
	lanyard.KindNotFound:         "ResourceNotFound",
	lanyard.KindConflict:         "Conflict",
	lanyard.KindUnauthenticated:  "AuthenticationFailed",
	lanyard.KindPermissionDenied: "AuthorizationFailed",
	lanyard.KindTooLarge:         "RequestEntityTooLarge",
	lanyard.KindUnavailable:      "ServiceUnavailable",
	lanyard.KindInternal:         "InternalServerError",
}

// statusError is an answer the API gives itself, with the status and code ARM gives it
// rather than those of an error kind (405 has no kind, for one).
type statusError struct {
	status int
	code   string
	msg    string
}

func (e *statusError) Error() string { return e.code + ": " + e.msg }

func apiError(status int, code, msg string) error { return &statusError{status, code, msg} }

// writeError is the management API's handler.Encoder: ARM's error body.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var se *statusError
	if errors.As(err, &se) {
		writeErrorBody(w, se.status, se.code, se.msg)
		return
	}
	k := lanyard.KindOf(err)
	code := lanyard.CodeOf(err)
	if code == "" {
		code = defaultCode[k]
	}
	if k == lanyard.KindInternal || errors.Is(err, context.DeadlineExceeded) {
		logger := h.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.ErrorContext(r.Context(), "management request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeErrorBody(w, status[k], code, lanyard.MessageOf(err))
}

func writeErrorBody(w http.ResponseWriter, status int, code, msg string) {
	type detail struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	w.Header().Set("x-ms-failure-cause", "gateway")
	w.Header().Set("x-ms-error-code", code)
	writeJSON(w, status, struct {
		Error detail `json:"error"`
	}{detail{code, msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// reply writes v with status, or returns err for the encoder to answer.
func (h *Handler) reply(w http.ResponseWriter, status int, v any, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}

// views renders each item with view.
func views[T, V any](items []T, view func(T) V) []V {
	out := make([]V, 0, len(items))
	for _, it := range items {
		out = append(out, view(it))
	}
	return out
}

func writeList[T any](w http.ResponseWriter, items []T) {
	writeJSON(w, http.StatusOK, struct {
		Value []T `json:"value"`
	}{items})
}

func clip(s string) string { return lanyard.Clip(s, 100) }

// clipScope bounds a scope echoed in an error: long enough for any real resource id.
func clipScope(s string) string { return lanyard.Clip(s, 512) }
