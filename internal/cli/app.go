package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/client"
	"github.com/lanyard-id/lanyard/internal/mgmt"
)

const siteType = "/providers/Microsoft.Web/sites"

var appColumns = cols("Name", "name", "ResourceGroup", "resourceGroup", "Location", "location", "Identity", "identity.type", "State", "state")

func appPath(api *client.Client, t target) string {
	return groupPath(api, t.group) + siteType + "/" + escape(t.name)
}

func appCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "app", Short: "Manage apps (Microsoft.Web/sites) and their identities"}

	var (
		ct              target
		system          bool
		identities      []string
		location        string
		defaultIdentity string
		role, scope     string
	)
	create := &cobra.Command{Use: "create", Short: "Create an app", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			tags := map[string]string{}
			if defaultIdentity != "" {
				if !slices.ContainsFunc(identities, func(ref string) bool { return sameRef(ref, defaultIdentity) }) {
					return fmt.Errorf("--default-identity %s is not among --identities", defaultIdentity)
				}
				tags[mgmt.DefaultIdentityTag] = identityRef(api, ct.group, defaultIdentity)
			}
			if role != "" && !system && defaultIdentity == "" {
				return errors.New("--role is given to the app's default identity: add --system-assigned or --default-identity")
			}
			var out map[string]any
			body := map[string]any{"location": location, "identity": identityBlock(system, identities), "tags": tags}
			if err := api.Do(cmd.Context(), "PUT", appPath(api, ct), body, &out); err != nil {
				return err
			}
			if role != "" {
				principal := defaultPrincipal(out, tags[mgmt.DefaultIdentityTag])
				if principal == "" {
					return fmt.Errorf("the app was created, but its default identity has no principal id to give %q to", role)
				}
				at := scopeOr(api, scope, ct.group)
				if _, err := assignRole(cmd.Context(), api, principal, role, at, nil); err != nil {
					return fmt.Errorf("the app was created, but giving its identity %q failed: %w", role, err)
				}
				fmt.Fprintf(e.stderr, "Gave the app's default identity (principal %s) the role %q at %s.\n", principal, role, at)
			}
			return e.print(appColumns, flatten(out))
		})}
	ct.flags(create, "app")
	create.Flags().BoolVar(&system, "system-assigned", false, "give the app a system-assigned identity")
	create.Flags().StringSliceVar(&identities, "identities", nil, "user-assigned identities to assign (names, resource ids or client ids)")
	create.Flags().StringVarP(&location, "location", "l", "", "location (default: the group's)")
	create.Flags().StringVar(&defaultIdentity, "default-identity", "", "the user-assigned identity (one of --identities) whose client id the app gets as AZURE_CLIENT_ID; without it, the SDKs use the system-assigned identity")
	create.Flags().StringVar(&role, "role", "", "give the app's default identity this role (as az webapp create --assign-identity --role)")
	create.Flags().StringVar(&scope, "scope", "", "scope of --role (default: the app's resource group)")

	apps := groupResource{noun: "app", typePath: siteType, columns: appColumns}
	cmd.AddCommand(create, apps.verb(e, "show", "Show an app", "GET"), apps.list(e, "List apps"), apps.verb(e, "delete", "Delete an app and its system-assigned identity", "DELETE"),
		appIdentityCmd(e), appEnvCmd(e), appRunCmd(e), appRotateCmd(e))
	return cmd
}

// identityBlock builds an ARM identity block naming the wanted identities.
func identityBlock(system bool, users []string) map[string]any {
	var types []string
	if system {
		types = append(types, "SystemAssigned")
	}
	block := map[string]any{}
	if len(users) > 0 {
		types = append(types, "UserAssigned")
		ua := map[string]any{}
		for _, u := range users {
			ua[u] = map[string]any{}
		}
		block["userAssignedIdentities"] = ua
	}
	if len(types) == 0 {
		types = []string{"None"}
	}
	block["type"] = strings.Join(types, ", ")
	return block
}

var appIdentityColumns = cols("Type", "type", "PrincipalId", "principalId", "UserAssignedIdentities", "userAssignedIdentities")

func appIdentityCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "identity", Short: "Assign, remove and show an app's managed identities"}

	edit := func(use, short string, add bool) *cobra.Command {
		var (
			t          target
			system     bool
			identities []string
		)
		c := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs,
			RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
				if !system && len(identities) == 0 {
					system = true // as az: no identities named means the system-assigned one
				}
				var app map[string]any
				if err := api.Do(cmd.Context(), "GET", appPath(api, t), nil, &app); err != nil {
					return err
				}
				hasSystem, users := currentIdentities(app)
				if add {
					hasSystem = hasSystem || system
					users = append(users, identities...)
				} else {
					if system {
						hasSystem = false
					}
					users = without(users, identities)
				}
				var out map[string]any
				if err := api.Do(cmd.Context(), "PATCH", appPath(api, t), map[string]any{"identity": identityBlock(hasSystem, users)}, &out); err != nil {
					return err
				}
				return e.print(appIdentityColumns, out["identity"])
			})}
		t.flags(c, "app")
		c.Flags().BoolVar(&system, "system-assigned", false, "the system-assigned identity")
		c.Flags().StringSliceVar(&identities, "identities", nil, "user-assigned identities (names, resource ids or client ids)")
		return c
	}

	var st target
	show := &cobra.Command{Use: "show", Short: "Show an app's identities", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			var app map[string]any
			if err := api.Do(cmd.Context(), "GET", appPath(api, st), nil, &app); err != nil {
				return err
			}
			return e.print(appIdentityColumns, app["identity"])
		})}
	st.flags(show, "app")

	cmd.AddCommand(edit("assign", "Assign identities to an app", true), edit("remove", "Remove identities from an app", false), show)
	return cmd
}

