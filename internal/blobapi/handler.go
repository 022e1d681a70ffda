package blobapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/handler"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// DefaultResourceID is the resource_id of the bearer challenge: the audience the SDKs
// request tokens for by default.
const DefaultResourceID = "https://storage.azure.com"

// Handler serves the Blob REST API for paths /{account}/... .
type Handler struct {
	Service  *blob.Service
	Auth     Authorizer
	Accounts AccountLookup
	Logger   *slog.Logger
	// AuthorizationURI is the authorization_uri of the 401 challenge, e.g.
	// https://127.0.0.1:10443/{tenant-uuid}/oauth2/authorize. Its first path segment
	// must be the tenant id: the Go SDK panics without one and the JS SDK needs a UUID.
	// 401 answers carry no challenge when it is empty.
	AuthorizationURI string
	// ResourceID is the resource_id of the challenge; DefaultResourceID when empty.
	ResourceID string
	// UserDelegation serves Get User Delegation Key and the SAS signed with its keys, which
	// Auth must then authorize (a DelegatedAuthorizer); nil refuses both.
	UserDelegation *UserDelegation
	// Settings keeps the accounts' Blob service settings (CORS, container soft delete);
	// nil answers Get and Set Blob Service Properties 501, applies no CORS rules and
	// keeps no deleted containers.
	Settings ServiceSettings
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

func (h *Handler) resourceID() string {
	if h.ResourceID == "" {
		return DefaultResourceID
	}
	return h.ResourceID
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := requestID(r)
	sw := handler.Wrap(w)
	hdr := w.Header()
	hdr.Set("x-ms-request-id", rid)
	if cid := r.Header.Get("x-ms-client-request-id"); cid != "" && len(cid) <= 1024 {
		hdr.Set("x-ms-client-request-id", cid)
	}
	defer func() {
		if p := recover(); p != nil {
			if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(p)
			}
			h.logger().Error("blobapi: panic", "request_id", rid, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !sw.Written() {
				h.writeError(sw, r, rid, lanyard.Errorf(lanyard.KindInternal, "panic"))
			}
		}
	}()
	handler.Run(sw, r, func(w http.ResponseWriter, r *http.Request) error {
		err := h.serve(w, r, rid)
		if err != nil && sw.Written() {
			// Run cuts the response short; the status line is gone.
			h.logger().Debug("blobapi: failed after responding", "request_id", rid, "err", err)
		}
		return err
	}, func(w http.ResponseWriter, r *http.Request, err error) { h.writeError(w, r, rid, err) })
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, rid string) error {
	version, verr := checkVersion(r)
	w.Header().Set("x-ms-version", version)
	if verr != nil {
		return verr
	}
	account, container, blobName, ok := splitPath(r.URL.Path)
	if !ok {
		return errInvalidURI()
	}
	// Account names are lowercase, and the segment stands for a host name, which is
	// case-insensitive: /ACCT1 and /acct1 are one account. Lowered before anything uses
	// it (lookup, storage keys, RBAC scope, audit), so that no case variant names a
	// namespace of its own, one that would outlive the account's deletion.
	ctx := r.Context()
	ep, err := h.resolveAccount(ctx, strings.ToLower(account))
	if err != nil {
		return err
	}
	account = ep.account
	if r.Method == http.MethodOptions {
		return h.preflight(w, r, account)
	}
	h.setCORS(w, r, account)
	t := &target{account: account, sku: ep.sku, secondary: ep.secondary, container: container, blob: blobName, rid: rid, query: r.URL.Query()}
	op, err := route(r, t)
	if err != nil {
		return err
	}
	if t.secondary && !readOnly(r) {
		return errSecondaryWrite()
	}
	if t.query.Has("sig") {
		return h.serveSAS(w, r, t, op)
	}
	token, err := bearerToken(r)
	if err != nil {
		return err
	}
	req := AccessRequest{
		Account: account, Container: t.container, Blob: t.blob,
		Operation: op.name, Action: op.action, DataAction: op.data,
		Scope: scopeOf(t.container, t.blob), Token: token,
		SubOperation: tagSubOperation(r, op),
	}
	if t.blob != "" {
		req.Attributes = h.blobTagAttributes(r, t, op)
	}
	if op == opSubmitBatch {
		// Its sub-requests are authorized one by one; the batch needs a valid token
		// before its body is read.
		bctx, err := h.Auth.Authenticate(ctx, r, req)
		if err != nil {
			return err
		}
		return h.submitBatch(w, r.WithContext(bctx), t)
	}
	if op == opGetUserDelegationKey {
		// The key is the caller's: Authorize notes who that is.
		ctx = context.WithValue(ctx, principalNoteKey{}, &principalNote{})
		r = r.WithContext(ctx)
	}
	if err := authorizeOrAdd(req, t, op, func(req AccessRequest) error { return h.Auth.Authorize(ctx, r, req) }); err != nil {
		return err
	}
	return op.run(h, w, r, t)
}

// authorizeOrAdd asks allow for req, and when it denies an operation that adding
// allows, asks again with add/action, noting in t that the caller may only create.
func authorizeOrAdd(req AccessRequest, t *target, op *operation, allow func(AccessRequest) error) error {
	err := allow(req)
	if err == nil {
		return nil
	}
	// Put Blob may also create (never replace) a blob with add/action, and Append
	// Block may append with it.
	if !addAllowed[op] || lanyard.KindOf(err) != lanyard.KindPermissionDenied {
		return err
	}
	req.Action = ActionBlobsAdd
	if allow(req) != nil {
		return err
	}
	t.createOnly = op != opAppendBlock
	return nil
}
