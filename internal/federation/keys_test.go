package federation

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Issuers whose metadata cannot be had are refused quickly, with IssuerMetadataUnavailable
// and one message whatever went wrong; why is in the error's cause, for the log.
func TestIssuerMetadataFailures(t *testing.T) {
	const timeout = 300 * time.Millisecond
	closedPort := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return "https://" + addr
	}
	stall := func(w http.ResponseWriter, r *http.Request) bool {
		// Slower than the fetch timeout, but never longer than the request lives.
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		panic(http.ErrAbortHandler) // no answer at all, not an empty one
	}
	body := func(status int, s string) func(w http.ResponseWriter, r *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(s))
			return true
		}
	}
	huge := func(w http.ResponseWriter, r *http.Request) bool {
		// No Content-Length: the limit must hold while reading, not only on the header.
		chunk := []byte(`{"keys":[` + strings.Repeat(" ", 64<<10))
		for range 40 {
			if _, err := w.Write(chunk); err != nil {
				break
			}
			w.(http.Flusher).Flush()
		}
		return true
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, iss *testIssuer) string // returns the issuer to trust; "" for iss.url
		want  string                                     // a fragment of the cause
	}{
		{"unreachable (closed port)", func(t *testing.T, _ *testIssuer) string { return closedPort(t) }, "unreachable"},
		{"slow discovery", func(t *testing.T, iss *testIssuer) string { iss.discovery = stall; return "" }, "timed out"},
		{"slow key set", func(t *testing.T, iss *testIssuer) string { iss.jwks = stall; return "" }, "timed out"},
		{"huge discovery (Content-Length)", func(t *testing.T, iss *testIssuer) string {
			iss.discovery = body(200, `{"issuer":"x","pad":"`+strings.Repeat("x", 2<<20)+`"}`)
			return ""
		}, "larger than"},
		{"huge key set (streamed)", func(t *testing.T, iss *testIssuer) string { iss.jwks = huge; return "" }, "larger than"},
		{"malformed discovery", func(t *testing.T, iss *testIssuer) string {
			iss.discovery = body(200, `{"issuer": "https://x", `)
			return ""
		}, "not valid JSON"},
		{"malformed key set", func(t *testing.T, iss *testIssuer) string { iss.jwks = body(200, `<html>keys</html>`); return "" }, "not valid JSON"},
		{"discovery not found", func(t *testing.T, iss *testIssuer) string { iss.discovery = body(404, `{}`); return "" }, "HTTP 404"},
		{"key set with no usable key", func(t *testing.T, iss *testIssuer) string {
			iss.jwks = body(200, `{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"},{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"},{"kty":"nope"}]}`)
			return ""
		}, "no usable signing key"},
		{"discovery naming another issuer", func(t *testing.T, iss *testIssuer) string { iss.docIssuer = "https://attacker.example"; return "" }, "names the issuer"},
		{"jwks_uri over http", func(t *testing.T, iss *testIssuer) string {
			iss.discovery = body(200, `{"issuer":"`+iss.url+`","jwks_uri":"http://127.0.0.1:1/keys"}`)
			return ""
		}, "no https jwks_uri"},
		{"redirect to http", func(t *testing.T, iss *testIssuer) string {
			iss.discovery = func(w http.ResponseWriter, r *http.Request) bool {
				http.Redirect(w, r, "http://127.0.0.1:1/.well-known/openid-configuration", http.StatusFound)
				return true
			}
			return ""
		}, "unreachable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			iss := newTestIssuer(t, "")
			issuer := iss.url
			iss.mu.Lock()
			if u := tc.setup(t, iss); u != "" {
				issuer = u
			}
			iss.mu.Unlock()
			c := newClock()
			// Only the stalls wait for the fetch timeout; the other failures get room to
			// happen on a loaded machine before it (a 2 MiB body over TLS under -race).
			fetchTimeout := 10 * time.Second
			if tc.want == "timed out" {
				fetchTimeout = timeout
			}
			k := &IssuerKeys{Client: iss.client(), Now: c.Now, FetchTimeout: fetchTimeout}
			v := &Validator{Keys: k, Now: c.Now}
			raw := iss.sign("rsa-1", githubClaims(issuer, c.Now()))
			creds := []lanyard.FederatedCredential{credential("c", issuer, "repo:org/repo:ref:refs/heads/main")}
			start := time.Now()
			_, err := v.Validate(t.Context(), creds, raw)
			if elapsed := time.Since(start); elapsed > fetchTimeout+5*time.Second {
				t.Errorf("refusal took %v", elapsed)
			}
			wantCode(t, tc.name, err, CodeIssuerUnavailable)
			if lanyard.KindOf(err) != lanyard.KindUnavailable {
				t.Errorf("kind = %v, want unavailable", lanyard.KindOf(err))
			}
			if msg := lanyard.MessageOf(err); msg != IssuerUnavailableMessage {
				t.Errorf("message %q, want %q", msg, IssuerUnavailableMessage)
			}
			if cause := errors.Unwrap(err); cause == nil || !strings.Contains(cause.Error(), tc.want) {
				t.Errorf("cause %v does not say %q", cause, tc.want)
			}
			// A failed fetch is not retried at once: a stream of requests cannot turn
			// into a stream of fetches.
			hits := iss.fetches()
			for range 5 {
				_, err = v.Validate(t.Context(), creds, raw)
				wantCode(t, tc.name+" again", err, CodeIssuerUnavailable)
			}
			if iss.fetches() != hits || k.Fetches() != 1 {
				t.Errorf("%d more requests reached the issuer (%d fetches); want none", iss.fetches()-hits, k.Fetches())
			}
		})
	}
}