// currentIdentities reads the identity block of an app resource. User-assigned identities
// come back as resource ids, which the server accepts as references.
func currentIdentities(app map[string]any) (bool, []string) {
	block, _ := app["identity"].(map[string]any)
	if block == nil {
		return false, nil
	}
	typ, _ := block["type"].(string)
	var users []string
	if ua, ok := block["userAssignedIdentities"].(map[string]any); ok {
		for id := range ua {
			users = append(users, id)
		}
	}
	sort.Strings(users)
	return strings.Contains(typ, "SystemAssigned"), users
}

// without removes from list every entry named in drop: by resource id, or by the last
// segment of a resource id (a bare name).
func without(list, drop []string) []string {
	var out []string
	for _, id := range list {
		keep := true
		for _, d := range drop {
			if strings.EqualFold(id, d) || strings.EqualFold(id[strings.LastIndex(id, "/")+1:], d) {
				keep = false
			}
		}
		if keep {
			out = append(out, id)
		}
	}
	return out
}

// appEnvironment fetches the variables an app's process needs.
func appEnvironment(ctx context.Context, api *client.Client, t target) (map[string]string, error) {
	var vars map[string]string
	if err := api.Do(ctx, "POST", appPath(api, t)+"/listIdentityEnvironment", nil, &vars); err != nil {
		return nil, err
	}
	return vars, nil
}

func sortedEnv(vars map[string]string) []string {
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func appEnvCmd(e *env) *cobra.Command {
	var t target
	var shell, clientID string
	c := &cobra.Command{Use: "env", Short: "Print the environment an app's process needs, as shell commands: eval \"$(lanyard app env -g RG -n APP)\"", Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if _, ok := shells[shell]; !ok {
				return fmt.Errorf("--shell %q: use one of %s", shell, shellNames())
			}
			return nil
		},
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			vars, err := appEnvironment(cmd.Context(), api, t)
			if err == nil {
				vars, err = withClientID(vars, clientID)
			}
			if err != nil {
				return err
			}
			return printEnv(e.stdout, shell, vars)
		})}
	t.flags(c, "app")
	c.Flags().StringVar(&shell, "shell", "bash", "bash (also zsh, sh), fish, powershell, or dotenv (KEY=VALUE lines)")
	c.Flags().StringVar(&clientID, "client-id", "", "AZURE_CLIENT_ID: a user-assigned identity of the app other than its default one")
	return c
}

func appRunCmd(e *env) *cobra.Command {
	var t target
	var clientID string
	c := &cobra.Command{Use: "run -g GROUP -n APP -- COMMAND [ARGS...]", Short: "Run a command as the app, with its managed-identity environment",
		Args: cobra.MinimumNArgs(1),
		RunE: e.withAPI(func(cmd *cobra.Command, args []string, api *client.Client) error {
			vars, err := appEnvironment(cmd.Context(), api, t)
			if err == nil {
				vars, err = withClientID(vars, clientID)
			}
			if err != nil {
				return err
			}
			child := exec.Command(args[0], args[1:]...)
			child.Env = childEnv(vars)
			child.Stdin, child.Stdout, child.Stderr = os.Stdin, e.stdout, e.stderr
			if err := child.Start(); err != nil {
				return fmt.Errorf("start %s: %w", args[0], err)
			}
			// Pass interrupts on to the child and let it decide when to stop.
			sigs := make(chan os.Signal, 1)
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
			defer signal.Stop(sigs)
			go func() {
				for s := range sigs {
					_ = child.Process.Signal(s)
				}
			}()
			err = child.Wait()
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return &exitError{code: exit.ExitCode()}
			}
			return err
		})}
	t.flags(c, "app")
	c.Flags().StringVar(&clientID, "client-id", "", "AZURE_CLIENT_ID: a user-assigned identity of the app other than its default one")
	return c
}

func appRotateCmd(e *env) *cobra.Command {
	var t target
	c := &cobra.Command{Use: "rotate-header", Short: "Give an app a new identity header; the old one stops working at once", Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			if err := api.Do(cmd.Context(), "POST", appPath(api, t)+"/rotateIdentityHeader", nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(e.stderr, "The identity header was rotated; restart the app's processes with `lanyard app env` or `lanyard app run`.")
			return nil
		})}
	t.flags(c, "app")
	return c
}

// sameRef reports whether two identity references name the same identity as far as the
// CLI can tell without asking: equal, or equal names (a resource id's last segment).
func sameRef(a, b string) bool {
	last := func(s string) string { return s[strings.LastIndex(s, "/")+1:] }
	return strings.EqualFold(a, b) || strings.EqualFold(last(a), last(b))
}

// defaultPrincipal is the principal id of the identity an app's code uses by default: the
// user-assigned one ref names (resource id, client id or principal id), else the
// system-assigned one.
func defaultPrincipal(app map[string]any, ref string) string {
	block, _ := app["identity"].(map[string]any)
	if ref == "" {
		p, _ := block["principalId"].(string)
		return p
	}
	ua, _ := block["userAssignedIdentities"].(map[string]any)
	for id, v := range ua {
		m, _ := v.(map[string]any)
		p, _ := m["principalId"].(string)
		c, _ := m["clientId"].(string)
		if strings.EqualFold(id, ref) || strings.EqualFold(c, ref) || strings.EqualFold(p, ref) {
			return p
		}
	}
	return ""
}
