package blobapi_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/blobapi"
	"github.com/lanyard-id/lanyard/internal/token"
)

type askedAuthorizer struct {
	got           access.Request
	authenticated bool
	// claims, when set, authenticate every token; otherwise none authenticates.
	claims *token.Claims
	// calls lists what was asked: "authenticate", "authorize", "decide".
	calls   []string
	decided token.Claims
}

func (a *askedAuthorizer) Authenticate(_ context.Context, req access.Request) (token.Claims, error) {
	a.got, a.authenticated = req, true
	a.calls = append(a.calls, "authenticate")
	if a.claims != nil {
		return *a.claims, nil
	}
	return token.Claims{}, access.ErrNoToken
}

func (a *askedAuthorizer) Authorize(_ context.Context, req access.Request) (token.Claims, error) {
	a.got = req
	a.calls = append(a.calls, "authorize")
	return token.Claims{}, access.ErrDenied
}

func (a *askedAuthorizer) Decide(_ context.Context, claims token.Claims, req access.Request) error {
	a.got, a.decided = req, claims
	a.calls = append(a.calls, "decide")
	return access.ErrDenied
}

func (a *askedAuthorizer) AuthorizeDelegated(_ context.Context, principalID string, req access.Request) error {
	a.got, a.decided = req, token.Claims{ObjectID: principalID}
	a.calls = append(a.calls, "delegated")
	return access.ErrDenied
}

// TestBearerAsks: Bearer passes the request on with the audiences a Storage client may
// use for the account, and returns the answer as is.
func TestBearerAsks(t *testing.T) {
	a := &askedAuthorizer{}
	b := &blobapi.Bearer{Access: a, BaseURL: "https://127.0.0.1:10000"}
	req := blobapi.AccessRequest{Account: "acct", Container: "c", Blob: "b", Operation: "PutBlob", Action: blobapi.ActionBlobsWrite,
		DataAction: true, Scope: "blobServices/default/containers/c/blobs/b", Token: "tok"}
	r, _ := http.NewRequest(http.MethodPut, "https://127.0.0.1:10000/acct/c/b", nil)
	if err := b.Authorize(t.Context(), r, req); !errors.Is(err, access.ErrDenied) {
		t.Fatalf("answer %v, want access.ErrDenied", err)
	}
	want := access.Request{Resource: "acct", Scope: req.Scope, Operation: "PutBlob", Action: req.Action, DataAction: true, Token: "tok",
		Audiences: []string{"https://storage.azure.com", "https://127.0.0.1:10000/acct", "https://acct.blob.core.windows.net"}}
	if !slices.Equal(a.got.Audiences, want.Audiences) {
		t.Errorf("audiences %q, want %q", a.got.Audiences, want.Audiences)
	}
	if g := a.got; g.Resource != want.Resource || g.Scope != want.Scope || g.Operation != want.Operation || g.Action != want.Action ||
		g.DataAction != want.DataAction || g.Token != want.Token {
		t.Errorf("asked %+v, want %+v", a.got, want)
	}
}

// TestBearerAuthenticates: Authenticate asks for the token alone, with the same audiences.
func TestBearerAuthenticates(t *testing.T) {
	a := &askedAuthorizer{}
	b := &blobapi.Bearer{Access: a, BaseURL: "https://127.0.0.1:10000"}
	r, _ := http.NewRequest(http.MethodPost, "https://127.0.0.1:10000/acct/?comp=batch", nil)
	_, err := b.Authenticate(t.Context(), r, blobapi.AccessRequest{Account: "acct", Operation: "SubmitBatch", Token: "tok"})
	if !errors.Is(err, access.ErrNoToken) || !a.authenticated {
		t.Fatalf("answer %v, authenticated %v", err, a.authenticated)
	}
	if a.got.Token != "tok" || a.got.Resource != "acct" || len(a.got.Audiences) != 3 {
		t.Fatalf("asked %+v", a.got)
	}
}

// TestBearerBatchGrant: in the context a batch's Authenticate returns, a sub-request with
// the batch's token and account is only decided (RBAC and audit) on the claims already
// verified; any other token or account, or a token expired since, is authorized in full.
func TestBearerBatchGrant(t *testing.T) {
	claims := token.Claims{ObjectID: "oid", UTI: "uti", ExpiresAt: time.Now().Add(time.Hour)}
	a := &askedAuthorizer{claims: &claims}
	b := &blobapi.Bearer{Access: a, BaseURL: "https://127.0.0.1:10000"}
	r, _ := http.NewRequest(http.MethodPost, "https://127.0.0.1:10000/acct/?comp=batch", nil)
	ctx, err := b.Authenticate(t.Context(), r, blobapi.AccessRequest{Account: "acct", Operation: "SubmitBatch", Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	sub := blobapi.AccessRequest{Account: "acct", Container: "c", Blob: "b", Operation: "DeleteBlob", Action: blobapi.ActionBlobsDelete,
		DataAction: true, Scope: "blobServices/default/containers/c/blobs/b", Token: "tok"}
	a.calls = nil
	if err := b.Authorize(ctx, r, sub); !errors.Is(err, access.ErrDenied) {
		t.Fatalf("answer %v, want the decision's", err)
	}
	if !slices.Equal(a.calls, []string{"decide"}) || a.decided.UTI != "uti" || a.got.Action != blobapi.ActionBlobsDelete || a.got.Scope != sub.Scope {
		t.Fatalf("calls %v, decided %+v on %+v", a.calls, a.decided, a.got)
	}
	other := sub
	other.Token = "another"
	otherAcct := sub
	otherAcct.Account = "acct2"
	for _, req := range []blobapi.AccessRequest{other, otherAcct} {
		a.calls = nil
		b.Authorize(ctx, r, req)
		if !slices.Equal(a.calls, []string{"authorize"}) {
			t.Errorf("%s/%s: calls %v, want a full authorization", req.Account, req.Token, a.calls)
		}
	}
	claims.ExpiresAt = time.Now().Add(-time.Second)
	ctx, _ = b.Authenticate(t.Context(), r, blobapi.AccessRequest{Account: "acct", Operation: "SubmitBatch", Token: "tok"})
	a.calls = nil
	b.Authorize(ctx, r, sub)
	if !slices.Equal(a.calls, []string{"authorize"}) {
		t.Errorf("expired: calls %v, want a full authorization", a.calls)
	}
	a.calls = nil
	b.Authorize(t.Context(), r, sub)
	if !slices.Equal(a.calls, []string{"authorize"}) {
		t.Errorf("outside a batch: calls %v", a.calls)
	}
}
