package cli

import (
	"github.com/spf13/cobra"
)

const identityType = "/providers/Microsoft.ManagedIdentity/userAssignedIdentities"

var identityColumns = cols("Name", "name", "ResourceGroup", "resourceGroup", "Location", "location", "ClientId", "clientId", "PrincipalId", "principalId")

var identities = groupResource{
	noun: "identity", typePath: identityType, columns: identityColumns,
	createBody: func(location string) map[string]any { return map[string]any{"location": location} },
}

func identityCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "identity", Short: "Manage user-assigned managed identities"}
	cmd.AddCommand(
		identities.verb(e, "create", "Create a user-assigned identity", "PUT"),
		identities.verb(e, "show", "Show a user-assigned identity", "GET"),
		identities.list(e, "List user-assigned identities"),
		identities.verb(e, "delete", "Delete a user-assigned identity", "DELETE"),
		identityUpdateCmd(e),
		federatedCredentialCmd(e),
	)
	return cmd
}
