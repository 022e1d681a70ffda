package rbac

import (
	"strings"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// ValidateCustomRole checks a custom role against Azure's rules for custom roles, then its
// permission strings against what the catalogue knows, for the resource providers whose
// data actions Lanyard serves (Microsoft.Storage, Microsoft.ServiceBus): a data action
// listed under Actions, or a control-plane action under DataActions, would never grant
// anything, so it is refused as the mistake it almost certainly is.
func ValidateCustomRole(d lanyard.RoleDefinition) error {
	if err := validateCustomRoleShape(d); err != nil {
		return err
	}
	for _, p := range d.Permissions {
		if err := p.EachString(checkAgainstCatalogue); err != nil {
			return err
		}
	}
	return nil
}

func checkAgainstCatalogue(field, entry string, data bool) error {
	provider, _, _ := strings.Cut(entry, "/")
	if !knownDataProvider(provider) {
		return nil // Lanyard cannot tell data from control actions there
	}
	if !strings.Contains(entry, "*") {
		switch {
		case data && !IsDataAction(entry):
			return lanyard.Errorf(lanyard.KindInvalid, "The %s entry %q is not a data action Lanyard knows; control-plane actions belong in actions.", field, entry).WithCode("InvalidDataAction")
		case !data && IsDataAction(entry):
			return lanyard.Errorf(lanyard.KindInvalid, "The %s entry %q is a data action; list it under dataActions.", field, entry).WithCode("InvalidActionOrNotAction")
		}
		return nil
	}
	if data {
		for _, known := range loadCatalogue().dataActions {
			if MatchAction(entry, known) {
				return nil
			}
		}
		return lanyard.Errorf(lanyard.KindInvalid, "The %s entry %q matches no data action Lanyard knows.", field, entry).WithCode("InvalidDataAction")
	}
	return nil
}

// knownDataProvider reports whether the catalogue lists data actions of provider.
func knownDataProvider(provider string) bool {
	for _, a := range loadCatalogue().dataActions {
		if p, _, _ := strings.Cut(a, "/"); strings.EqualFold(p, provider) {
			return true
		}
	}
	return false
}
