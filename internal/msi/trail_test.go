package msi

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

type events struct {
	got []audit.Event
	err error
}

func (e *events) Record(_ context.Context, ev audit.Event) error {
	e.got = append(e.got, ev)
	return e.err
}

type counts struct{ issued, refused []string }

func (c *counts) TokenIssued(protocol string, cached bool) {
	c.issued = append(c.issued, protocol+map[bool]string{true: "/cached", false: ""}[cached])
}
func (c *counts) TokenRefused(protocol, reason string) {
	c.refused = append(c.refused, protocol+"/"+reason)
}

type identities struct{ lookups int }

func (i *identities) FindIdentity(_ context.Context, _, ref string) (lanyard.Identity, error) {
	i.lookups++
	if ref == "known" {
		return lanyard.Identity{PrincipalID: "p-known", ClientID: "c-known"}, nil
	}
	return lanyard.Identity{}, lanyard.Errorf(lanyard.KindNotFound, "no identity")
}

// TestTrailIssued: a token recorded is counted; one that cannot be recorded (fail-closed)
// is refused and not counted.
func TestTrailIssued(t *testing.T) {
	for _, tt := range []struct {
		name    string
		err     error
		counted []string
	}{
		{name: "recorded", counted: []string{"appservice/cached"}},
		{name: "fail-closed: not recorded", err: audit.ErrUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, c := &events{err: tt.err}, &counts{}
			tr := &Trail{Recorder: ev, Counter: c}
			err := tr.Issued(t.Context(), Grant{Protocol: "appservice", Identity: lanyard.Identity{PrincipalID: "p"}, Cached: true, Token: Minted{UTI: "u"}})
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("Issued: %v, want %v", err, tt.err)
			}
			if len(c.issued) != len(tt.counted) || len(tt.counted) > 0 && c.issued[0] != tt.counted[0] {
				t.Errorf("counted %v, want %v", c.issued, tt.counted)
			}
			if len(ev.got) != 1 || ev.got[0].Kind != audit.KindTokenIssued || ev.got[0].PrincipalID != "p" || ev.got[0].TokenID != "u" {
				t.Errorf("recorded %+v", ev.got)
			}
		})
	}
}

// TestTrailRefused: a refusal is filed under the principal the caller named, resolved
// when it can be, and counted by a fixed reason; recording failures change nothing.
func TestTrailRefused(t *testing.T) {
	for _, tt := range []struct {
		name                       string
		r                          Refusal
		principal, client, counted string
		lookups                    int
	}{
		{name: "no identity named", r: Refusal{Protocol: "imds", Status: http.StatusBadRequest}, counted: "imds/invalid_request"},
		{name: "client id resolved", r: Refusal{Protocol: "appservice", Status: http.StatusNotFound, Selected: "known", SelectedBy: "client_id"},
			principal: "p-known", client: "c-known", counted: "appservice/not_found", lookups: 1},
		{name: "unknown client id kept as given", r: Refusal{Protocol: "appservice", Status: http.StatusNotFound, Selected: "x", SelectedBy: "client_id"},
			client: "x", counted: "appservice/not_found", lookups: 1},
		{name: "object id kept as given", r: Refusal{Protocol: "imds", Status: http.StatusForbidden, Selected: "x", SelectedBy: "object_id"},
			principal: "x", counted: "imds/identity_disabled", lookups: 1},
		{name: "unavailable: no lookup", r: Refusal{Protocol: "imds", Status: http.StatusServiceUnavailable, Selected: "known", SelectedBy: "principal_id"},
			principal: "known", counted: "imds/unavailable"},
		{name: "server error", r: Refusal{Protocol: "imds", Status: http.StatusInternalServerError}, counted: "imds/server_error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, c, ids := &events{err: audit.ErrUnavailable}, &counts{}, &identities{}
			(&Trail{Recorder: ev, Counter: c, Identities: ids}).Refused(t.Context(), tt.r)
			if len(ev.got) != 1 || ev.got[0].Kind != audit.KindTokenRefused || ev.got[0].PrincipalID != tt.principal || ev.got[0].ClientID != tt.client {
				t.Errorf("recorded %+v, want principal %q client %q", ev.got, tt.principal, tt.client)
			}
			if len(c.refused) != 1 || c.refused[0] != tt.counted {
				t.Errorf("counted %v, want %s", c.refused, tt.counted)
			}
			if ids.lookups != tt.lookups {
				t.Errorf("%d lookups, want %d", ids.lookups, tt.lookups)
			}
		})
	}
}
