package msi

import (
	"context"
	"net/http"
	"slices"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Auditor records what the endpoint does.
type Auditor interface {
	// Issued records a token about to be handed out. An error means it could not be
	// recorded and the policy says to refuse: the token is then neither sent nor cached.
	Issued(ctx context.Context, g Grant) error
	// Refused records a refused request.
	Refused(ctx context.Context, r Refusal)
}

// Grant is a token handed to an app.
type Grant struct {
	Protocol   string // appservice or imds
	App        lanyard.App
	Identity   lanyard.Identity
	Resource   string
	Token      Minted
	Cached     bool // served from the cache rather than minted for this request
	RemoteAddr string
}

// Refusal is a token request refused.
type Refusal struct {
	Protocol string
	Resource string
	// Selector is the identity the caller asked for, as name=value (client_id=...), or
	// "" for the default identity.
	Selector   string
	Selected   string // the value alone
	SelectedBy string // the parameter name alone
	Status     int
	Code       string
	Message    string
	RemoteAddr string
}

func (h *Handler) recordIssued(r *http.Request, p protocol, app lanyard.App, id lanyard.Identity, resource string, tok Minted, cached bool) error {
	if h.Audit == nil {
		return nil
	}
	return h.Audit.Issued(r.Context(), Grant{Protocol: p.name, App: app, Identity: id, Resource: resource, Token: tok, Cached: cached, RemoteAddr: r.RemoteAddr})
}

// recordRefusal records a refused request.
func (h *Handler) recordRefusal(r *http.Request, p protocol, ref *refusal) {
	if h.Audit == nil {
		return
	}
	rec := Refusal{Protocol: p.name, Status: ref.status, Code: ref.code, Message: ref.msg, RemoteAddr: r.RemoteAddr}
	// The query may be malformed; what can be read is enough for the record.
	q := r.URL.Query()
	rec.Resource = clip(q.Get("resource"))
	names := make([]string, 0, len(p.selectors))
	for name := range p.selectors {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if v := q.Get(name); v != "" {
			rec.Selector, rec.Selected, rec.SelectedBy = name+"="+clip(v), clip(v), name
			break
		}
	}
	h.Audit.Refused(r.Context(), rec)
}
