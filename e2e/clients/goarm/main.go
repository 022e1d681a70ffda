// Command goarm is a management client as a user would write it: the unmodified Azure SDK
// for Go's ARM clients (armauthorization, armresources) with a managed-identity credential,
// pointed at Lanyard's management API instead of management.azure.com. It performs one
// operation and prints its outcome as JSON: {"ok":true,...} or the ARM error the SDK
// returned ({"status":403,"code":"LinkedAuthorizationFailed"}). Each run is a fresh process,
// so MSAL's per-process caches never carry over between scenarios.
//
// Usage: goarm -api URL -client-id ID -op OP [-scope S] [-name GUID] [-resource ID] [-identity ID] [-assignable S]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

type options struct {
	api, clientID, op, scope, name, resource, identity, assignable, subscription string
}

func main() {
	var o options
	flag.StringVar(&o.api, "api", "", "Lanyard's management endpoint, e.g. https://127.0.0.1:10443")
	flag.StringVar(&o.clientID, "client-id", "", "the user-assigned identity to act as")
	flag.StringVar(&o.op, "op", "", "bind-identity | put-role-definition | delete-role-definition | get-role-assignment | delete-role-assignment")
	flag.StringVar(&o.scope, "scope", "", "the scope a role definition or assignment is addressed at")
	flag.StringVar(&o.name, "name", "", "the role definition or assignment GUID")
	flag.StringVar(&o.resource, "resource", "", "the resource to create (bind-identity)")
	flag.StringVar(&o.identity, "identity", "", "the user-assigned identity to bind (bind-identity)")
	flag.StringVar(&o.assignable, "assignable", "", "the role's assignable scope (put-role-definition)")
	flag.StringVar(&o.subscription, "subscription", "", "the subscription id")
	flag.Parse()
	out, err := run(o)
	if err != nil {
		var re *azcore.ResponseError
		if !errors.As(err, &re) {
			fmt.Fprintln(os.Stderr, "goarm:", err)
			os.Exit(1)
		}
		out = map[string]any{"status": re.StatusCode, "code": re.ErrorCode}
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

func run(o options) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(o.clientID)})
	if err != nil {
		return nil, fmt.Errorf("new credential: %w", err)
	}
	opts := &arm.ClientOptions{ClientOptions: azcore.ClientOptions{Cloud: cloud.Configuration{
		ActiveDirectoryAuthorityHost: o.api + "/",
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Audience: "https://management.azure.com", Endpoint: o.api},
		},
	}}}
	switch o.op {
	case "bind-identity":
		c, err := armresources.NewClient(o.subscription, cred, opts)
		if err != nil {
			return nil, err
		}
		poller, err := c.BeginCreateOrUpdateByID(ctx, o.resource, "2023-01-01", armresources.GenericResource{
			Location: to.Ptr("local"),
			Identity: &armresources.Identity{
				Type:                   to.Ptr(armresources.ResourceIdentityTypeUserAssigned),
				UserAssignedIdentities: map[string]*armresources.IdentityUserAssignedIdentitiesValue{o.identity: {}},
			},
		}, nil)
		if err != nil {
			return nil, err
		}
		res, err := poller.PollUntilDone(ctx, nil)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ok": true, "id": deref(res.ID)}, nil
	case "put-role-definition":
		c, err := armauthorization.NewRoleDefinitionsClient(cred, opts)
		if err != nil {
			return nil, err
		}
		res, err := c.CreateOrUpdate(ctx, o.scope, o.name, armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
			RoleName:         to.Ptr("Taken over"),
			Permissions:      []*armauthorization.Permission{{Actions: []*string{to.Ptr("*")}}},
			AssignableScopes: []*string{to.Ptr(o.assignable)},
		}}, nil)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ok": true, "id": deref(res.ID)}, nil
	case "delete-role-definition":
		c, err := armauthorization.NewRoleDefinitionsClient(cred, opts)
		if err != nil {
			return nil, err
		}
		if _, err := c.Delete(ctx, o.scope, o.name, nil); err != nil {
			return nil, err
		}
		return map[string]any{"ok": true}, nil
	case "get-role-assignment":
		c, err := armauthorization.NewRoleAssignmentsClient(o.subscription, cred, opts)
		if err != nil {
			return nil, err
		}
		res, err := c.Get(ctx, o.scope, o.name, nil)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ok": true, "id": deref(res.ID), "scope": deref(res.Properties.Scope)}, nil
	case "delete-role-assignment":
		c, err := armauthorization.NewRoleAssignmentsClient(o.subscription, cred, opts)
		if err != nil {
			return nil, err
		}
		res, err := c.Delete(ctx, o.scope, o.name, nil)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ok": true, "deleted": res.ID != nil && strings.HasSuffix(*res.ID, o.name)}, nil
	}
	return nil, fmt.Errorf("unknown -op %q", o.op)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
