// Package client calls Lanyard's management API over HTTPS, trusting Lanyard's CA and
// presenting the admin credential from the data folder. The CLI is built on it.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
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
	State runstate.State
	token string
	http  *http.Client
}

// Error is an ARM error returned by the server.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("(%s) %s", e.Code, e.Message) }

// Open returns a client for the server whose data folder is home.
func Open(home string) (*Client, error) {
	st, err := runstate.Read(home)
	if err != nil {
		return nil, err
	}
	tok, err := os.ReadFile(filepath.Join(home, runstate.AdminTokenFile))
	if err != nil {
		return nil, fmt.Errorf("read admin credential: %w", err)
	}
	caPEM, err := os.ReadFile(st.CAFile)
	if err != nil {
		return nil, fmt.Errorf("read Lanyard CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("read Lanyard CA %s: no certificate found", st.CAFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, Proxy: nil}
	return &Client{State: st, token: strings.TrimSpace(string(tok)), http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}, nil
}

// HTTPClient returns an HTTP client that trusts Lanyard's CA.
func (c *Client) HTTPClient() *http.Client { return c.http }

// Subscription returns the default subscription's id path.
func (c *Client) Subscription() string { return "/subscriptions/" + c.State.SubscriptionID }

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
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("call Lanyard at %s: %w", c.State.APIURL, err)
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
		u, err = url.Parse(c.State.APIURL + path)
		if err != nil {
			return "", fmt.Errorf("call %q: %w", path, err)
		}
	} else if api, err := url.Parse(c.State.APIURL); err != nil || !strings.EqualFold(u.Scheme, api.Scheme) || !strings.EqualFold(u.Host, api.Host) {
		return "", fmt.Errorf("refusing to call %s: it is not on the Lanyard server at %s", u.Redacted(), c.State.APIURL)
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
