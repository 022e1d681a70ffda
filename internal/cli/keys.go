package cli

import (
	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/client"

	"github.com/lanyard-id/lanyard/internal/mgmt"
)

var keyColumns = cols("Kid", "name", "Active", "active", "Created", "createdAt", "Retired", "retiredAt", "RemoveAfter", "removeAfter")

func keysCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "List and rotate the authority's signing keys"}
	list := &cobra.Command{Use: "list", Short: "List signing keys, newest first", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			items, err := api.List(cmd.Context(), mgmt.KeysPath)
			if err != nil {
				return err
			}
			return e.print(keyColumns, flattenAll(items))
		})}
	rotate := &cobra.Command{Use: "rotate", Short: "Start signing with a new key; the previous one stays published until its tokens expire", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			var out map[string]any
			if err := api.Do(cmd.Context(), "POST", mgmt.KeysPath+"/rotate", nil, &out); err != nil {
				return err
			}
			return e.print(keyColumns, flatten(out))
		})}
	cmd.AddCommand(list, rotate)
	return cmd
}
