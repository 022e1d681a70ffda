package mgmt

import (
	"context"
	"net/http"

	"github.com/lanyard-id/lanyard/internal/federation"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// FederatedCredentials is what the API needs to manage federated identity credentials;
// *federation.Credentials is one.
type FederatedCredentials interface {
	Put(ctx context.Context, group, identity, name string, spec federation.Spec) (lanyard.FederatedCredential, bool, error)
	Get(ctx context.Context, group, identity, name string) (lanyard.FederatedCredential, error)
	List(ctx context.Context, group, identity string) ([]lanyard.FederatedCredential, error)
	Delete(ctx context.Context, group, identity, name string) error
}

// federatedCredentialJSON is ARM's Microsoft.ManagedIdentity/userAssignedIdentities/
// federatedIdentityCredentials resource.
type federatedCredentialJSON struct {
	ID         string                        `json:"id"`
	Name       string                        `json:"name"`
	Type       string                        `json:"type"`
	Properties federatedCredentialProperties `json:"properties"`
}

type federatedCredentialProperties struct {
	Issuer      string   `json:"issuer"`
	Subject     string   `json:"subject"`
	Audiences   []string `json:"audiences"`
	Description string   `json:"description,omitempty"`
}

func federatedCredential(c lanyard.FederatedCredential) federatedCredentialJSON {
	audiences := c.Audiences
	if audiences == nil {
		audiences = []string{}
	}
	return federatedCredentialJSON{
		ID: c.IdentityResourceID + "/federatedIdentityCredentials/" + c.Name, Name: c.Name, Type: lanyard.TypeFederatedCredential,
		Properties: federatedCredentialProperties{Issuer: c.Issuer, Subject: c.Subject, Audiences: audiences, Description: c.Description},
	}
}

// federationReady refuses for a server built without federation.
func (h *Handler) federationReady() error {
	if h.Federation == nil {
		return apiError(http.StatusBadRequest, "InvalidResourceType", "Federated identity credentials are not served by this server.")
	}
	return nil
}

// Route arguments: subscription, group, identity[, credential].

func (h *Handler) listFederatedCredentials(w http.ResponseWriter, r *http.Request, args []string) error {
	if err := h.federationReady(); err != nil {
		return err
	}
	p, err := parsePage(r, "federatedIdentityCredentials")
	if err != nil {
		return err
	}
	// At most lanyard.MaxFederatedCredentialsPerIdentity: paged here, for the shape.
	cs, err := h.Federation.List(r.Context(), args[1], args[2])
	if err != nil {
		return err
	}
	cs, next := pageOf(cs, func(c lanyard.FederatedCredential) string { return c.Name }, p)
	writePage(w, r, p, views(cs, federatedCredential), next)
	return nil
}

func (h *Handler) putFederatedCredential(w http.ResponseWriter, r *http.Request, args []string) error {
	if err := h.federationReady(); err != nil {
		return err
	}
	var body struct {
		Properties federatedCredentialProperties `json:"properties"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	p := body.Properties
	c, created, err := h.Federation.Put(r.Context(), args[1], args[2], args[3], federation.Spec{
		Issuer: p.Issuer, Subject: p.Subject, Audiences: p.Audiences, Description: p.Description,
	})
	return h.reply(w, createdStatus(created), federatedCredential(c), err)
}

func (h *Handler) getFederatedCredential(w http.ResponseWriter, r *http.Request, args []string) error {
	if err := h.federationReady(); err != nil {
		return err
	}
	c, err := h.Federation.Get(r.Context(), args[1], args[2], args[3])
	return h.reply(w, http.StatusOK, federatedCredential(c), err)
}

func (h *Handler) deleteFederatedCredential(w http.ResponseWriter, r *http.Request, args []string) error {
	if err := h.federationReady(); err != nil {
		return err
	}
	err := h.Federation.Delete(r.Context(), args[1], args[2], args[3])
	if lanyard.IsNotFound(err) && lanyard.CodeOf(err) == "ResourceNotFound" {
		w.WriteHeader(http.StatusNoContent) // ARM: deleting what is not there is not an error
		return nil
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
