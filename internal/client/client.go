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

// Do calls method on path (a resource id, optionally with a query) with body as JSON and
// decodes the response into out (when non-nil).
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	req, err := http.NewRequestWithContext(ctx, method, c.State.APIURL+path+sep+"api-version="+APIVersion, rd)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("call Lanyard at %s: %w", c.State.APIURL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error.Code == "" {
			return &Error{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode), Message: strings.TrimSpace(string(raw))}
		}
		return &Error{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	if out != nil && len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decode response: %w", err)
		}
	}
	return nil
}
