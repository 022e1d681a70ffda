package directory

import (
	"context"
	"strings"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// CheckScope reports whether scope names something that exists, as ARM checks before it
// stores a role assignment there: the root, a management group or this subscription, a
// resource group, or a resource of a type Lanyard serves (its top-level resource must
// exist; what lies below it, such as a container, is not looked up). Resource types
// Lanyard does not serve cannot be checked and are taken as they are.
func (s *Service) CheckScope(ctx context.Context, scope string) error {
	scope = strings.TrimSuffix(scope, "/")
	if scope == "" || strings.HasPrefix(strings.ToLower(scope), "/providers/microsoft.management/managementgroups/") {
		return nil
	}
	id, err := lanyard.ParseResourceID(scope)
	if err != nil {
		return lanyard.Errorf(lanyard.KindInvalid, "The scope '%s' is not valid.", clip(scope)).WithCode("InvalidScope")
	}
	if !strings.EqualFold(id.SubscriptionID, s.tenant.SubscriptionID) {
		return lanyard.Errorf(lanyard.KindNotFound, "The subscription '%s' could not be found.", clip(id.SubscriptionID)).WithCode("SubscriptionNotFound")
	}
	if id.ResourceGroup == "" {
		return nil
	}
	if _, err := s.GetGroup(ctx, id.ResourceGroup); err != nil || id.Namespace == "" {
		return err
	}
	typ, name := id.Namespace+"/"+id.Types[0], id.Names[0]
	switch {
	case strings.EqualFold(typ, lanyard.TypeUserAssignedIdentity):
		_, err = s.GetIdentity(ctx, id.ResourceGroup, name)
	case strings.EqualFold(typ, lanyard.TypeApp):
		_, err = s.GetApp(ctx, id.ResourceGroup, name)
	case strings.EqualFold(typ, lanyard.TypeStorageAccount):
		_, err = s.GetStorageAccount(ctx, id.ResourceGroup, name)
	case strings.EqualFold(typ, lanyard.TypePostgresServer):
		_, err = s.store.GetPostgresServer(ctx, lanyard.ResourceIDOf(s.tenant.SubscriptionID, id.ResourceGroup, lanyard.TypePostgresServer, name))
		if lanyard.IsNotFound(err) {
			err = postgresServerNotFound(id.ResourceGroup, name)
		}
	case strings.EqualFold(typ, lanyard.TypeServiceBusNamespace):
		err = s.checkServiceBusScope(ctx, id)
	}
	return err
}
