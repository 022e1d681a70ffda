package cli

import (
	"github.com/spf13/cobra"
)

const accountType = "/providers/Microsoft.Storage/storageAccounts"

var accountColumns = cols("Name", "name", "ResourceGroup", "resourceGroup", "Location", "location", "BlobEndpoint", "primaryEndpoints.blob")

func storageCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "storage", Short: "Manage storage accounts"}
	acct := &cobra.Command{Use: "account", Short: "Manage storage accounts"}

	verb := func(use, short, method string, withBody bool) *cobra.Command {
		var (
			t        target
			location string
		)
		c := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				api, err := e.api()
				if err != nil {
					return err
				}
				path := groupPath(api, t.group) + accountType + "/" + escape(t.name)
				if method == "DELETE" {
					return api.Do(cmd.Context(), method, path, nil, nil)
				}
				var body any
				if withBody {
					body = map[string]any{"location": location, "kind": "StorageV2", "sku": map[string]any{"name": "Standard_LRS"}}
				}
				var out map[string]any
				if err := api.Do(cmd.Context(), method, path, body, &out); err != nil {
					return err
				}
				return e.print(accountColumns, flatten(out))
			}}
		t.flags(c, "storage account")
		if withBody {
			c.Flags().StringVarP(&location, "location", "l", "", "location (default: the group's)")
		}
		return c
	}

	var group string
	list := &cobra.Command{Use: "list", Short: "List storage accounts", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := e.api()
			if err != nil {
				return err
			}
			p := api.Subscription() + accountType
			if group != "" {
				p = groupPath(api, group) + accountType
			}
			var out struct{ Value []map[string]any }
			if err := api.Do(cmd.Context(), "GET", p, nil, &out); err != nil {
				return err
			}
			return e.print(accountColumns, flattenAll(out.Value))
		}}
	list.Flags().StringVarP(&group, "resource-group", "g", "", "resource group (default: all)")

	acct.AddCommand(verb("create", "Create a storage account", "PUT", true), verb("show", "Show a storage account", "GET", false), list, verb("delete", "Delete a storage account and its data", "DELETE", false))
	cmd.AddCommand(acct)
	return cmd
}
