package msi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

type fakeAuditor struct {
	mu      sync.Mutex
	fail    error
	grants  []Grant
	refusal []Refusal
}

func (a *fakeAuditor) Issued(_ context.Context, g Grant) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		return a.fail
	}
	a.grants = append(a.grants, g)
	return nil
}

func (a *fakeAuditor) Refused(_ context.Context, r Refusal) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refusal = append(a.refusal, r)
}

func TestAuditIssuedAndRefused(t *testing.T) {
	m := &fakeMinter{}
	aud := &fakeAuditor{fail: lanyard.Errorf(lanyard.KindUnavailable, "The audit trail cannot be written.")}
	h := &Handler{Apps: fakeApps{}, Minter: m, Cache: NewCache(DefaultCacheLimits), Audit: aud, Now: func() time.Time { return time.Unix(1_800_000_000, 0) }}
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	hdr := map[string]string{"X-Identity-Header": goodHeader}

	// An issue that cannot be recorded is refused, and nothing is cached.
	resp, body := get(t, srv, AppServicePath, appServiceQuery(), hdr)
	if resp.StatusCode != http.StatusServiceUnavailable || body["access_token"] != nil {
		t.Fatalf("unrecorded issue: %d %v, want 503 and no token", resp.StatusCode, body)
	}
	aud.mu.Lock()
	aud.fail = nil
	aud.mu.Unlock()
	resp, _ = get(t, srv, AppServicePath, appServiceQuery(), hdr)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("recorded issue: %d", resp.StatusCode)
	}
	resp, _ = get(t, srv, AppServicePath, appServiceQuery(), hdr)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("cached issue: %d", resp.StatusCode)
	}
	if n := m.calls.Load(); n != 2 {
		t.Errorf("minted %d tokens, want 2 (the refused one was not cached)", n)
	}
	if len(aud.grants) != 2 || aud.grants[0].Cached || !aud.grants[1].Cached || aud.grants[0].Token.UTI != aud.grants[1].Token.UTI ||
		aud.grants[0].Identity.PrincipalID != system.PrincipalID || aud.grants[0].Protocol != "appservice" || aud.grants[0].RemoteAddr == "" {
		t.Fatalf("grants %+v, want a minted then a cached grant of one token", aud.grants)
	}

	// Refusals, from a missing header to an unassigned identity, are recorded with why.
	get(t, srv, AppServicePath, appServiceQuery(), nil)
	get(t, srv, AppServicePath, appServiceQuery("client_id", other.ClientID), hdr)
	if len(aud.refusal) != 3 {
		t.Fatalf("refusals %+v, want 3 (audit failure, no header, unassigned identity)", aud.refusal)
	}
	if r := aud.refusal[0]; r.Status != http.StatusServiceUnavailable {
		t.Errorf("first refusal %+v, want the 503", r)
	}
	if r := aud.refusal[1]; r.Status != http.StatusUnauthorized || r.Resource != resource {
		t.Errorf("second refusal %+v, want 401 for %s", r, resource)
	}
	if r := aud.refusal[2]; r.Status != http.StatusBadRequest || r.Selector != "client_id="+other.ClientID || r.Message == "" {
		t.Errorf("third refusal %+v, want 400 naming client_id", r)
	}
}
