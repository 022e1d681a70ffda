package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/client"
	"github.com/lanyard-id/lanyard/internal/profile"
)

// defaultProfile is the name login gives a profile when none is chosen.
const defaultProfile = "default"

// api returns a client for the server the command talks to: the chosen profile's (--profile,
// LANYARD_PROFILE, or the current one), else the one whose data folder is --home.
func (e *env) api() (*client.Client, error) {
	f, err := profile.Load(e.home)
	if err != nil {
		return nil, err
	}
	_, p, ok, err := f.Select(e.profile)
	if err != nil {
		return nil, err
	}
	if !ok {
		return client.Open(e.home)
	}
	return connect(p)
}

// withAPI is the RunE of a command that calls the management API: the client for the
// chosen server is opened once here, not in every command. Checks of flags that need no
// server belong in the command's PreRunE, which runs first.
func (e *env) withAPI(fn func(cmd *cobra.Command, args []string, api *client.Client) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		api, err := e.api()
		if err != nil {
			return err
		}
		return fn(cmd, args, api)
	}
}

// connect builds a client for profile p. Nothing is called yet: an Azure credential gets
// its token at the first call.
func connect(p profile.Profile) (*client.Client, error) {
	hc, err := client.HTTPClient([]byte(p.CA))
	if err != nil {
		return nil, fmt.Errorf("the profile's CA: %w", err)
	}
	cred, err := credential(p, hc)
	if err != nil {
		return nil, err
	}
	return client.New(client.Config{APIURL: p.Server, SubscriptionID: p.SubscriptionID, TenantID: p.TenantID, Credential: cred, HTTP: hc})
}

// credential is the token source of profile p.
func credential(p profile.Profile, hc *http.Client) (client.TokenSource, error) {
	c := p.Credential
	if c.Kind == profile.KindAdmin {
		return client.ReadAdminToken(c.AdminTokenFile)
	}
	// The SDK calls the authority (and a managed-identity endpoint) through hc, so that it
	// trusts the pinned CA; tokens Lanyard accepts come from Lanyard's authority only.
	opts := azcore.ClientOptions{Transport: hc, Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: p.AuthorityHost + "/"}}
	var (
		cred azcore.TokenCredential
		err  error
	)
	if c.ManagedIdentity {
		mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		if c.ClientID != "" {
			mo.ID = azidentity.ClientID(c.ClientID)
		}
		cred, err = azidentity.NewManagedIdentityCredential(mo)
	} else {
		// DisableInstanceDiscovery: MSAL would otherwise ask Microsoft's cloud whether
		// Lanyard's authority is a known one.
		cred, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: opts, TenantID: p.TenantID, DisableInstanceDiscovery: true})
	}
	if err != nil {
		return nil, fmt.Errorf("set up the Azure credential: %w", err)
	}
	return client.AzureToken(cred), nil
}

type loginFlags struct {
	server, caFile, adminTokenFile, clientID, subscription string
	identity, azure                                        bool
}

func loginCmd(e *env) *cobra.Command {
	var lf loginFlags
	c := &cobra.Command{Use: "login", Short: "Log in to a Lanyard server and save it as a profile (--profile, default \"default\")",
		Long: "Log in to the Lanyard server whose management API is at --server, and save the connection as a\n" +
			"profile in the data folder (profiles.json), which then becomes the current one. With the admin\n" +
			"credential (--admin-token-file, whose path is saved, not the secret) every command may do anything;\n" +
			"with an Azure credential (--identity for a managed identity, --azure for DefaultAzureCredential)\n" +
			"each command gets a fresh token and the server's RBAC decides what it may do.",
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			return lf.check()
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			name := e.profile
			if name == "" {
				name = defaultProfile
			}
			if err := profile.CheckName(name); err != nil {
				return err
			}
			f, err := profile.Load(e.home)
			if err != nil {
				return err
			}
			p, err := lf.login(cmd.Context())
			if err != nil {
				return err
			}
			f.Profiles[name] = p
			f.Current = name
			if err := profile.Save(e.home, f); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "Logged in to %s as profile %q (now the current profile), subscription %s.\n", p.Server, name, p.SubscriptionID)
			return e.print(profileColumns, profileView(f, name))
		}}
	c.Flags().StringVar(&lf.server, "server", "", "the Lanyard management API's URL, e.g. https://lanyard.example:10443")
	c.Flags().StringVar(&lf.caFile, "ca-file", "", "Lanyard's CA certificate (PEM), pinned in the profile (default: trust the system roots)")
	c.Flags().StringVar(&lf.adminTokenFile, "admin-token-file", "", "authenticate with the admin credential in this file (its path is saved, not its content)")
	c.Flags().BoolVar(&lf.identity, "identity", false, "authenticate with a managed identity (the IDENTITY_ENDPOINT environment, as set by `lanyard app run`)")
	c.Flags().StringVar(&lf.clientID, "client-id", "", "with --identity: the client id of a user-assigned identity")
	c.Flags().BoolVar(&lf.azure, "azure", false, "authenticate with the Azure SDK's DefaultAzureCredential (environment, workload identity, managed identity, Azure CLI), signing in at the server's authority")
	c.Flags().StringVar(&lf.subscription, "subscription", "", "subscription id (default: the one the server lists, or the one the identity lives in)")
	_ = c.MarkFlagRequired("server")
	c.MarkFlagsMutuallyExclusive("admin-token-file", "identity", "azure")
	c.MarkFlagsOneRequired("admin-token-file", "identity", "azure")
	return c
}

