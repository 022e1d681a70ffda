package cli

import (
	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

var accounts = groupResource{
	noun:     "storage account",
	typePath: "/providers/Microsoft.Storage/storageAccounts",
	columns:  cols("Name", "name", "ResourceGroup", "resourceGroup", "Location", "location", "Sku", "sku.name", "BlobEndpoint", "primaryEndpoints.blob"),
}

// defaultCLISKU is the SKU of `storage account create` without --sku: az storage account
// create's default, so that scripts written for az make the same accounts here.
const defaultCLISKU = lanyard.SKUStandardRAGRS

func storageCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "storage", Short: "Manage storage accounts"}
	acct := &cobra.Command{Use: "account", Short: "Manage storage accounts"}
	sku := defaultCLISKU
	creating := accounts
	creating.createBody = func(location string) map[string]any {
		return map[string]any{"location": location, "kind": "StorageV2", "sku": map[string]any{"name": sku}}
	}
	create := creating.verb(e, "create", "Create a storage account", "PUT")
	create.Flags().StringVar(&sku, "sku", defaultCLISKU,
		"the account's SKU: Standard_LRS, Standard_GRS, Standard_RAGRS, Standard_ZRS, Standard_GZRS, Standard_RAGZRS, Premium_LRS or Premium_ZRS; an RA one has a read-only secondary endpoint")
	acct.AddCommand(
		create,
		accounts.verb(e, "show", "Show a storage account", "GET"),
		accounts.list(e, "List storage accounts"),
		accounts.verb(e, "delete", "Delete a storage account and its data", "DELETE"),
	)
	cmd.AddCommand(acct)
	return cmd
}
