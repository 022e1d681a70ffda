package blobapi_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/blobapi"
	"github.com/lanyard-id/lanyard/internal/token"
)

type askedAuthorizer struct {
	got           access.Request
	authenticated bool
}

func (a *askedAuthorizer) Authenticate(_ context.Context, req access.Request) (token.Claims, error) {
	a.got, a.authenticated = req, true
	return token.Claims{}, access.ErrNoToken
}

func (a *askedAuthorizer) Authorize(_ context.Context, req access.Request) (token.Claims, error) {
	a.got = req
	return token.Claims{}, access.ErrDenied
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
	err := b.Authenticate(t.Context(), r, blobapi.AccessRequest{Account: "acct", Operation: "SubmitBatch", Token: "tok"})
	if !errors.Is(err, access.ErrNoToken) || !a.authenticated {
		t.Fatalf("answer %v, authenticated %v", err, a.authenticated)
	}
	if a.got.Token != "tok" || a.got.Resource != "acct" || len(a.got.Audiences) != 3 {
		t.Fatalf("asked %+v", a.got)
	}
}
