// Package client calls Lanyard's management API over HTTPS, trusting Lanyard's CA and
// presenting a bearer credential: the admin credential from the data folder, or a token
// from any Azure SDK credential (see credential.go). The CLI is built on it.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/runstate"
)

// APIVersion is sent with every call.
const APIVersion = "2023-01-31"

// Client talks to one server.
type Client struct {
	apiURL         string
	subscriptionID string
	tenantID       string
	cred           TokenSource
	http           *http.Client
}

// Config says which server a Client calls and how it authenticates.
type Config struct {
	APIURL         string // the management API, e.g. https://127.0.0.1:10443
	SubscriptionID string
	TenantID       string
	Credential     TokenSource
	// HTTP is the client calls go through; HTTPClient builds one that trusts a pinned CA.
	HTTP *http.Client
}

// Error is an ARM error returned by the server.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("(%s) %s", e.Code, e.Message) }

// Open returns a client for the server whose data folder is home, presenting the admin
// credential kept there.
func Open(home string) (*Client, error) {
	st, err := runstate.Read(home)
	if err != nil {
		return nil, err
	}
	tok, err := ReadAdminToken(filepath.Join(home, runstate.AdminTokenFile))
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(st.CAFile)
	if err != nil {
		return nil, fmt.Errorf("read Lanyard CA: %w", err)
	}
	hc, err := HTTPClient(caPEM)
	if err != nil {
		return nil, fmt.Errorf("read Lanyard CA %s: %w", st.CAFile, err)
	}
	return New(Config{APIURL: st.APIURL, SubscriptionID: st.SubscriptionID, TenantID: st.TenantID, Credential: tok, HTTP: hc})
}

// New returns a client for the server cfg names.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.APIURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("server URL %q is not an absolute URL", cfg.APIURL)
	}
	if cfg.Credential == nil || cfg.HTTP == nil {
		return nil, errors.New("client: a credential and an HTTP client are required")
	}
	return &Client{apiURL: strings.TrimSuffix(cfg.APIURL, "/"), subscriptionID: cfg.SubscriptionID, tenantID: cfg.TenantID, cred: cfg.Credential, http: cfg.HTTP}, nil
}

// HTTPClient returns an HTTP client that trusts caPEM, or the system roots (which honour
// SSL_CERT_FILE) when caPEM is empty. It never uses a proxy: Lanyard is usually on loopback
// or the local network, and the admin credential must not pass through a proxy.
func HTTPClient(caPEM []byte) (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("no PEM certificate found")
		}
		cfg.RootCAs = pool
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, Proxy: nil}, Timeout: 30 * time.Second}, nil
}

// HTTPClient returns the HTTP client calls go through, which trusts the server's CA.
func (c *Client) HTTPClient() *http.Client { return c.http }

// APIURL returns the management API's URL.
func (c *Client) APIURL() string { return c.apiURL }

// SubscriptionID returns the default subscription's id.
func (c *Client) SubscriptionID() string { return c.subscriptionID }

// TenantID returns the server's tenant id.
func (c *Client) TenantID() string { return c.tenantID }

// Subscription returns the default subscription's id path.
func (c *Client) Subscription() string { return "/subscriptions/" + c.subscriptionID }

// Do calls method on path (a resource id, optionally with a query, or an absolute URL on
// the server such as a nextLink) with body as JSON and decodes the response into out
// (when non-nil).
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	_, err := c.do(ctx, method, path, body, out)
	return err
}

// Delete deletes the resource at path and reports whether it was there: ARM answers 204
// No Content, and no error, for what was already gone.
func (c *Client) Delete(ctx context.Context, path string) (bool, error) {
	status, err := c.do(ctx, http.MethodDelete, path, nil, nil)
	return err == nil && status != http.StatusNoContent, err
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) (int, error) {
	target, err := c.target(path)
	if err != nil {
		return 0, err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	tok, err := c.cred.Token(ctx)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("call Lanyard at %s: %w", c.apiURL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error.Code == "" {
			return resp.StatusCode, &Error{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode), Message: strings.TrimSpace(string(raw))}
		}
		return resp.StatusCode, &Error{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	if out != nil && len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode response: %w", err)
		}
	}
	return resp.StatusCode, nil
}

// target is the URL Do calls for path. An absolute URL must be on the server itself: the
// admin credential goes with every call, so a nextLink naming another host is refused.
func (c *Client) target(path string) (string, error) {
	u, err := url.Parse(path)
	if err != nil {
		return "", fmt.Errorf("call %q: %w", path, err)
	}
	if !u.IsAbs() {
		u, err = url.Parse(c.apiURL + path)
		if err != nil {
			return "", fmt.Errorf("call %q: %w", path, err)
		}
	} else if api, err := url.Parse(c.apiURL); err != nil || !strings.EqualFold(u.Scheme, api.Scheme) || !strings.EqualFold(u.Host, api.Host) {
		return "", fmt.Errorf("refusing to call %s: it is not on the Lanyard server at %s", u.Redacted(), c.apiURL)
	}
	if !u.Query().Has("api-version") {
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += "api-version=" + APIVersion
	}
	return u.String(), nil
}

// Pages GETs the list at path and then each page its nextLink names, passing every page's
// items to fn, until the last page or until fn returns false.
func (c *Client) Pages(ctx context.Context, path string, fn func(items []map[string]any) bool) error {
	seen := map[string]bool{}
	for path != "" {
		if seen[path] {
			return fmt.Errorf("list %s: the server repeated a nextLink", path)
		}
		seen[path] = true
		var page struct {
			Value    []map[string]any `json:"value"`
			NextLink string           `json:"nextLink"`
		}
		if err := c.Do(ctx, http.MethodGet, path, nil, &page); err != nil {
			return err
		}
		if !fn(page.Value) {
			return nil
		}
		path = page.NextLink
	}
	return nil
}

// List GETs every page of the list at path and returns all their items.
func (c *Client) List(ctx context.Context, path string) ([]map[string]any, error) {
	all := []map[string]any{}
	err := c.Pages(ctx, path, func(items []map[string]any) bool {
		all = append(all, items...)
		return true
	})
	return all, err
}
