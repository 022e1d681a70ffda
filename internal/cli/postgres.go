package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/client"
)

// PostgreSQL servers, shaped like `az postgres flexible-server`: the server resource, its
// Entra administrators (ad-admin), and the roles bound to principals (Lanyard's own
// principal commands, what pgaadauth_create_principal does in SQL).

const postgresType = "/providers/Microsoft.DBforPostgreSQL/flexibleServers"

var (
	postgresColumns  = cols("Name", "name", "ResourceGroup", "resourceGroup", "Listen", "listenAddress", "Upstream", "upstream", "UpstreamAuth", "upstreamAuth")
	adAdminColumns   = cols("PrincipalName", "principalName", "ObjectId", "objectId", "PrincipalType", "principalType")
	principalColumns = cols("Role", "roleName", "ObjectId", "objectId", "Type", "principalType", "Admin", "isAdmin")
)

func postgresCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "postgres", Short: "Manage PostgreSQL servers that apps log in to with their identity's token"}
	server := &cobra.Command{Use: "server", Short: "Manage PostgreSQL servers (front ends to a PostgreSQL you run)"}
	servers := groupResource{noun: "PostgreSQL server", typePath: postgresType, columns: postgresColumns}
	server.AddCommand(
		postgresCreateCmd(e),
		servers.verb(e, "show", "Show a PostgreSQL server", "GET"),
		servers.list(e, "List PostgreSQL servers"),
		servers.verb(e, "delete", "Delete a PostgreSQL server and its role bindings (nothing is dropped upstream)", "DELETE"),
		adAdminCmd(e),
	)
	cmd.AddCommand(server, principalCmd(e))
	return cmd
}

func postgresCreateCmd(e *env) *cobra.Command {
	var (
		t                                target
		location, upstream, listen, auth string
	)
	c := &cobra.Command{Use: "create", Short: "Create a PostgreSQL server in front of an upstream PostgreSQL", Args: cobra.NoArgs,
		Long: `Create a PostgreSQL server: Lanyard listens on --listen (by default a free loopback port,
never 5432) and logs apps in with their managed identity's token as the password, as the
roles bound to them, to the upstream PostgreSQL named by --upstream. The upstream's user
is the administrator login Lanyard creates the bound roles with; its password, if given,
is kept sealed and never shown again.`,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			if auth != "" && auth != "cert" && auth != "password" {
				return fmt.Errorf("--upstream-auth is cert or password, not %q", auth)
			}
			props := map[string]any{"upstream": upstream}
			if listen != "" {
				props["listenAddress"] = listen
			}
			if auth != "" {
				props["upstreamAuth"] = auth
			}
			var out map[string]any
			if err := api.Do(cmd.Context(), "PUT", groupPath(api, t.group)+postgresType+"/"+escape(t.name),
				map[string]any{"location": location, "properties": props}, &out); err != nil {
				return err
			}
			return e.print(postgresColumns, flatten(out))
		})}
	t.flags(c, "server")
	c.Flags().StringVarP(&location, "location", "l", "", "location (default: the group's)")
	c.Flags().StringVar(&upstream, "upstream", "", "the upstream's connection string, as a URL or key=value pairs, with the administrator login")
	c.Flags().StringVar(&listen, "listen", "", "host:port to listen on (default: a free loopback port)")
	c.Flags().StringVar(&auth, "upstream-auth", "", "how bound roles log in upstream: cert (a client certificate from Lanyard's CA) or password (default: password when --upstream has one, cert otherwise)")
	_ = c.MarkFlagRequired("upstream")
	return c
}

// serverTarget is -g and -s (--server-name), as az's flexible-server subcommands name it.
type serverTarget struct{ group, server string }

func (t *serverTarget) flags(c *cobra.Command) {
	c.Flags().StringVarP(&t.group, "resource-group", "g", "", "resource group")
	c.Flags().StringVarP(&t.server, "server-name", "s", "", "PostgreSQL server name")
	_ = c.MarkFlagRequired("resource-group")
	_ = c.MarkFlagRequired("server-name")
}

func (t serverTarget) path(api *client.Client) string {
	return groupPath(api, t.group) + postgresType + "/" + escape(t.server)
}

// principalRef is --identity (resolved as --assignee is) or --object-id.
type principalRef struct{ identity, objectID string }

func (p *principalRef) flags(c *cobra.Command) {
	c.Flags().StringVar(&p.identity, "identity", "", "the identity: a name (in -g), a resource id, a client id or a principal id")
	c.Flags().StringVarP(&p.objectID, "object-id", "i", "", "the principal's object id, as given")
	c.MarkFlagsMutuallyExclusive("identity", "object-id")
	c.MarkFlagsOneRequired("identity", "object-id")
}

func (p principalRef) resolve(cmd *cobra.Command, api *client.Client, group string) (string, error) {
	if p.objectID != "" {
		if !isGUID(p.objectID) {
			return "", fmt.Errorf("--object-id %q is not a GUID", p.objectID)
		}
		return p.objectID, nil
	}
	return resolveAssignee(cmd.Context(), api, p.identity, group)
}

func adAdminCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "ad-admin", Short: "Manage a PostgreSQL server's Entra administrators"}

	var (
		ct          serverTarget
		cref        principalRef
		displayName string
	)
	create := &cobra.Command{Use: "create", Short: "Make an identity an administrator of a server (its role is created upstream)", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			oid, err := cref.resolve(cmd, api, ct.group)
			if err != nil {
				return err
			}
			props := map[string]any{"principalType": "ServicePrincipal", "tenantId": api.TenantID()}
			if displayName != "" {
				props["principalName"] = displayName
			}
			var out map[string]any
			if err := api.Do(cmd.Context(), "PUT", ct.path(api)+"/administrators/"+escape(oid), map[string]any{"properties": props}, &out); err != nil {
				return err
			}
			return e.print(adAdminColumns, flatten(out))
		})}
	ct.flags(create)
	cref.flags(create)
	create.Flags().StringVarP(&displayName, "display-name", "u", "", "the administrator's role name (default: the identity's name)")

	var lt serverTarget
	list := &cobra.Command{Use: "list", Short: "List a server's administrators", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			items, err := api.List(cmd.Context(), lt.path(api)+"/administrators")
			if err != nil {
				return err
			}
			return e.print(adAdminColumns, flattenAll(items))
		})}
	lt.flags(list)

	var (
		dt   serverTarget
		dref principalRef
	)
	del := &cobra.Command{Use: "delete", Short: "Remove an administrator of a server (its role is dropped upstream)", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			oid, err := dref.resolve(cmd, api, dt.group)
			if err != nil {
				return err
			}
			return e.remove(cmd.Context(), api, "administrator", dt.path(api)+"/administrators/"+escape(oid))
		})}
	dt.flags(del)
	dref.flags(del)

	cmd.AddCommand(create, list, del)
	return cmd
}

func principalCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "principal", Short: "Manage the roles of a PostgreSQL server bound to principals (pgaadauth_create_principal)"}

	var (
		ct                   serverTarget
		role, objectID, kind string
		admin                bool
	)
	create := &cobra.Command{Use: "create", Short: "Create a role upstream and bind it to a principal", Args: cobra.NoArgs,
		Long: `Create role --role upstream and bind it to a principal: only a token of that principal logs in
as the role. Without --object-id the role is the name of an identity or app Lanyard knows,
as pgaadauth_create_principal('name', false, false) does.`,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			if objectID != "" && !isGUID(objectID) {
				return fmt.Errorf("--object-id %q is not a GUID", objectID)
			}
			switch kind {
			case "", "service", "user", "group":
			default:
				return fmt.Errorf("--type is service, user or group, not %q", kind)
			}
			props := map[string]any{"isAdmin": admin}
			if objectID != "" {
				props["objectId"] = objectID
			}
			if kind != "" {
				props["principalType"] = kind
			}
			var out map[string]any
			if err := api.Do(cmd.Context(), "PUT", ct.path(api)+"/principals/"+escape(role), map[string]any{"properties": props}, &out); err != nil {
				return err
			}
			return e.print(principalColumns, flatten(out))
		})}
	ct.flags(create)
	create.Flags().StringVar(&role, "role", "", "the role (the user name apps log in as; case-sensitive)")
	create.Flags().StringVar(&objectID, "object-id", "", "the principal's object id (default: the identity or app named --role)")
	create.Flags().StringVar(&kind, "type", "", "service, user or group (default: service)")
	create.Flags().BoolVar(&admin, "admin", false, "make the role an administrator (it may create and bind other roles)")
	_ = create.MarkFlagRequired("role")

	var (
		st    serverTarget
		srole string
	)
	show := &cobra.Command{Use: "show", Short: "Show a role's binding", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			var out map[string]any
			if err := api.Do(cmd.Context(), "GET", st.path(api)+"/principals/"+escape(srole), nil, &out); err != nil {
				return err
			}
			return e.print(principalColumns, flatten(out))
		})}
	st.flags(show)
	show.Flags().StringVar(&srole, "role", "", "the role")
	_ = show.MarkFlagRequired("role")

	var lt serverTarget
	list := &cobra.Command{Use: "list", Short: "List a server's bound roles", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			items, err := api.List(cmd.Context(), lt.path(api)+"/principals")
			if err != nil {
				return err
			}
			return e.print(principalColumns, flattenAll(items))
		})}
	lt.flags(list)

	var (
		dt    serverTarget
		drole string
	)
	del := &cobra.Command{Use: "delete", Short: "Drop a role upstream and its binding", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			return e.remove(cmd.Context(), api, "role", dt.path(api)+"/principals/"+escape(drole))
		})}
	dt.flags(del)
	del.Flags().StringVar(&drole, "role", "", "the role")
	_ = del.MarkFlagRequired("role")

	cmd.AddCommand(create, show, list, del)
	return cmd
}
