package blobapi

import (
	"context"
	"net/http"
	"time"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/token"
)

// StorageAudience is the audience the Storage SDKs request by default.
const StorageAudience = "https://storage.azure.com"

// RequestAuthorizer decides a data-plane request; *access.Authorizer is one.
type RequestAuthorizer interface {
	Authorize(ctx context.Context, req access.Request) (token.Claims, error)
	Authenticate(ctx context.Context, req access.Request) (token.Claims, error)
	Decide(ctx context.Context, claims token.Claims, req access.Request) error
	AuthorizeDelegated(ctx context.Context, principalID string, req access.Request) error
}

// Bearer is the Authorizer of Microsoft Entra bearer tokens: it asks Access, accepting
// the audiences a Storage client may use for the account.
type Bearer struct {
	Access RequestAuthorizer
	// BaseURL is the Blob endpoint's URL; BaseURL/{account} is the account's URL.
	BaseURL string
}

// Authorize authenticates the token, unless a batch's Authenticate just did for the same
// token and account (ctx says), and asks RBAC; every decision is recorded either way.
func (b *Bearer) Authorize(ctx context.Context, _ *http.Request, req AccessRequest) error {
	ar := b.request(req)
	if g, ok := ctx.Value(batchGrantKey{}).(*batchGrant); ok && g.token == req.Token && g.account == req.Account &&
		time.Now().Before(g.claims.ExpiresAt) {
		return b.Access.Decide(ctx, g.claims, ar)
	}
	claims, err := b.Access.Authorize(ctx, ar)
	if err == nil {
		NoteCaller(ctx, claims.ObjectID, claims.TenantID)
	}
	return err
}

// AuthorizeDelegated authorizes a request carrying a user delegation SAS that the
// Handler verified, as the SAS's principal (the principal still enabled, unrevoked and
// allowed by RBAC now); the decision is recorded as made by SAS.
func (b *Bearer) AuthorizeDelegated(ctx context.Context, principalID string, req AccessRequest) error {
	return b.Access.AuthorizeDelegated(ctx, principalID, b.request(req))
}

// Authenticate authenticates a batch's token (signature, lifetime, revocation, the
// principal enabled) and returns a context in which sub-requests carrying that same
// token skip doing it again: a batch lasts moments, and each sub-request is still
// authorized (RBAC) and recorded on its own.
func (b *Bearer) Authenticate(ctx context.Context, _ *http.Request, req AccessRequest) (context.Context, error) {
	claims, err := b.Access.Authenticate(ctx, b.request(req))
	if err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, batchGrantKey{}, &batchGrant{token: req.Token, account: req.Account, claims: claims}), nil
}

// batchGrant is a batch's token, authenticated for the batch's account.
type batchGrant struct {
	token, account string
	claims         token.Claims
}

type batchGrantKey struct{}

func (b *Bearer) request(req AccessRequest) access.Request {
	return access.Request{
		Resource: req.Account, Scope: req.Scope, Operation: req.Operation, Action: req.Action, DataAction: req.DataAction,
		// The default audience, or the account's own URL (ClientOptions.Audience), in the
		// path-style form Lanyard serves and the host-style form Azure uses.
		Audiences:    []string{StorageAudience, b.BaseURL + "/" + req.Account, "https://" + req.Account + ".blob.core.windows.net"},
		Token:        req.Token,
		SubOperation: req.SubOperation, Attributes: req.Attributes, Credential: req.Credential,
	}
}