// check refuses what cobra's flag groups do not, before anything is called.
func (lf loginFlags) check() error {
	if lf.clientID != "" && !lf.identity {
		return errors.New("--client-id names a managed identity: add --identity")
	}
	if lf.clientID != "" && uuid.Validate(lf.clientID) != nil {
		return fmt.Errorf("--client-id %q: give the identity's client id, a GUID", lf.clientID)
	}
	return nil
}

// login learns where the server's callers sign in, checks that the credential works, and
// learns the subscription: everything a profile holds.
func (lf loginFlags) login(ctx context.Context) (profile.Profile, error) {
	p := profile.Profile{Server: strings.TrimSuffix(lf.server, "/")}
	if lf.caFile != "" {
		pemBytes, err := os.ReadFile(lf.caFile)
		if err != nil {
			return p, fmt.Errorf("read --ca-file: %w", err)
		}
		p.CA = string(pemBytes)
	}
	hc, err := client.HTTPClient([]byte(p.CA))
	if err != nil {
		return p, fmt.Errorf("--ca-file %s: %w", lf.caFile, err)
	}
	ch, err := client.Discover(ctx, hc, p.Server)
	if err != nil {
		return p, err
	}
	p.AuthorityHost, p.TenantID = ch.AuthorityHost, ch.TenantID
	switch {
	case lf.adminTokenFile != "":
		abs, err := filepath.Abs(lf.adminTokenFile)
		if err != nil {
			return p, fmt.Errorf("--admin-token-file: %w", err)
		}
		p.Credential = profile.Credential{Kind: profile.KindAdmin, AdminTokenFile: abs}
	default:
		p.Credential = profile.Credential{Kind: profile.KindAzure, ManagedIdentity: lf.identity, ClientID: lf.clientID}
	}
	cred, err := credential(p, hc)
	if err != nil {
		return p, err
	}
	api, err := client.New(client.Config{APIURL: p.Server, TenantID: p.TenantID, Credential: cred, HTTP: hc})
	if err != nil {
		return p, err
	}
	p.SubscriptionID, err = lf.pickSubscription(ctx, api, cred, p.TenantID)
	if err != nil {
		return p, err
	}
	return p, p.Validate()
}

// pickSubscription lists the subscriptions the credential reaches, which also proves the
// credential works. A principal with no role yet reaches none (a server before 0.9 refused
// the list to principals without a role at the root); its subscription is then
// --subscription, or the one its token's identity lives in (xms_mirid).
func (lf loginFlags) pickSubscription(ctx context.Context, api *client.Client, cred client.TokenSource, tenant string) (string, error) {
	unlisted := func() (string, error) {
		if lf.subscription != "" {
			return lf.subscription, nil
		}
		tok, err := cred.Token(ctx)
		if err != nil {
			return "", err
		}
		if sub := subscriptionOf(tok); sub != "" {
			return sub, nil
		}
		return "", errors.New("the credential reaches no subscription and its token names none: give --subscription (`lanyard up` prints it)")
	}
	subs, err := api.List(ctx, "/subscriptions")
	var denied *client.Error
	if errors.As(err, &denied) && denied.Status == http.StatusForbidden || err == nil && len(subs) == 0 {
		return unlisted()
	}
	if err != nil {
		return "", err
	}
	var ids []string
	for _, s := range subs {
		id, _ := s["subscriptionId"].(string)
		if t, _ := s["tenantId"].(string); id == "" || t != "" && !strings.EqualFold(t, tenant) {
			continue
		}
		if lf.subscription == "" || strings.EqualFold(id, lf.subscription) {
			ids = append(ids, id)
		}
	}
	switch {
	case len(ids) == 1:
		return ids[0], nil
	case lf.subscription != "":
		return "", fmt.Errorf("subscription %s is not one the server lists for this credential", lf.subscription)
	case len(ids) == 0:
		return "", errors.New("the server lists no subscription for this credential")
	default:
		return "", fmt.Errorf("the server lists %d subscriptions: choose one with --subscription", len(ids))
	}
}

