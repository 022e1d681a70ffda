package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// ManagementScope is the scope Azure credentials are asked for: the management API accepts
// tokens for ARM's audience, as Azure Resource Manager does.
const ManagementScope = "https://management.azure.com/.default"

// TokenSource gives the bearer credential presented with each call.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken is a fixed credential: the admin token.
type StaticToken string

// Token returns the token itself.
func (s StaticToken) Token(context.Context) (string, error) { return string(s), nil }

// ReadAdminToken reads the admin credential from path.
func ReadAdminToken(path string) (StaticToken, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read admin credential: %w", err)
	}
	tok := strings.TrimSpace(string(raw))
	if tok == "" {
		return "", fmt.Errorf("read admin credential: %s is empty", path)
	}
	return StaticToken(tok), nil
}

// AzureToken adapts an Azure SDK credential (azidentity's DefaultAzureCredential,
// ManagedIdentityCredential, ...): each call asks it for a management token, and the
// credential caches and refreshes as it does for any Azure client.
func AzureToken(cred azcore.TokenCredential) TokenSource { return azureToken{cred} }

type azureToken struct{ cred azcore.TokenCredential }

func (a azureToken) Token(ctx context.Context) (string, error) {
	tok, err := a.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{ManagementScope}})
	if err != nil {
		return "", fmt.Errorf("get a token for the management API: %w", err)
	}
	return tok.Token, nil
}

// Challenge is what the management API's 401 answer says about where to sign in.
type Challenge struct {
	AuthorityHost string // e.g. https://127.0.0.1:10443
	TenantID      string
}

var authorizationURI = regexp.MustCompile(`authorization_uri="?([^",\s]+)`)

// Discover asks the management API at apiURL, without a credential, where its callers
// sign in: like Azure Resource Manager, it answers 401 with a Bearer challenge whose
// authorization_uri is {authority host}/{tenant}/....
func Discover(ctx context.Context, hc *http.Client, apiURL string) (Challenge, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(apiURL, "/")+"/subscriptions?api-version="+APIVersion, nil)
	if err != nil {
		return Challenge{}, fmt.Errorf("build request: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Challenge{}, fmt.Errorf("call Lanyard at %s: %w", apiURL, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	m := authorizationURI.FindStringSubmatch(resp.Header.Get("WWW-Authenticate"))
	if resp.StatusCode != http.StatusUnauthorized || m == nil {
		return Challenge{}, fmt.Errorf("%s did not answer as a Lanyard management API (status %d, no Bearer challenge)", apiURL, resp.StatusCode)
	}
	u, err := url.Parse(m[1])
	if err != nil || u.Scheme == "" || u.Host == "" {
		return Challenge{}, fmt.Errorf("the server's challenge names authorization_uri %q, not a URL", m[1])
	}
	tenant, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if tenant == "" {
		return Challenge{}, errors.New("the server's challenge names no tenant")
	}
	return Challenge{AuthorityHost: u.Scheme + "://" + u.Host, TenantID: tenant}, nil
}
