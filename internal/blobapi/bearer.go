package blobapi

import (
	"context"
	"net/http"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/token"
)

// StorageAudience is the audience the Storage SDKs request by default.
const StorageAudience = "https://storage.azure.com"

// RequestAuthorizer decides a data-plane request; *access.Authorizer is one.
type RequestAuthorizer interface {
	Authorize(ctx context.Context, req access.Request) (token.Claims, error)
	Authenticate(ctx context.Context, req access.Request) (token.Claims, error)
}

// Bearer is the Authorizer of Microsoft Entra bearer tokens: it asks Access, accepting
// the audiences a Storage client may use for the account.
type Bearer struct {
	Access RequestAuthorizer
	// BaseURL is the Blob endpoint's URL; BaseURL/{account} is the account's URL.
	BaseURL string
}

func (b *Bearer) Authorize(ctx context.Context, _ *http.Request, req AccessRequest) error {
	_, err := b.Access.Authorize(ctx, b.request(req))
	return err
}

func (b *Bearer) Authenticate(ctx context.Context, _ *http.Request, req AccessRequest) error {
	_, err := b.Access.Authenticate(ctx, b.request(req))
	return err
}

func (b *Bearer) request(req AccessRequest) access.Request {
	return access.Request{
		Resource: req.Account, Scope: req.Scope, Operation: req.Operation, Action: req.Action, DataAction: req.DataAction,
		// The default audience, or the account's own URL (ClientOptions.Audience), in the
		// path-style form Lanyard serves and the host-style form Azure uses.
		Audiences: []string{StorageAudience, b.BaseURL + "/" + req.Account, "https://" + req.Account + ".blob.core.windows.net"},
		Token:     req.Token,
	}
}