// A kid the cache lacks makes one refresh, no more often than MinRefresh; a rotation the
// issuer publishes is then picked up.
func TestUnknownKeyRefreshIsRateLimited(t *testing.T) {
	iss := newTestIssuer(t, "")
	f := newFixture(t, iss)
	f.keys.MinRefresh = time.Minute
	creds := []lanyard.FederatedCredential{credential("c", iss.url, "repo:org/repo:ref:refs/heads/main")}
	rotated, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss.addKey("rsa-2", jose.RS256, rotated, false)
	valid := func(kid string) error {
		_, err := f.v.Validate(t.Context(), creds, iss.sign(kid, githubClaims(iss.url, f.clock.Now())))
		return err
	}
	if err := valid("rsa-1"); err != nil {
		t.Fatal(err)
	}
	if n := iss.fetches(); n != 1 {
		t.Fatalf("%d fetches after the first assertion", n)
	}
	// Within the rate limit: no refresh, the kid is unknown.
	wantCode(t, "unknown kid, too soon to refresh", valid("rsa-2"), CodeUnknownKey)
	if n := iss.fetches(); n != 1 {
		t.Fatalf("refreshed within the rate limit: %d fetches", n)
	}
	// Past it: one refresh, and the kid is still missing.
	f.clock.advance(time.Minute + time.Second)
	wantCode(t, "unknown kid after a refresh", valid("rsa-2"), CodeUnknownKey)
	if n := iss.fetches(); n != 2 {
		t.Fatalf("%d fetches after the refresh, want 2", n)
	}
	for range 10 {
		wantCode(t, "unknown kid, hammering", valid("rsa-2"), CodeUnknownKey)
	}
	if n := iss.fetches(); n != 2 {
		t.Fatalf("ten forged kids made %d fetches, want none", n-2)
	}
	// The issuer rotates; the next refresh allowed finds the key.
	iss.publish("rsa-2")
	wantCode(t, "rotated key, too soon to refresh", valid("rsa-2"), CodeUnknownKey)
	f.clock.advance(time.Minute + time.Second)
	if err := valid("rsa-2"); err != nil {
		t.Fatalf("rotated key after refresh: %v", err)
	}
	if err := valid("rsa-1"); err != nil {
		t.Fatalf("old key after refresh: %v", err)
	}
	if n := iss.fetches(); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
}

// Keys older than MaxAge are fetched again; if that fails they are not used any longer.
func TestKeysExpire(t *testing.T) {
	iss := newTestIssuer(t, "")
	f := newFixture(t, iss)
	f.keys.MaxAge = 10 * time.Minute
	creds := []lanyard.FederatedCredential{credential("c", iss.url, "repo:org/repo:ref:refs/heads/main")}
	valid := func() error {
		_, err := f.v.Validate(t.Context(), creds, iss.sign("rsa-1", githubClaims(iss.url, f.clock.Now())))
		return err
	}
	if err := valid(); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(5 * time.Minute)
	if err := valid(); err != nil || iss.fetches() != 1 {
		t.Fatalf("fresh keys: err=%v fetches=%d", err, iss.fetches())
	}
	f.clock.advance(6 * time.Minute)
	if err := valid(); err != nil || iss.fetches() != 2 {
		t.Fatalf("keys past MaxAge: err=%v fetches=%d, want a second fetch", err, iss.fetches())
	}
	iss.mu.Lock()
	iss.discovery = func(w http.ResponseWriter, r *http.Request) bool { w.WriteHeader(503); return true }
	iss.mu.Unlock()
	f.clock.advance(11 * time.Minute)
	wantCode(t, "expired keys and the issuer down", valid(), CodeIssuerUnavailable)
}

// Concurrent assertions from a cold cache share one fetch.
func TestConcurrentRequestsShareOneFetch(t *testing.T) {
	iss := newTestIssuer(t, "")
	iss.discovery = func(w http.ResponseWriter, r *http.Request) bool {
		time.Sleep(100 * time.Millisecond) // keep the fetch in flight while the others arrive
		return false
	}
	f := newFixture(t, iss)
	creds := []lanyard.FederatedCredential{credential("c", iss.url, "repo:org/repo:ref:refs/heads/main")}
	raw := iss.sign("rsa-1", githubClaims(iss.url, f.clock.Now()))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := f.v.Validate(t.Context(), creds, raw)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := iss.fetches(); n != 1 {
		t.Errorf("20 concurrent requests made %d fetches, want 1", n)
	}
}

// The cache holds at most MaxIssuers issuers.
func TestIssuerCacheIsBounded(t *testing.T) {
	k := &IssuerKeys{MaxIssuers: 3, MinRefresh: time.Hour, FetchTimeout: 50 * time.Millisecond}
	for i := range 10 {
		_, _ = k.Keys(t.Context(), "https://127.0.0.1:1/"+strings.Repeat("x", i), false)
	}
	k.mu.Lock()
	n := len(k.issuers)
	k.mu.Unlock()
	if n != 3 {
		t.Errorf("%d issuers cached, want 3", n)
	}
}
