// Package msi serves the managed-identity endpoint: the App Service protocol
// (IDENTITY_ENDPOINT + X-IDENTITY-HEADER) and the IMDS protocol (reached through
// AZURE_POD_IDENTITY_AUTHORITY_HOST). Both identify the calling app by its identity header,
// pick one of the app's identities and return a token for the requested resource, in the
// response and error shapes the real endpoints use.
package msi

import (
	"context"
	"time"

	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Paths the endpoint serves.
const (
	AppServicePath = "/msi/token"
	// IMDSPrefix is followed by the app's identity header and the IMDS token path, because
	// the IMDS protocol carries no secret of its own: the SDKs append
	// /metadata/identity/oauth2/token to AZURE_POD_IDENTITY_AUTHORITY_HOST.
	IMDSPrefix    = "/imds/"
	IMDSTokenPath = "/metadata/identity/oauth2/token"
)

// Apps is what the endpoint needs of the directory.
type Apps interface {
	AuthenticateApp(ctx context.Context, header string) (lanyard.App, error)
	ResolveIdentity(ctx context.Context, app lanyard.App, sel directory.Selector) (lanyard.Identity, error)
}

// Minter issues access tokens.
type Minter interface {
	Mint(ctx context.Context, id lanyard.Identity, resource string) (Minted, error)
}

// Minted is an issued access token.
type Minted struct {
	AccessToken string
	UTI         string
	IssuedAt    time.Time
	ExpiresAt   time.Time
}

// Limits on request inputs.
const (
	maxQueryLength = 4096
	maxParamLength = 1024
)
