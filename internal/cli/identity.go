package cli

import (
	"github.com/spf13/cobra"
)

const identityType = "/providers/Microsoft.ManagedIdentity/userAssignedIdentities"

var identityColumns = cols("Name", "name", "ResourceGroup", "resourceGroup", "Location", "location", "ClientId", "clientId", "PrincipalId", "principalId")

func identityCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "identity", Short: "Manage user-assigned managed identities"}

	// resourceVerb builds create, show and delete, which differ only in method and body.
	resourceVerb := func(use, short, method string, withBody bool) *cobra.Command {
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
				var body any
				if withBody {
					body = map[string]any{"location": location}
				}
				path := groupPath(api, t.group) + identityType + "/" + escape(t.name)
				if method == "DELETE" {
					return api.Do(cmd.Context(), method, path, nil, nil)
				}
				var out map[string]any
				if err := api.Do(cmd.Context(), method, path, body, &out); err != nil {
					return err
				}
				return e.print(identityColumns, flatten(out))
			}}
		t.flags(c, "identity")
		if withBody {
			c.Flags().StringVarP(&location, "location", "l", "", "location (default: the group's)")
		}
		return c
	}

	var group string
	list := &cobra.Command{Use: "list", Short: "List user-assigned identities", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := e.api()
			if err != nil {
				return err
			}
			p := api.Subscription() + identityType
			if group != "" {
				p = groupPath(api, group) + identityType
			}
			var out struct{ Value []map[string]any }
			if err := api.Do(cmd.Context(), "GET", p, nil, &out); err != nil {
				return err
			}
			return e.print(identityColumns, flattenAll(out.Value))
		}}
	list.Flags().StringVarP(&group, "resource-group", "g", "", "resource group (default: all)")

	cmd.AddCommand(
		resourceVerb("create", "Create a user-assigned identity", "PUT", true),
		resourceVerb("show", "Show a user-assigned identity", "GET", false),
		list,
		resourceVerb("delete", "Delete a user-assigned identity", "DELETE", false),
		identityUpdateCmd(e),
		federatedCredentialCmd(e),
	)
	return cmd
}