// subscriptionOf reads, without verifying (the server does that), the subscription in the
// resource id of the managed identity a token was issued to.
func subscriptionOf(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		MIRID string `json:"xms_mirid"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return ""
	}
	segs := strings.Split(strings.TrimPrefix(claims.MIRID, "/"), "/")
	if len(segs) < 2 || !strings.EqualFold(segs[0], "subscriptions") || uuid.Validate(segs[1]) != nil {
		return ""
	}
	return segs[1]
}

var profileColumns = cols("Name", "name", "Current", "current", "Server", "server", "Subscription", "subscriptionId", "Credential", "credential")

// profileView is how profile list and show print a profile: no PEM, and the credential as
// one word.
func profileView(f profile.File, name string) map[string]any {
	p := f.Profiles[name]
	cred := p.Credential.Kind
	switch {
	case p.Credential.Kind == profile.KindAdmin:
		cred += " (" + p.Credential.AdminTokenFile + ")"
	case p.Credential.ManagedIdentity && p.Credential.ClientID != "":
		cred = "managed identity " + p.Credential.ClientID
	case p.Credential.ManagedIdentity:
		cred = "managed identity"
	}
	ca := "system roots"
	if p.CA != "" {
		ca = "pinned"
	}
	return map[string]any{
		"name": name, "current": f.Current == name, "server": p.Server, "authorityHost": p.AuthorityHost,
		"tenantId": p.TenantID, "subscriptionId": p.SubscriptionID, "credential": cred, "ca": ca,
	}
}

func logoutCmd(e *env) *cobra.Command {
	return &cobra.Command{Use: "logout", Short: "Forget a profile (--profile, default the current one)", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			f, err := profile.Load(e.home)
			if err != nil {
				return err
			}
			name, _, ok, err := f.Select(e.profile)
			if err != nil {
				return err
			}
			if !ok {
				return errors.New("no current profile: name one with --profile (see `lanyard profile list`)")
			}
			delete(f.Profiles, name)
			if f.Current == name {
				f.Current = ""
			}
			if err := profile.Save(e.home, f); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "Removed profile %q; the admin credential file, if any, is untouched.\n", name)
			return nil
		}}
}

func profileCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "profile", Short: "List, show and choose the servers you logged in to"}
	list := &cobra.Command{Use: "list", Short: "List profiles", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			f, err := profile.Load(e.home)
			if err != nil {
				return err
			}
			out := []map[string]any{}
			for _, n := range f.Names() {
				out = append(out, profileView(f, n))
			}
			return e.print(profileColumns, out)
		}}
	show := &cobra.Command{Use: "show", Short: "Show a profile (--profile, default the current one)", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			f, err := profile.Load(e.home)
			if err != nil {
				return err
			}
			name, _, ok, err := f.Select(e.profile)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("no current profile: commands use the server of %s", e.home)
			}
			return e.print(profileColumns, profileView(f, name))
		}}
	var local bool
	use := &cobra.Command{Use: "use NAME | --local", Short: "Make a profile the current one, or (--local) go back to the server of the data folder",
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if local == (len(args) == 1) {
				return errors.New("give a profile name, or --local")
			}
			f, err := profile.Load(e.home)
			if err != nil {
				return err
			}
			f.Current = ""
			if !local {
				if f.Current, _, _, err = f.Select(args[0]); err != nil {
					return err
				}
			}
			if err := profile.Save(e.home, f); err != nil {
				return err
			}
			if local {
				fmt.Fprintf(e.stderr, "Commands now use the server of %s.\n", e.home)
			} else {
				fmt.Fprintf(e.stderr, "Commands now use profile %q.\n", f.Current)
			}
			return nil
		}}
	use.Flags().BoolVar(&local, "local", false, "use no profile: the server whose data folder is --home")
	cmd.AddCommand(list, show, use)
	return cmd
}
