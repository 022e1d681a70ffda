package cli

import (
	"github.com/spf13/cobra"
)

var accounts = groupResource{
	noun:     "storage account",
	typePath: "/providers/Microsoft.Storage/storageAccounts",
	columns:  cols("Name", "name", "ResourceGroup", "resourceGroup", "Location", "location", "BlobEndpoint", "primaryEndpoints.blob"),
	createBody: func(location string) map[string]any {
		return map[string]any{"location": location, "kind": "StorageV2", "sku": map[string]any{"name": "Standard_LRS"}}
	},
}

func storageCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "storage", Short: "Manage storage accounts"}
	acct := &cobra.Command{Use: "account", Short: "Manage storage accounts"}
	acct.AddCommand(
		accounts.verb(e, "create", "Create a storage account", "PUT"),
		accounts.verb(e, "show", "Show a storage account", "GET"),
		accounts.list(e, "List storage accounts"),
		accounts.verb(e, "delete", "Delete a storage account and its data", "DELETE"),
	)
	cmd.AddCommand(acct)
	return cmd
}
