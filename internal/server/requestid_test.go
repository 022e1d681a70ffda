package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/mgmt"
	"github.com/lanyard-id/lanyard/internal/runstate"
)

// startTestServer serves a fresh server on loopback ports and returns it with a client
// that trusts its CA.
func startTestServer(t *testing.T) (*Server, *http.Client, string) {
	t.Helper()
	s, hc, admin, _ := startStoppableServer(t)
	return s, hc, admin
}

// startStoppableServer is startTestServer with a stop the caller may call before the
// test's end; stop waits until the server has shut down.
func startStoppableServer(t *testing.T) (*Server, *http.Client, string, func()) {
	t.Helper()
	f, err := config.Parse([]byte(`{"listen": {"api": "127.0.0.1:0", "msi": "127.0.0.1:0", "blob": "127.0.0.1:0"}}`))
	if err != nil {
		t.Fatal(err)
	}
	f.Home = t.TempDir()
	cfg, err := f.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	s, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(stop)
	pem, err := os.ReadFile(s.State().CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	admin, err := os.ReadFile(filepath.Join(cfg.Home, runstate.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return s, hc, strings.TrimSpace(string(admin)), stop
}

// requestIDsOf checks that resp carries the three request ids of an Azure response: its
// own x-ms-request-id, and the client's x-ms-client-request-id and
// x-ms-correlation-request-id echoed.
func requestIDsOf(resp *http.Response, client, correlation string) error {
	var missing []string
	if resp.Header.Get("x-ms-request-id") == "" {
		missing = append(missing, "x-ms-request-id")
	}
	if got := resp.Header.Get("x-ms-client-request-id"); got != client {
		missing = append(missing, "x-ms-client-request-id "+got)
	}
	if got := resp.Header.Get("x-ms-correlation-request-id"); got != correlation {
		missing = append(missing, "x-ms-correlation-request-id "+got)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%d: wrong or missing %s", resp.StatusCode, strings.Join(missing, ", "))
	}
	return nil
}

// Every response of every listener carries the request ids, the management API's for
// each of its routes and methods, whatever the answer (a success, ARM's error, a 405).
func TestEveryResponseCarriesRequestIDs(t *testing.T) {
	s, hc, admin := startTestServer(t)
	st := s.State()
	sub := "/subscriptions/" + st.SubscriptionID
	send := func(method, url, auth string, n int) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		client := fmt.Sprintf("client-%d", n)
		req.Header.Set("x-ms-client-request-id", client)
		req.Header.Set("x-ms-correlation-request-id", fmt.Sprintf("correlation-%d", n))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp, client
	}
	n := 0
	check := func(method, url, auth string) {
		t.Helper()
		n++
		resp, client := send(method, url, auth, n)
		if err := requestIDsOf(resp, client, fmt.Sprintf("correlation-%d", n)); err != nil {
			t.Errorf("%s %s: %v", method, url, err)
		}
	}
	routes := (&mgmt.Handler{}).Routes()
	if len(routes) < 40 {
		t.Fatalf("only %d management routes", len(routes))
	}
	for _, rt := range routes {
		path := strings.Replace(rt.Pattern, "{scope}", sub, 1)
		path = strings.Replace(path, "subscriptions/{}", strings.TrimPrefix(sub, "/"), 1)
		path = strings.ReplaceAll(path, "{}", "x1")
		check(rt.Method, st.APIURL+path+"?api-version=2023-01-31", admin)
	}
	check("GET", st.APIURL+sub+"/resourceGroups?api-version=2023-01-31", "")             // 401
	check("PATCH", st.APIURL+sub+"/resources?api-version=2023-01-31", admin)             // 405
	check("GET", st.APIURL+"/"+st.TenantID+"/v2.0/.well-known/openid-configuration", "") // the authority
	check("POST", st.APIURL+"/"+st.TenantID+"/oauth2/v2.0/token", "")                    // its error
	check("GET", st.APIURL+"/healthz", "")
	check("GET", st.APIURL+"/metrics", "")
	check("GET", st.MSIURL+"/msi/token?api-version=2019-08-01&resource=https://storage.azure.com", "")
	check("GET", st.BlobURL+"/acct1/data?restype=container", "")
	check("GET", st.BlobURL+"/acct1/data?restype=container", admin)

	// Without a correlation id of its own, a request starts one: its request id.
	req, _ := http.NewRequest("GET", st.APIURL+sub+"?api-version=2023-01-31", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if id := resp.Header.Get("x-ms-request-id"); id == "" || resp.Header.Get("x-ms-correlation-request-id") != id || resp.Header.Get("x-ms-client-request-id") != "" {
		t.Errorf("ids of a request that sent none: %v", resp.Header)
	}
}

// The authorization_uri of the Blob and management 401 challenges answers (with OAuth's
// unsupported_response_type: Lanyard signs no one in interactively), rather than 404.
func TestChallengeAuthorizationURIAnswers(t *testing.T) {
	s, hc, admin := startTestServer(t)
	st := s.State()
	for _, path := range []string{"/resourceGroups/demo", "/resourceGroups/demo/providers/Microsoft.Storage/storageAccounts/acct1"} {
		req, _ := http.NewRequest("PUT", st.APIURL+"/subscriptions/"+st.SubscriptionID+path+"?api-version=2023-01-31", strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("PUT %s: %d", path, resp.StatusCode)
		}
	}
	for _, url := range []string{st.BlobURL + "/acct1/data?restype=container", st.APIURL + "/subscriptions/" + st.SubscriptionID + "?api-version=2023-01-31"} {
		resp, err := hc.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		challenge := resp.Header.Get("WWW-Authenticate")
		_, rest, ok := strings.Cut(challenge, "authorization_uri=")
		uri, _, _ := strings.Cut(strings.Trim(rest, `"`), `"`)
		uri, _, _ = strings.Cut(uri, " ")
		if resp.StatusCode != http.StatusUnauthorized || !ok || !strings.HasPrefix(uri, st.APIURL+"/"+st.TenantID+"/") {
			t.Fatalf("%s: %d, challenge %q", url, resp.StatusCode, challenge)
		}
		res, err := hc.Get(uri + "?response_type=code&client_id=x")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"unsupported_response_type"`) {
			t.Errorf("authorization_uri %s: %d %s", uri, res.StatusCode, body)
		}
	}
}

// A caller's W3C traceparent is accepted on every listener, and its trace id reaches the
// audit events of the request.
func TestTraceparentReachesTheAuditTrail(t *testing.T) {
	s, hc, admin := startTestServer(t)
	st := s.State()
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest("PUT", st.APIURL+"/subscriptions/"+st.SubscriptionID+"/resourceGroups/traced?api-version=2023-01-31", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	rid := resp.Header.Get("x-ms-request-id")
	if resp.StatusCode != http.StatusCreated || rid == "" {
		t.Fatalf("PUT group: %d", resp.StatusCode)
	}
	eventually(t, "the change's audit event", func() (bool, string) {
		req, _ := http.NewRequest("GET", st.APIURL+mgmt.AuditEventsPath+"?api-version=2023-01-31&requestId="+rid, nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(body), `"traceId":"`+traceID+`"`), string(body)
	})
}
