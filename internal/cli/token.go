package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/client"
)

func tokenCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Get access tokens"}
	var (
		t        target
		resource string
		clientID string
	)
	get := &cobra.Command{Use: "get", Short: "Get a token for an app's identity, as the app would (like az account get-access-token)", Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			return checkResource(resource)
		},
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			vars, err := appEnvironment(cmd.Context(), api, t)
			if err != nil {
				return err
			}
			// Ask the managed-identity endpoint exactly as an SDK in the app would.
			q := url.Values{"api-version": {"2019-08-01"}, "resource": {resource}}
			if clientID != "" {
				q.Set("client_id", clientID)
			}
			req, err := http.NewRequestWithContext(cmd.Context(), "GET", vars["IDENTITY_ENDPOINT"]+"?"+q.Encode(), nil)
			if err != nil {
				return fmt.Errorf("build token request: %w", err)
			}
			req.Header.Set("X-IDENTITY-HEADER", vars["IDENTITY_HEADER"])
			resp, err := api.HTTPClient().Do(req)
			if err != nil {
				return fmt.Errorf("call the managed-identity endpoint: %w", err)
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if err != nil {
				return fmt.Errorf("read token response: %w", err)
			}
			if resp.StatusCode != http.StatusOK {
				var failure struct {
					Message string `json:"message"`
				}
				_ = json.Unmarshal(raw, &failure)
				return fmt.Errorf("the managed-identity endpoint answered %d: %s", resp.StatusCode, failure.Message)
			}
			var tok struct {
				AccessToken string `json:"access_token"`
				ExpiresOn   string `json:"expires_on"`
				TokenType   string `json:"token_type"`
			}
			if err := json.Unmarshal(raw, &tok); err != nil {
				return fmt.Errorf("decode token response: %w", err)
			}
			exp, _ := strconv.ParseInt(tok.ExpiresOn, 10, 64)
			return e.print(nil, map[string]any{
				"accessToken":  tok.AccessToken,
				"expiresOn":    time.Unix(exp, 0).Format("2006-01-02 15:04:05.000000"),
				"expires_on":   exp,
				"subscription": api.SubscriptionID(),
				"tenant":       api.TenantID(),
				"tokenType":    tok.TokenType,
			})
		})}
	get.Flags().StringVarP(&t.group, "resource-group", "g", "", "resource group of the app")
	get.Flags().StringVarP(&t.name, "name", "n", "", "app name")
	get.Flags().StringVar(&resource, "resource", "https://management.azure.com/", "resource (audience) of the token")
	get.Flags().StringVar(&clientID, "client-id", "", "client id of a user-assigned identity (default: the system-assigned one)")
	_ = get.MarkFlagRequired("resource-group")
	_ = get.MarkFlagRequired("name")
	cmd.AddCommand(get, tokenRevokeCmd(e))
	return cmd
}

// wellKnownResources are the resource URIs people most often mean by a short name.
var wellKnownResources = map[string]string{
	"storage":    "https://storage.azure.com/",
	"blob":       "https://storage.azure.com/",
	"management": "https://management.azure.com/",
	"arm":        "https://management.azure.com/",
	"vault":      "https://vault.azure.net",
	"keyvault":   "https://vault.azure.net",
	"graph":      "https://graph.microsoft.com/",
}

// checkResource explains that a token's resource is a URI (or an app's GUID), which a
// short name such as "storage" is not; the endpoint would refuse it less helpfully.
func checkResource(resource string) error {
	if isGUID(resource) {
		return nil
	}
	if u, err := url.Parse(resource); err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "") {
		return nil
	}
	msg := fmt.Sprintf("--resource %q is not a URI: a token's resource (its audience) is a URI such as https://storage.azure.com/ for Blob Storage or https://management.azure.com/ for the management API", resource)
	if uri, ok := wellKnownResources[strings.ToLower(strings.TrimSpace(resource))]; ok {
		msg += fmt.Sprintf("; did you mean --resource %s?", uri)
	}
	return errors.New(msg)
}
