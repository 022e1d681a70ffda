package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/client"
)

const siteType = "/providers/Microsoft.Web/sites"

var appColumns = cols("Name", "name", "ResourceGroup", "resourceGroup", "Location", "location", "Identity", "identity.type", "State", "state")

func appPath(api *client.Client, t target) string {
	return groupPath(api, t.group) + siteType + "/" + escape(t.name)
}

func appCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "app", Short: "Manage apps (Microsoft.Web/sites) and their identities"}

	var (
		ct         target
		system     bool
		identities []string
		location   string
	)
	create := &cobra.Command{Use: "create", Short: "Create an app", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := e.api()
			if err != nil {
				return err
			}
			var out map[string]any
			body := map[string]any{"location": location, "identity": identityBlock(system, identities)}
			if err := api.Do(cmd.Context(), "PUT", appPath(api, ct), body, &out); err != nil {
				return err
			}
			return e.print(appColumns, flatten(out))
		}}
	ct.flags(create, "app")
	create.Flags().BoolVar(&system, "system-assigned", false, "give the app a system-assigned identity")
	create.Flags().StringSliceVar(&identities, "identities", nil, "user-assigned identities to assign (names, resource ids or client ids)")
	create.Flags().StringVarP(&location, "location", "l", "", "location (default: the group's)")

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
			RunE: func(cmd *cobra.Command, _ []string) error {
				api, err := e.api()
				if err != nil {
					return err
				}
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
			}}
		t.flags(c, "app")
		c.Flags().BoolVar(&system, "system-assigned", false, "the system-assigned identity")
		c.Flags().StringSliceVar(&identities, "identities", nil, "user-assigned identities (names, resource ids or client ids)")
		return c
	}

	var st target
	show := &cobra.Command{Use: "show", Short: "Show an app's identities", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := e.api()
			if err != nil {
				return err
			}
			var app map[string]any
			if err := api.Do(cmd.Context(), "GET", appPath(api, st), nil, &app); err != nil {
				return err
			}
			return e.print(appIdentityColumns, app["identity"])
		}}
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
	c := &cobra.Command{Use: "env", Short: "Print the environment an app's process needs (KEY=VALUE lines)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := e.api()
			if err != nil {
				return err
			}
			vars, err := appEnvironment(cmd.Context(), api, t)
			if err != nil {
				return err
			}
			for _, kv := range sortedEnv(vars) {
				fmt.Fprintln(e.stdout, kv)
			}
			return nil
		}}
	t.flags(c, "app")
	return c
}

func appRunCmd(e *env) *cobra.Command {
	var t target
	c := &cobra.Command{Use: "run -g GROUP -n APP -- COMMAND [ARGS...]", Short: "Run a command as the app, with its managed-identity environment",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := e.api()
			if err != nil {
				return err
			}
			vars, err := appEnvironment(cmd.Context(), api, t)
			if err != nil {
				return err
			}
			child := exec.Command(args[0], args[1:]...)
			child.Env = append(os.Environ(), sortedEnv(vars)...)
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
		}}
	t.flags(c, "app")
	return c
}

func appRotateCmd(e *env) *cobra.Command {
	var t target
	c := &cobra.Command{Use: "rotate-header", Short: "Give an app a new identity header; the old one stops working at once", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := e.api()
			if err != nil {
				return err
			}
			if err := api.Do(cmd.Context(), "POST", appPath(api, t)+"/rotateIdentityHeader", nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(e.stderr, "The identity header was rotated; restart the app's processes with `lanyard app env` or `lanyard app run`.")
			return nil
		}}
	t.flags(c, "app")
	return c
}
