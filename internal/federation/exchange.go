package federation

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Directory is what an exchange reads: the identity behind a client id and its
// credentials. A store.Store is one.
type Directory interface {
	GetIdentityByClientID(ctx context.Context, clientID string) (lanyard.Identity, error)
	ListFederatedCredentials(ctx context.Context, principalID string) ([]lanyard.FederatedCredential, error)
}

// Exchanger decides whether a client assertion proves a client id: the one place every
// federated token request is checked, whatever protocol brought it.
type Exchanger struct {
	Directory Directory
	Validator *Validator
}

// Exchange returns the identity whose client id is clientID if assertion satisfies one of
// its federated credentials. The identity must exist and be enabled.
func (x *Exchanger) Exchange(ctx context.Context, clientID, assertion string) (lanyard.Identity, Match, error) {
	// Client ids are GUIDs, which Entra matches whatever their case; Lanyard stores them
	// lower-cased.
	if u, err := uuid.Parse(clientID); err == nil {
		clientID = u.String()
	}
	id, err := x.Directory.GetIdentityByClientID(ctx, clientID)
	if lanyard.IsNotFound(err) {
		return id, Match{}, &lanyard.Error{Kind: lanyard.KindUnauthenticated, Code: CodeUnknownClient,
			Message: fmt.Sprintf("Application with identifier '%s' was not found in the directory.", clip(clientID))}
	}
	if err != nil {
		return id, Match{}, fmt.Errorf("federation: look up client %s: %w", clientID, err)
	}
	if !id.Enabled {
		return id, Match{}, lanyard.Errorf(lanyard.KindPermissionDenied, "Application '%s' is disabled.", id.ClientID).WithCode(CodeClientDisabled)
	}
	creds, err := x.Directory.ListFederatedCredentials(ctx, id.PrincipalID)
	if err != nil {
		return id, Match{}, fmt.Errorf("federation: list the credentials of %s: %w", id.PrincipalID, err)
	}
	m, err := x.Validator.Validate(ctx, creds, assertion)
	if err != nil {
		return id, Match{}, err
	}
	return id, m, nil
}
