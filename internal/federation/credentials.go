package federation

import (
	"context"
	"slices"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

// IdentityFinder finds a user-assigned identity by group and name, with ARM's errors;
// *directory.Service is one.
type IdentityFinder interface {
	GetIdentity(ctx context.Context, group, name string) (lanyard.Identity, error)
}

// Credentials manages the federated identity credentials of user-assigned identities.
type Credentials struct {
	Store      store.FederatedCredentials
	Identities IdentityFinder
	Now        func() time.Time
	// Addresses, when set, refuses on write an issuer whose host is a literal address
	// Lanyard would not contact (names are judged when dialled). LocalIssuer, Lanyard's
	// own, is exempt: it is checked in-process, never fetched.
	Addresses   *AddressPolicy
	LocalIssuer string
}

// Spec is the writable part of a credential. An empty Audiences means the default one.
type Spec struct {
	Issuer      string
	Subject     string
	Audiences   []string
	Description string
}

func (s *Credentials) clock() time.Time {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return now().UTC().Truncate(time.Microsecond)
}

// Put creates credential name on identity in group, or replaces its issuer, subject,
// audiences and description (its name never changes). It reports whether it was created.
func (s *Credentials) Put(ctx context.Context, group, identity, name string, spec Spec) (lanyard.FederatedCredential, bool, error) {
	if err := lanyard.CheckFederatedCredentialName(name); err != nil {
		return lanyard.FederatedCredential{}, false, err
	}
	id, err := s.Identities.GetIdentity(ctx, group, identity)
	if err != nil {
		return lanyard.FederatedCredential{}, false, err
	}
	audiences := slices.Clone(spec.Audiences)
	if len(audiences) == 0 {
		audiences = []string{lanyard.DefaultFederatedAudience}
	}
	now := s.clock()
	c := lanyard.FederatedCredential{
		Name: name, IdentityPrincipalID: id.PrincipalID, IdentityResourceID: id.ResourceID,
		Issuer: spec.Issuer, Subject: spec.Subject, Audiences: audiences, Description: spec.Description,
		CreatedAt: now, UpdatedAt: now,
	}
	if err := c.Validate(); err != nil {
		return c, false, err
	}
	if s.Addresses != nil && c.Issuer != s.LocalIssuer {
		if err := s.Addresses.CheckIssuer(c.Issuer); err != nil {
			return c, false, err
		}
	}
	// A PUT of an existing name is an update. Two PUTs racing to create one name: the
	// loser's create conflicts, and it then updates what the winner made.
	for attempt := 0; ; attempt++ {
		out, err := s.Store.UpdateFederatedCredential(ctx, id.PrincipalID, name, func(old lanyard.FederatedCredential) (lanyard.FederatedCredential, error) {
			old.Issuer, old.Subject, old.Audiences, old.Description = c.Issuer, c.Subject, c.Audiences, c.Description
			old.UpdatedAt = now
			return old, nil
		})
		if err == nil || !lanyard.IsNotFound(err) {
			return out, false, err
		}
		err = s.Store.CreateFederatedCredential(ctx, c)
		if err == nil {
			return c, true, nil
		}
		if !lanyard.IsConflict(err) || attempt > 0 {
			return c, false, err
		}
		if _, gerr := s.Store.GetFederatedCredential(ctx, id.PrincipalID, name); gerr != nil {
			return c, false, err // the conflict is the issuer and subject pair, not the name
		}
	}
}

// Get returns credential name of identity in group.
func (s *Credentials) Get(ctx context.Context, group, identity, name string) (lanyard.FederatedCredential, error) {
	id, err := s.Identities.GetIdentity(ctx, group, identity)
	if err != nil {
		return lanyard.FederatedCredential{}, err
	}
	c, err := s.Store.GetFederatedCredential(ctx, id.PrincipalID, name)
	if lanyard.IsNotFound(err) {
		return c, credentialNotFound(id, name)
	}
	return c, err
}

// List lists the credentials of identity in group, by name.
func (s *Credentials) List(ctx context.Context, group, identity string) ([]lanyard.FederatedCredential, error) {
	id, err := s.Identities.GetIdentity(ctx, group, identity)
	if err != nil {
		return nil, err
	}
	return s.Store.ListFederatedCredentials(ctx, id.PrincipalID)
}

// Delete deletes credential name of identity in group. Tokens already issued through it
// stay valid until they expire, as in Azure.
func (s *Credentials) Delete(ctx context.Context, group, identity, name string) error {
	id, err := s.Identities.GetIdentity(ctx, group, identity)
	if err != nil {
		return err
	}
	err = s.Store.DeleteFederatedCredential(ctx, id.PrincipalID, name)
	if lanyard.IsNotFound(err) {
		return credentialNotFound(id, name)
	}
	return err
}

func credentialNotFound(id lanyard.Identity, name string) error {
	return lanyard.Errorf(lanyard.KindNotFound, "The Resource '%s/%s/federatedIdentityCredentials/%s' under resource group '%s' was not found.",
		lanyard.TypeUserAssignedIdentity, id.Name, clip(name), id.ResourceGroup).WithCode("ResourceNotFound")
}
