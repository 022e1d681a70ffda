package cli

import (
	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/client"
)

var federatedCredentialColumns = cols("Name", "name", "ResourceGroup", "resourceGroup", "Issuer", "issuer", "Subject", "subject", "Audiences", "audiences")

// federatedCredentialCmd is `lanyard identity federated-credential`, as az spells it: let a
// workload prove itself with a token of another issuer (GitHub Actions, Kubernetes, ...).
func federatedCredentialCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "federated-credential",
		Short: "Manage federated identity credentials: trust tokens of GitHub Actions, Kubernetes or another OIDC issuer",
		Long: "A federated identity credential lets a workload that holds a token from a trusted issuer (a GitHub\n" +
			"Actions job, a Kubernetes service account) exchange it for tokens of the identity, through the\n" +
			"authority's token endpoint, with no secret: WorkloadIdentityCredential in the Azure SDKs.",
	}

	// flags are what every verb shares; each verb registers those it takes.
	type flags struct {
		group, identity, name        string
		issuer, subject, description string
		audiences                    []string
	}
	collection := func(api *client.Client, f *flags) string {
		return groupPath(api, f.group) + identityType + "/" + escape(f.identity) + "/federatedIdentityCredentials"
	}
	common := func(c *cobra.Command, f *flags, named bool) {
		c.Flags().StringVarP(&f.group, "resource-group", "g", "", "resource group of the identity")
		c.Flags().StringVar(&f.identity, "identity-name", "", "user-assigned identity name")
		_ = c.MarkFlagRequired("resource-group")
		_ = c.MarkFlagRequired("identity-name")
		if named {
			c.Flags().StringVarP(&f.name, "name", "n", "", "federated credential name (3-120 letters, digits, '-' or '_')")
			_ = c.MarkFlagRequired("name")
		}
	}

	var create flags
	createCmd := &cobra.Command{Use: "create", Short: "Create or update a federated identity credential", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			props := map[string]any{"issuer": create.issuer, "subject": create.subject}
			if len(create.audiences) > 0 {
				props["audiences"] = create.audiences
			}
			if create.description != "" {
				props["description"] = create.description
			}
			var out map[string]any
			if err := api.Do(cmd.Context(), "PUT", collection(api, &create)+"/"+escape(create.name), map[string]any{"properties": props}, &out); err != nil {
				return err
			}
			return e.print(federatedCredentialColumns, flatten(out))
		})}
	common(createCmd, &create, true)
	createCmd.Flags().StringVar(&create.issuer, "issuer", "", "issuer URL, exactly as the tokens' iss claim (e.g. https://token.actions.githubusercontent.com)")
	createCmd.Flags().StringVar(&create.subject, "subject", "", "subject, exactly as the tokens' sub claim (e.g. repo:org/repo:ref:refs/heads/main)")
	createCmd.Flags().StringSliceVar(&create.audiences, "audiences", nil, "audience the tokens carry (default api://AzureADTokenExchange)")
	createCmd.Flags().StringVar(&create.description, "description", "", "free text")
	_ = createCmd.MarkFlagRequired("issuer")
	_ = createCmd.MarkFlagRequired("subject")

	// one builds show and delete, which differ only in method.
	one := func(use, short, method string) *cobra.Command {
		var f flags
		c := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs,
			RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
				path := collection(api, &f) + "/" + escape(f.name)
				if method == "DELETE" {
					return e.remove(cmd.Context(), api, "federated credential", path)
				}
				var out map[string]any
				if err := api.Do(cmd.Context(), method, path, nil, &out); err != nil {
					return err
				}
				return e.print(federatedCredentialColumns, flatten(out))
			})}
		common(c, &f, true)
		return c
	}

	var list flags
	listCmd := &cobra.Command{Use: "list", Short: "List an identity's federated identity credentials", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			items, err := api.List(cmd.Context(), collection(api, &list))
			if err != nil {
				return err
			}
			return e.print(federatedCredentialColumns, flattenAll(items))
		})}
	common(listCmd, &list, false)

	cmd.AddCommand(createCmd, one("show", "Show a federated identity credential", "GET"), listCmd,
		one("delete", "Delete a federated identity credential", "DELETE"))
	return cmd
}
