package cli

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/mgmt"
)

func identityUpdateCmd(e *env) *cobra.Command {
	var (
		t         target
		principal string
		enabled   string
	)
	c := &cobra.Command{Use: "update (-g GROUP -n NAME | --principal P) --enabled true|false",
		Short: "Enable or disable an identity: a disabled one gets no tokens and its tokens fail everywhere",
		Long: "Disable or enable a user-assigned identity by name, or any identity (system-assigned ones\n" +
			"included) with --principal: a client id, principal id, or identity or app resource id.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			on, err := strconv.ParseBool(enabled)
			if err != nil {
				return fmt.Errorf("--enabled %q: use true or false", enabled)
			}
			byName := t.group != "" || t.name != ""
			if byName == (principal != "") || byName && (t.group == "" || t.name == "") {
				return fmt.Errorf("give -g and -n, or --principal")
			}
			api, err := e.api()
			if err != nil {
				return err
			}
			var out map[string]any
			if principal != "" {
				if err := api.Do(cmd.Context(), "PATCH", mgmt.PrincipalsPath+"/"+escape(principal), map[string]any{"enabled": on}, &out); err != nil {
					return err
				}
				return e.print(cols("PrincipalId", "principalId", "ClientId", "clientId", "Kind", "kind", "Enabled", "enabled"), out)
			}
			path := groupPath(api, t.group) + identityType + "/" + escape(t.name)
			if err := api.Do(cmd.Context(), "PATCH", path, map[string]any{"properties": map[string]any{"enabled": on}}, &out); err != nil {
				return err
			}
			return e.print(slices.Concat(identityColumns, cols("Enabled", "enabled")), flatten(out))
		}}
	c.Flags().StringVarP(&t.group, "resource-group", "g", "", "resource group")
	c.Flags().StringVarP(&t.name, "name", "n", "", "identity name")
	c.Flags().StringVar(&principal, "principal", "", "any identity: client id, principal id, or identity or app resource id")
	c.Flags().StringVar(&enabled, "enabled", "", "true or false")
	_ = c.MarkFlagRequired("enabled")
	return c
}
