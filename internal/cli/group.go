package cli

import (
	"net/url"

	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/client"
)

var groupColumns = cols("Name", "name", "Location", "location", "Status", "properties.provisioningState")

func groupCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "group", Short: "Manage resource groups"}
	var name, location string

	create := &cobra.Command{Use: "create", Short: "Create a resource group", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			var out map[string]any
			body := map[string]any{"location": location}
			if err := c.Do(cmd.Context(), "PUT", c.Subscription()+"/resourceGroups/"+url.PathEscape(name), body, &out); err != nil {
				return err
			}
			return e.print(groupColumns, out)
		})}
	create.Flags().StringVarP(&name, "name", "n", "", "group name")
	create.Flags().StringVarP(&location, "location", "l", "", "location (default: local)")
	_ = create.MarkFlagRequired("name")

	show := &cobra.Command{Use: "show", Short: "Show a resource group", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			var out map[string]any
			if err := c.Do(cmd.Context(), "GET", c.Subscription()+"/resourceGroups/"+url.PathEscape(name), nil, &out); err != nil {
				return err
			}
			return e.print(groupColumns, out)
		})}
	show.Flags().StringVarP(&name, "name", "n", "", "group name")
	_ = show.MarkFlagRequired("name")

	list := &cobra.Command{Use: "list", Short: "List resource groups", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			items, err := c.List(cmd.Context(), c.Subscription()+"/resourceGroups")
			if err != nil {
				return err
			}
			return e.print(groupColumns, items)
		})}

	del := &cobra.Command{Use: "delete", Short: "Delete a resource group and everything in it", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			return e.remove(cmd.Context(), c, "resource group (and everything in it)", c.Subscription()+"/resourceGroups/"+url.PathEscape(name))
		})}
	del.Flags().StringVarP(&name, "name", "n", "", "group name")
	del.Flags().BoolP("yes", "y", false, "do not prompt (accepted for az compatibility)")
	_ = del.MarkFlagRequired("name")

	cmd.AddCommand(create, show, list, del)
	return cmd
}
