package cli

import (
	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/client"
)

// groupResource is a resource type that lives in a resource group and has the plain
// create / show / list / delete verbs (identities, storage accounts).
type groupResource struct {
	noun     string // for help texts, e.g. "storage account"
	typePath string // e.g. /providers/Microsoft.Storage/storageAccounts
	columns  []column
	// createBody is the PUT body of create, given the --location flag.
	createBody func(location string) map[string]any
}

// verb builds create (PUT), show (GET) or delete (DELETE).
func (r groupResource) verb(e *env, use, short, method string) *cobra.Command {
	var (
		t        target
		location string
	)
	c := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			path := groupPath(api, t.group) + r.typePath + "/" + escape(t.name)
			if method == "DELETE" {
				return e.remove(cmd.Context(), api, r.noun, path)
			}
			var body any
			if method == "PUT" {
				body = r.createBody(location)
			}
			var out map[string]any
			if err := api.Do(cmd.Context(), method, path, body, &out); err != nil {
				return err
			}
			return e.print(r.columns, flatten(out))
		})}
	t.flags(c, r.noun)
	if method == "PUT" {
		c.Flags().StringVarP(&location, "location", "l", "", "location (default: the group's)")
	}
	return c
}

// list lists the resources of one group, or of the whole subscription.
func (r groupResource) list(e *env, short string) *cobra.Command {
	var group string
	c := &cobra.Command{Use: "list", Short: short, Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			p := api.Subscription() + r.typePath
			if group != "" {
				p = groupPath(api, group) + r.typePath
			}
			items, err := api.List(cmd.Context(), p)
			if err != nil {
				return err
			}
			return e.print(r.columns, flattenAll(items))
		})}
	c.Flags().StringVarP(&group, "resource-group", "g", "", "resource group (default: all)")
	return c
}
