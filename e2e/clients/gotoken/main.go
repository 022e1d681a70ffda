// Command gotoken is an app as a user would write it: it asks the unmodified Azure SDK for
// Go for a managed-identity token, then checks the token as any relying party would, with a
// standard OIDC library that knows nothing but the token's issuer URL. It prints the
// verified claims as JSON. Each run is a fresh process, so MSAL's per-process caches
// never carry over between scenarios.
//
// Usage: gotoken -resource R [-client-id ID | -resource-id ID | -object-id ID]
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/coreos/go-oidc/v3/oidc"
)

func main() {
	resource := flag.String("resource", "https://storage.azure.com", "resource to get a token for")
	clientID := flag.String("client-id", "", "user-assigned identity by client id")
	resourceID := flag.String("resource-id", "", "user-assigned identity by resource id")
	objectID := flag.String("object-id", "", "user-assigned identity by object id")
	// The SDK retries a 503 from the endpoint with backoff for about 25 s in all; a refusal
	// only reaches the caller, with its reason, if the deadline leaves room for that.
	timeout := flag.Duration("timeout", 30*time.Second, "how long to wait for the token, the SDK's retries included")
	flag.Parse()
	if err := run(*timeout, *resource, *clientID, *resourceID, *objectID); err != nil {
		fmt.Fprintln(os.Stderr, "gotoken:", err)
		os.Exit(1)
	}
}

func run(timeout time.Duration, resource, clientID, resourceID, objectID string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	opts := &azidentity.ManagedIdentityCredentialOptions{}
	switch {
	case clientID != "":
		opts.ID = azidentity.ClientID(clientID)
	case resourceID != "":
		opts.ID = azidentity.ResourceID(resourceID)
	case objectID != "":
		opts.ID = azidentity.ObjectID(objectID)
	}
	cred, err := azidentity.NewManagedIdentityCredential(opts)
	if err != nil {
		return fmt.Errorf("new credential: %w", err)
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{strings.TrimSuffix(resource, "/") + "/.default"}})
	if err != nil {
		return fmt.Errorf("get token: %w", err)
	}

	// A relying party knows only the issuer it trusts; here it takes it from the token
	// and lets discovery + JWKS decide whether the signature holds.
	iss, err := unverifiedIssuer(tok.Token)
	if err != nil {
		return err
	}
	provider, err := oidc.NewProvider(ctx, iss)
	if err != nil {
		return fmt.Errorf("discover %s: %w", iss, err)
	}
	idToken, err := provider.Verifier(&oidc.Config{ClientID: resource}).Verify(ctx, tok.Token)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	var claims map[string]any
	if err := idToken.Claims(&claims); err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"claims":    claims,
		"expiresOn": tok.ExpiresOn.Unix(),
		"refreshOn": tok.RefreshOn.Unix(),
	})
}

func unverifiedIssuer(jwt string) (string, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("token is not a JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("decode payload: %w", err)
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", fmt.Errorf("parse payload: %w", err)
	}
	return c.Iss, nil
}
