package mint

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/seal"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
	"github.com/lanyard-id/lanyard/internal/token"
)

type revocations struct {
	err    error
	waited []string
}

func (r *revocations) WaitIssuable(_ context.Context, p string) error {
	r.waited = append(r.waited, p)
	return r.err
}

type events struct {
	got []audit.Event
	err error
}

func (e *events) Record(_ context.Context, ev audit.Event) error {
	e.got = append(e.got, ev)
	return e.err
}

type counts []string

func (c *counts) TokenIssued(protocol string, cached bool) { *c = append(*c, protocol) }

func issuer(t *testing.T) *token.Issuer {
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keys.New(t.Context(), st, sealer, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &token.Issuer{Keys: ring}
}

// TestMint: what holds a token back, and which tokens are recorded before they are handed
// out.
func TestMint(t *testing.T) {
	iss := issuer(t)
	id := lanyard.Identity{PrincipalID: "00000000-0000-4000-8000-000000000001", ClientID: "00000000-0000-4000-8000-000000000002",
		ResourceID: "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i", Enabled: true}
	stale := lanyard.Errorf(lanyard.KindUnavailable, "The view is stale.")
	justRevoked := errors.New("context canceled while waiting")
	for _, tt := range []struct {
		name     string
		fresh    error
		revoked  error
		protocol string
		record   error
		want     error // nil: issued
		recorded bool
	}{
		{name: "issued, recorded by the caller", recorded: false},
		{name: "issued and recorded", protocol: "federation", recorded: true},
		{name: "stale: not issued", fresh: stale, want: stale},
		{name: "born revoked: not issued", revoked: justRevoked, want: justRevoked},
		{name: "fail-closed: unrecorded token not handed out", protocol: "federation", record: audit.ErrUnavailable, want: audit.ErrUnavailable},
		{name: "best-effort: recorder drops, token handed out", protocol: "federation", recorded: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			revs, ev, c := &revocations{err: tt.revoked}, &events{err: tt.record}, &counts{}
			m := &Minter{Issuer: iss, TenantID: "tid", IssuerURL: "https://127.0.0.1:1/tid/", Revocations: revs,
				Fresh: func() error { return tt.fresh }}
			if tt.protocol != "" {
				m = m.For(tt.protocol, ev, c)
			}
			tok, err := m.Mint(t.Context(), id, "https://storage.azure.com/")
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("Mint: %v, want %v", err, tt.want)
			}
			if err != nil && tok.Raw != "" {
				t.Error("a refused mint returned a token")
			}
			if tt.fresh == nil && (len(revs.waited) != 1 || revs.waited[0] != id.PrincipalID) {
				t.Errorf("waited for %v, want the principal", revs.waited)
			}
			if tt.fresh != nil && len(revs.waited) != 0 {
				t.Error("a stale minter went on to the revocations")
			}
			if !tt.recorded {
				if tt.record == nil && len(ev.got) != 0 || len(*c) != 0 {
					t.Errorf("recorded %v, counted %v", ev.got, *c)
				}
				return
			}
			if len(ev.got) != 1 || ev.got[0].Kind != audit.KindTokenIssued || ev.got[0].TokenID != tok.UTI || ev.got[0].PrincipalID != id.PrincipalID {
				t.Errorf("recorded %+v, want the token", ev.got)
			}
			if len(*c) != 1 || (*c)[0] != tt.protocol {
				t.Errorf("counted %v", *c)
			}
		})
	}
}
