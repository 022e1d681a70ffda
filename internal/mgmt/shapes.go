package mgmt

import (
	"time"

	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// The ARM JSON shapes of Lanyard's resources.

type groupJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	ManagedBy  *string           `json:"managedBy"`
	Properties struct {
		ProvisioningState string `json:"provisioningState"`
	} `json:"properties"`
}

func (h *Handler) group(g lanyard.ResourceGroup) groupJSON {
	out := groupJSON{ID: lanyard.GroupID(h.subscription(), g.Name), Name: g.Name, Type: lanyard.TypeResourceGroup, Location: g.Location, Tags: tagsOrEmpty(g.Tags)}
	out.Properties.ProvisioningState = "Succeeded"
	return out
}

type identityJSON struct {
	ID         string             `json:"id"`
	Name       string             `json:"name"`
	Type       string             `json:"type"`
	Location   string             `json:"location"`
	Tags       map[string]string  `json:"tags"`
	Properties identityProperties `json:"properties"`
}

type identityProperties struct {
	TenantID    string `json:"tenantId"`
	PrincipalID string `json:"principalId"`
	ClientID    string `json:"clientId"`
	Enabled     bool   `json:"enabled"`
}

func (h *Handler) identity(id lanyard.Identity) identityJSON {
	return identityJSON{
		ID: id.ResourceID, Name: id.Name, Type: lanyard.TypeUserAssignedIdentity, Location: id.Location, Tags: tagsOrEmpty(id.Tags),
		Properties: identityProperties{TenantID: h.tenant(), PrincipalID: id.PrincipalID, ClientID: id.ClientID, Enabled: id.Enabled},
	}
}

// appIdentityJSON is the identity block of a Microsoft.Web/sites resource.
type appIdentityJSON struct {
	Type                   string                      `json:"type"`
	PrincipalID            string                      `json:"principalId,omitempty"`
	TenantID               string                      `json:"tenantId,omitempty"`
	UserAssignedIdentities map[string]userIdentityJSON `json:"userAssignedIdentities,omitempty"`
}

type userIdentityJSON struct {
	PrincipalID string `json:"principalId,omitempty"`
	ClientID    string `json:"clientId,omitempty"`
}

type appJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Kind       string            `json:"kind"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Identity   *appIdentityJSON  `json:"identity,omitempty"`
	Properties struct {
		State             string `json:"state"`
		ProvisioningState string `json:"provisioningState"`
	} `json:"properties"`
}

func (h *Handler) appIdentity(a lanyard.App, ids []lanyard.Identity) *appIdentityJSON {
	out := &appIdentityJSON{Type: "None"}
	for _, id := range ids {
		if id.Kind == lanyard.SystemAssigned {
			out.PrincipalID, out.TenantID = id.PrincipalID, h.tenant()
			continue
		}
		if out.UserAssignedIdentities == nil {
			out.UserAssignedIdentities = map[string]userIdentityJSON{}
		}
		out.UserAssignedIdentities[id.ResourceID] = userIdentityJSON{PrincipalID: id.PrincipalID, ClientID: id.ClientID}
	}
	switch {
	case a.SystemPrincipalID != "" && len(a.UserAssigned) > 0:
		out.Type = "SystemAssigned, UserAssigned"
	case a.SystemPrincipalID != "":
		out.Type = "SystemAssigned"
	case len(a.UserAssigned) > 0:
		out.Type = "UserAssigned"
	}
	return out
}

func (h *Handler) app(a lanyard.App, ids []lanyard.Identity) appJSON {
	out := appJSON{ID: a.ResourceID, Name: a.Name, Type: lanyard.TypeApp, Kind: "app", Location: a.Location, Tags: tagsOrEmpty(a.Tags), Identity: h.appIdentity(a, ids)}
	out.Properties.State = "Running"
	out.Properties.ProvisioningState = "Succeeded"
	return out
}

type keyJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		Active      bool       `json:"active"`
		Published   bool       `json:"published"`
		CreatedAt   time.Time  `json:"createdAt"`
		NotAfter    time.Time  `json:"certificateNotAfter"`
		RetiredAt   *time.Time `json:"retiredAt,omitempty"`
		RemoveAfter *time.Time `json:"removeAfter,omitempty"`
	} `json:"properties"`
}

func key(k keys.KeyInfo) keyJSON {
	out := keyJSON{ID: KeysPath + "/" + k.ID, Name: k.ID, Type: "Lanyard.Authority/signingKeys"}
	p := &out.Properties
	p.Active, p.Published, p.CreatedAt, p.NotAfter = k.Active, k.Published, k.CreatedAt, k.NotAfter
	if !k.RetiredAt.IsZero() {
		p.RetiredAt = &k.RetiredAt
	}
	if !k.RemoveAfter.IsZero() {
		p.RemoveAfter = &k.RemoveAfter
	}
	return out
}

func tagsOrEmpty(t map[string]string) map[string]string {
	if t == nil {
		return map[string]string{}
	}
	return t
}

// resourceBody is what PUT and PATCH accept for any resource; unknown fields are ignored,
// as ARM ignores them.
type resourceBody struct {
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
	Identity *struct {
		Type                   string           `json:"type"`
		UserAssignedIdentities map[string]json0 `json:"userAssignedIdentities"`
	} `json:"identity"`
	// Properties.Enabled enables or disables an identity (PATCH).
	Properties *struct {
		Enabled *bool `json:"enabled"`
	} `json:"properties"`
}

// json0 accepts any JSON value (ARM sends {} or null per user-assigned identity).
type json0 = any
