// Command goarmsdk is an infrastructure-as-code flow as a platform team writes it: the
// unmodified Azure SDK for Go's management clients (armresources, armmsi,
// armauthorization, armstorage) with a managed-identity credential, pointed at Lanyard's
// management API instead of management.azure.com. It runs one scripted deployment in one
// process (one token, so the suite stays fast) and prints what each step saw as a JSON
// array: [{"step":..., "status":..., "code":..., "value":...}], for the e2e test to judge.
// Every response of every step is also checked for the request ids ARM sends
// (x-ms-request-id, x-ms-correlation-request-id, and x-ms-client-request-id echoed); a
// response without them is reported as the step "request-ids".
//
// Usage: goarmsdk -api URL -subscription ID -principal ID
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/postgresql/armpostgresqlflexibleservers"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
)

// Built-in role GUIDs, the same in every cloud.
const (
	readerRole      = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	contributorRole = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	ownerRole       = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
)

// result is what one step saw.
type result struct {
	Step   string `json:"step"`
	Status int    `json:"status,omitempty"` // of the step's last response
	Code   string `json:"code,omitempty"`   // ARM error code, when the step failed
	Value  any    `json:"value,omitempty"`
	Err    string `json:"err,omitempty"` // a failure that is not an ARM error
}

// recorder is a pipeline policy that notes each response's status and checks its request
// ids.
type recorder struct {
	mu       sync.Mutex
	last     int
	statuses []int
	missing  []string
}

func (rec *recorder) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if err != nil {
		return resp, err
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.last = resp.StatusCode
	rec.statuses = append(rec.statuses, resp.StatusCode)
	what := req.Raw().Method + " " + req.Raw().URL.Path + ":"
	sent := req.Raw().Header.Get("x-ms-client-request-id")
	if resp.Header.Get("x-ms-request-id") == "" {
		rec.missing = append(rec.missing, what+" x-ms-request-id")
	}
	if resp.Header.Get("x-ms-correlation-request-id") == "" {
		rec.missing = append(rec.missing, what+" x-ms-correlation-request-id")
	}
	if sent == "" || resp.Header.Get("x-ms-client-request-id") != sent {
		rec.missing = append(rec.missing, what+" x-ms-client-request-id "+sent)
	}
	if resp.StatusCode >= 400 && resp.Request.Method != http.MethodHead && resp.Header.Get("x-ms-error-code") == "" {
		rec.missing = append(rec.missing, what+" x-ms-error-code")
	}
	return resp, nil
}

func (rec *recorder) take() (last int, all []int) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	last, all = rec.last, rec.statuses
	rec.last, rec.statuses = 0, nil
	return last, all
}

type run struct {
	ctx     context.Context
	rec     *recorder
	results []result
}

// step runs fn and records its outcome.
func (r *run) step(name string, fn func() (any, error)) {
	v, err := fn()
	res := result{Step: name, Value: v}
	res.Status, _ = r.rec.take()
	var re *azcore.ResponseError
	switch {
	case errors.As(err, &re):
		res.Status, res.Code = re.StatusCode, re.ErrorCode
	case err != nil:
		res.Err = err.Error()
	}
	r.results = append(r.results, res)
}

func main() {
	var api, sub, principal string
	flag.StringVar(&api, "api", "", "Lanyard's management endpoint, e.g. https://127.0.0.1:10443")
	flag.StringVar(&sub, "subscription", "", "the subscription id")
	flag.StringVar(&principal, "principal", "", "a principal to assign roles to")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := deploy(ctx, api, sub, principal)
	if err != nil {
		fmt.Fprintln(os.Stderr, "goarmsdk:", err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

func deploy(ctx context.Context, api, sub, principal string) ([]result, error) {
	// The app's own identity, system-assigned: what NewDefaultAzureCredential gives it too.
	cred, err := azidentity.NewManagedIdentityCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("new credential: %w", err)
	}
	rec := &recorder{}
	opts := &arm.ClientOptions{ClientOptions: azcore.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: api + "/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Audience: "https://management.azure.com", Endpoint: api},
			},
		},
		// The Go management SDKs send no x-ms-client-request-id of their own; the data-plane
		// SDKs add it with this policy, and so does this deployment, to see it echoed.
		PerCallPolicies:  []policy.Policy{runtime.NewRequestIDPolicy()},
		PerRetryPolicies: []policy.Policy{rec},
		// A failure here is a finding, not something to retry for minutes.
		Retry: policy.RetryOptions{MaxRetries: -1},
	}}
	r := &run{ctx: ctx, rec: rec}
	groups, err := armresources.NewResourceGroupsClient(sub, cred, opts)
	if err != nil {
		return nil, err
	}
	resources, _ := armresources.NewClient(sub, cred, opts)
	identities, _ := armmsi.NewUserAssignedIdentitiesClient(sub, cred, opts)
	fics, _ := armmsi.NewFederatedIdentityCredentialsClient(sub, cred, opts)
	roleDefs, _ := armauthorization.NewRoleDefinitionsClient(cred, opts)
	assignments, _ := armauthorization.NewRoleAssignmentsClient(sub, cred, opts)
	accounts, _ := armstorage.NewAccountsClient(sub, cred, opts)
	blobServices, _ := armstorage.NewBlobServicesClient(sub, cred, opts)
	containers, _ := armstorage.NewBlobContainersClient(sub, cred, opts)
	const rg, account = "sdk-rg", "sdkacct1"
	rgScope := "/subscriptions/" + sub + "/resourceGroups/" + rg

	// Resource groups.
	r.step("rg-exists-before", func() (any, error) {
		res, err := groups.CheckExistence(ctx, rg, nil)
		return res.Success, err
	})
	r.step("rg-create", func() (any, error) {
		res, err := groups.CreateOrUpdate(ctx, rg, armresources.ResourceGroup{Location: to.Ptr("local")}, nil)
		return deref(res.Name), err
	})
	r.step("rg-create-again", func() (any, error) {
		res, err := groups.CreateOrUpdate(ctx, rg, armresources.ResourceGroup{Location: to.Ptr("local"), Tags: map[string]*string{"env": to.Ptr("ci")}}, nil)
		return res.Tags["env"], err
	})
	r.step("rg-exists", func() (any, error) {
		res, err := groups.CheckExistence(ctx, rg, nil)
		return res.Success, err
	})
	for _, extra := range []string{"sdk-rg-2", "sdk-rg-3", "sdk-rg-4"} {
		if _, err := groups.CreateOrUpdate(ctx, extra, armresources.ResourceGroup{Location: to.Ptr("local")}, nil); err != nil {
			return nil, fmt.Errorf("create %s: %w", extra, err)
		}
		rec.take()
	}
	r.step("rg-list-top2", func() (any, error) {
		pager := groups.NewListPager(&armresources.ResourceGroupsClientListOptions{Top: to.Ptr[int32](2)})
		var pages, largest int
		var names []string
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			pages, largest = pages+1, max(largest, len(page.Value))
			for _, g := range page.Value {
				names = append(names, deref(g.Name))
			}
		}
		return map[string]any{"pages": pages, "largest": largest, "names": names}, nil
	})

	// Identities and federated credentials.
	var identityID, identityPrincipal string
	r.step("identity-create", func() (any, error) {
		res, err := identities.CreateOrUpdate(ctx, rg, "sdk-id", armmsi.Identity{Location: to.Ptr("local")}, nil)
		if err != nil {
			return nil, err
		}
		identityID, identityPrincipal = deref(res.ID), deref(res.Properties.PrincipalID)
		return identityPrincipal != "" && deref(res.Properties.ClientID) != "", nil
	})
	r.step("identity-get", func() (any, error) {
		res, err := identities.Get(ctx, rg, "sdk-id", nil)
		return deref(res.ID) == identityID, err
	})
	r.step("identity-list", func() (any, error) {
		return count(ctx, identities.NewListByResourceGroupPager(rg, nil), func(p armmsi.UserAssignedIdentitiesClientListByResourceGroupResponse) int { return len(p.Value) })
	})
	fic := armmsi.FederatedIdentityCredential{Properties: &armmsi.FederatedIdentityCredentialProperties{
		Issuer: to.Ptr("https://token.actions.githubusercontent.com"), Subject: to.Ptr("repo:octo/app:ref:refs/heads/main"),
		Audiences: []*string{to.Ptr("api://AzureADTokenExchange")},
	}}
	r.step("fic-create", func() (any, error) {
		res, err := fics.CreateOrUpdate(ctx, rg, "sdk-id", "github-main", fic, nil)
		if err != nil {
			return nil, err
		}
		return deref(res.Properties.Subject), nil
	})
	r.step("fic-create-again", func() (any, error) {
		res, err := fics.CreateOrUpdate(ctx, rg, "sdk-id", "github-main", fic, nil)
		if err != nil {
			return nil, err
		}
		return deref(res.Properties.Subject), nil
	})
	r.step("fic-list", func() (any, error) {
		return count(ctx, fics.NewListPager(rg, "sdk-id", nil), func(p armmsi.FederatedIdentityCredentialsClientListResponse) int { return len(p.Value) })
	})
	r.step("fic-delete", func() (any, error) {
		_, err := fics.Delete(ctx, rg, "sdk-id", "github-main", nil)
		return nil, err
	})
	r.step("fic-delete-again", func() (any, error) {
		_, err := fics.Delete(ctx, rg, "sdk-id", "github-main", nil)
		return nil, err
	})

	// Storage accounts.
	r.step("account-name-free", func() (any, error) {
		res, err := accounts.CheckNameAvailability(ctx, armstorage.AccountCheckNameAvailabilityParameters{Name: to.Ptr(account), Type: to.Ptr("Microsoft.Storage/storageAccounts")}, nil)
		return deref(res.NameAvailable), err
	})
	r.step("account-create", func() (any, error) {
		poller, err := accounts.BeginCreate(ctx, rg, account, armstorage.AccountCreateParameters{
			Kind: to.Ptr(armstorage.KindStorageV2), Location: to.Ptr("local"), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardRAGRS)},
			Properties: &armstorage.AccountPropertiesCreateParameters{AllowSharedKeyAccess: to.Ptr(false)},
		}, nil)
		if err != nil {
			return nil, err
		}
		res, err := poller.PollUntilDone(ctx, &runtimePollOptions)
		if err != nil {
			return nil, err
		}
		return string(deref(res.Properties.ProvisioningState)), nil
	})
	r.step("account-create-again", func() (any, error) {
		poller, err := accounts.BeginCreate(ctx, rg, account, armstorage.AccountCreateParameters{
			Kind: to.Ptr(armstorage.KindStorageV2), Location: to.Ptr("local"), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardRAGRS)},
		}, nil)
		if err != nil {
			return nil, err
		}
		res, err := poller.PollUntilDone(ctx, &runtimePollOptions)
		if err != nil {
			return nil, err
		}
		return string(deref(res.Properties.ProvisioningState)), nil
	})
	r.step("account-name-taken", func() (any, error) {
		res, err := accounts.CheckNameAvailability(ctx, armstorage.AccountCheckNameAvailabilityParameters{Name: to.Ptr(account), Type: to.Ptr("Microsoft.Storage/storageAccounts")}, nil)
		return map[string]any{"available": deref(res.NameAvailable), "reason": string(deref(res.Reason))}, err
	})
	r.step("account-get", func() (any, error) {
		res, err := accounts.GetProperties(ctx, rg, account, nil)
		if err != nil {
			return nil, err
		}
		out := map[string]any{"blob": deref(res.Properties.PrimaryEndpoints.Blob), "sharedKey": deref(res.Properties.AllowSharedKeyAccess),
			"sku": string(deref(res.SKU.Name)), "tier": string(deref(res.SKU.Tier))}
		if res.Properties.SecondaryEndpoints != nil {
			out["secondary"] = deref(res.Properties.SecondaryEndpoints.Blob)
		}
		return out, nil
	})
	r.step("account-update-sku", func() (any, error) {
		res, err := accounts.Update(ctx, rg, account, armstorage.AccountUpdateParameters{SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardGRS)}}, nil)
		if err != nil {
			return nil, err
		}
		return string(deref(res.SKU.Name)), nil
	})
	r.step("account-update-sku-not-in-place", func() (any, error) {
		_, err := accounts.Update(ctx, rg, account, armstorage.AccountUpdateParameters{SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNamePremiumLRS)}}, nil)
		return nil, err
	})
	r.step("account-create-invalid-sku", func() (any, error) {
		poller, err := accounts.BeginCreate(ctx, rg, account+"x", armstorage.AccountCreateParameters{
			Kind: to.Ptr(armstorage.KindStorageV2), Location: to.Ptr("local"), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUName("Standard_XYZ"))},
		}, nil)
		if err != nil {
			return nil, err
		}
		_, err = poller.PollUntilDone(ctx, &runtimePollOptions)
		return nil, err
	})
	r.step("account-list", func() (any, error) {
		return count(ctx, accounts.NewListByResourceGroupPager(rg, nil), func(p armstorage.AccountsClientListByResourceGroupResponse) int { return len(p.Value) })
	})
	r.step("account-list-keys", func() (any, error) {
		_, err := accounts.ListKeys(ctx, rg, account, nil)
		return nil, err
	})
	r.step("blob-service-get", func() (any, error) {
		res, err := blobServices.GetServiceProperties(ctx, rg, account, nil)
		return deref(res.Name), err
	})
	r.step("blob-service-set", func() (any, error) {
		res, err := blobServices.SetServiceProperties(ctx, rg, account, armstorage.BlobServiceProperties{BlobServiceProperties: &armstorage.BlobServicePropertiesProperties{}}, nil)
		return deref(res.Name), err
	})
	r.step("blob-service-container-retention", func() (any, error) {
		res, err := blobServices.SetServiceProperties(ctx, rg, account, armstorage.BlobServiceProperties{BlobServiceProperties: &armstorage.BlobServicePropertiesProperties{
			ContainerDeleteRetentionPolicy: &armstorage.DeleteRetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr[int32](7)},
		}}, nil)
		if err != nil {
			return nil, err
		}
		return deref(res.BlobServiceProperties.BlobServiceProperties.ContainerDeleteRetentionPolicy.Days), nil
	})
	r.step("blob-service-container-retention-get", func() (any, error) {
		res, err := blobServices.GetServiceProperties(ctx, rg, account, nil)
		if err != nil {
			return nil, err
		}
		p := res.BlobServiceProperties.BlobServiceProperties.ContainerDeleteRetentionPolicy
		return map[string]any{"enabled": deref(p.Enabled), "days": deref(p.Days)}, nil
	})
	r.step("blob-service-container-retention-invalid", func() (any, error) {
		_, err := blobServices.SetServiceProperties(ctx, rg, account, armstorage.BlobServiceProperties{BlobServiceProperties: &armstorage.BlobServicePropertiesProperties{
			ContainerDeleteRetentionPolicy: &armstorage.DeleteRetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr[int32](366)},
		}}, nil)
		return nil, err
	})
	r.step("blob-service-protect", func() (any, error) {
		_, err := blobServices.SetServiceProperties(ctx, rg, account, armstorage.BlobServiceProperties{BlobServiceProperties: &armstorage.BlobServicePropertiesProperties{
			IsVersioningEnabled:   to.Ptr(true),
			DeleteRetentionPolicy: &armstorage.DeleteRetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr[int32](7)},
		}}, nil)
		if err != nil {
			return nil, err
		}
		res, err := blobServices.GetServiceProperties(ctx, rg, account, nil)
		if err != nil {
			return nil, err
		}
		p := res.BlobServiceProperties.BlobServiceProperties
		return fmt.Sprintf("versioning=%v days=%d containerDays=%d", deref(p.IsVersioningEnabled), deref(p.DeleteRetentionPolicy.Days), deref(p.ContainerDeleteRetentionPolicy.Days)), nil
	})
	r.step("container-create", func() (any, error) {
		res, err := containers.Create(ctx, rg, account, "deploy", armstorage.BlobContainer{ContainerProperties: &armstorage.ContainerProperties{Metadata: map[string]*string{"owner": to.Ptr("platform")}}}, nil)
		return deref(res.Name), err
	})
	r.step("container-create-again", func() (any, error) {
		res, err := containers.Create(ctx, rg, account, "deploy", armstorage.BlobContainer{ContainerProperties: &armstorage.ContainerProperties{Metadata: map[string]*string{"owner": to.Ptr("platform")}}}, nil)
		return deref(res.Name), err
	})
	r.step("container-get", func() (any, error) {
		res, err := containers.Get(ctx, rg, account, "deploy", nil)
		if err != nil {
			return nil, err
		}
		return deref(res.ContainerProperties.Metadata["owner"]), nil
	})
	r.step("container-list", func() (any, error) {
		return count(ctx, containers.NewListPager(rg, account, nil), func(p armstorage.BlobContainersClientListResponse) int { return len(p.Value) })
	})

	// A web app with system- and user-assigned identities, through the generic resources
	// client (armappservice is not on the module proxy).
	siteID := rgScope + "/providers/Microsoft.Web/sites/sdk-web"
	site := func() (any, error) {
		poller, err := resources.BeginCreateOrUpdateByID(ctx, siteID, "2023-12-01", armresources.GenericResource{
			Location: to.Ptr("local"),
			Identity: &armresources.Identity{
				Type:                   to.Ptr(armresources.ResourceIdentityTypeSystemAssignedUserAssigned),
				UserAssignedIdentities: map[string]*armresources.IdentityUserAssignedIdentitiesValue{identityID: {}},
			},
		}, nil)
		if err != nil {
			return nil, err
		}
		res, err := poller.PollUntilDone(ctx, &runtimePollOptions)
		if err != nil {
			return nil, err
		}
		if res.Identity == nil {
			return nil, errors.New("no identity block")
		}
		uai := res.Identity.UserAssignedIdentities[identityID]
		return map[string]any{
			"type":            string(deref(res.Identity.Type)),
			"systemPrincipal": deref(res.Identity.PrincipalID) != "",
			"userPrincipal":   uai != nil && deref(uai.PrincipalID) == identityPrincipal,
		}, nil
	}
	r.step("site-create", site)
	r.step("site-redeploy", site)

	// Generic resources.
	r.step("resources-list", func() (any, error) {
		var types []string
		pager := resources.NewListByResourceGroupPager(rg, nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, res := range page.Value {
				types = append(types, deref(res.Type))
			}
		}
		slices.Sort(types)
		return types, nil
	})
	r.step("resources-list-top1", func() (any, error) {
		pager := resources.NewListByResourceGroupPager(rg, &armresources.ClientListByResourceGroupOptions{Top: to.Ptr[int32](1)})
		pages := 0
		for pager.More() {
			if _, err := pager.NextPage(ctx); err != nil {
				return nil, err
			}
			pages++
		}
		return pages, nil
	})
	r.step("resource-get-by-id", func() (any, error) {
		res, err := resources.GetByID(ctx, identityID, "2023-01-31", nil)
		return deref(res.Type), err
	})
	r.step("resource-exists-by-id", func() (any, error) {
		res, err := resources.CheckExistenceByID(ctx, identityID, "2023-01-31", nil)
		return res.Success, err
	})

	// Role definitions.
	r.step("roledefs-builtin-filter", func() (any, error) {
		names := map[string]bool{}
		pager := roleDefs.NewListPager("/subscriptions/"+sub, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("type eq 'BuiltInRole'")})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, d := range page.Value {
				if deref(d.Properties.RoleType) != "BuiltInRole" {
					return nil, fmt.Errorf("a %s in the built-in list: %s", deref(d.Properties.RoleType), deref(d.Properties.RoleName))
				}
				names[deref(d.Properties.RoleName)] = true
			}
		}
		return names["Owner"] && names["Reader"] && names["Storage Blob Data Contributor"], nil
	})
	r.step("roledefs-at-root", func() (any, error) {
		return count(ctx, roleDefs.NewListPager("/", nil), func(p armauthorization.RoleDefinitionsClientListResponse) int { return len(p.Value) })
	})
	r.step("roledef-get-at-root", func() (any, error) {
		res, err := roleDefs.Get(ctx, "/", ownerRole, nil)
		if err != nil {
			return nil, err
		}
		return deref(res.Properties.RoleName), nil
	})
	r.step("roledef-get-by-id", func() (any, error) {
		res, err := roleDefs.GetByID(ctx, "/subscriptions/"+sub+"/providers/Microsoft.Authorization/roleDefinitions/"+readerRole, nil)
		if err != nil {
			return nil, err
		}
		return deref(res.Properties.RoleName), nil
	})
	customRole := "2d6c5e3a-6f0e-4b44-9a8f-1c2b3d4e5f60"
	r.step("roledef-create", func() (any, error) {
		res, err := roleDefs.CreateOrUpdate(ctx, rgScope, customRole, customRoleBody(rgScope), nil)
		if err != nil {
			return nil, err
		}
		return deref(res.Properties.RoleType), nil
	})
	r.step("roledef-update", func() (any, error) {
		res, err := roleDefs.CreateOrUpdate(ctx, rgScope, customRole, customRoleBody(rgScope), nil)
		if err != nil {
			return nil, err
		}
		return deref(res.Properties.RoleType), nil
	})

	r.step("roledefs-at-root-after-create", func() (any, error) {
		// A custom role now exists; at the root a caller other than the admin sees the
		// built-in roles only.
		custom := 0
		pager := roleDefs.NewListPager("/", nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, d := range page.Value {
				if deref(d.Properties.RoleType) != "BuiltInRole" {
					custom++
				}
			}
		}
		return custom, nil
	})

	// Role assignments, as a template redeploy sends them.
	const assignment, other = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5", "1d2e3f4a-5b6c-4d7e-8f90-91a2b3c4d5e6"
	assign := func(name, role string) (armauthorization.RoleAssignmentsClientCreateResponse, error) {
		return assignments.Create(ctx, rgScope, name, armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
			RoleDefinitionID: to.Ptr("/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + role),
			PrincipalID:      to.Ptr(identityPrincipal), PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
		}}, nil)
	}
	r.step("assignment-create", func() (any, error) {
		res, err := assign(assignment, readerRole)
		return deref(res.Name), err
	})
	r.step("assignment-redeploy", func() (any, error) {
		res, err := assign(assignment, readerRole)
		return deref(res.Name), err
	})
	r.step("assignment-same-name-other-role", func() (any, error) {
		_, err := assign(assignment, contributorRole)
		return nil, err
	})
	r.step("assignment-other-name-same-body", func() (any, error) {
		_, err := assign(other, readerRole)
		return nil, err
	})
	r.step("assignment-list-rg", func() (any, error) {
		return count(ctx, assignments.NewListForResourceGroupPager(rg, &armauthorization.RoleAssignmentsClientListForResourceGroupOptions{Filter: to.Ptr("principalId eq '" + identityPrincipal + "'")}),
			func(p armauthorization.RoleAssignmentsClientListForResourceGroupResponse) int { return len(p.Value) })
	})
	r.step("assignment-list-scope", func() (any, error) {
		if _, err := assign(other, contributorRole); err != nil {
			return nil, err
		}
		rec.take()
		return count(ctx, assignments.NewListForScopePager(rgScope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr("atScope()")}),
			func(p armauthorization.RoleAssignmentsClientListForScopeResponse) int { return len(p.Value) })
	})
	r.step("assignment-get", func() (any, error) {
		res, err := assignments.Get(ctx, rgScope, assignment, nil)
		if err != nil {
			return nil, err
		}
		return deref(res.Properties.PrincipalID) == identityPrincipal, nil
	})
	r.step("assignment-delete", func() (any, error) {
		_, err := assignments.Delete(ctx, rgScope, assignment, nil)
		return nil, err
	})
	r.step("assignment-delete-again", func() (any, error) {
		_, err := assignments.Delete(ctx, rgScope, assignment, nil)
		return nil, err
	})
	if principal != "" {
		r.step("assignment-owner-other-principal", func() (any, error) {
			res, err := assignments.Create(ctx, rgScope, "2e3f4a5b-6c7d-4e8f-9012-a2b3c4d5e6f7", armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
				RoleDefinitionID: to.Ptr("/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + ownerRole), PrincipalID: to.Ptr(principal),
			}}, nil)
			return deref(res.Name), err
		})
	}

	// Tearing down.
	r.step("container-delete", func() (any, error) {
		_, err := containers.Delete(ctx, rg, account, "deploy", nil)
		return nil, err
	})
	r.step("container-delete-again", func() (any, error) {
		_, err := containers.Delete(ctx, rg, account, "deploy", nil)
		return nil, err
	})
	// The account keeps deleted containers (blob-service-container-retention).
	r.step("container-list-deleted", func() (any, error) {
		var deleted []string
		pager := containers.NewListPager(rg, account, &armstorage.BlobContainersClientListOptions{Include: to.Ptr(armstorage.ListContainersIncludeDeleted)})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, c := range page.Value {
				if p := c.Properties; p != nil && deref(p.Deleted) && deref(p.RemainingRetentionDays) == 7 && len(deref(p.Version)) == 16 && p.DeletedTime != nil {
					deleted = append(deleted, deref(c.Name))
				}
			}
		}
		return deleted, nil
	})
	// PostgreSQL flexible servers: created with the generic client (Lanyard's server takes
	// the upstream it fronts, which Azure's model has no field for), then read, listed and
	// deleted with the typed client.
	pgServers, _ := armpostgresqlflexibleservers.NewServersClient(sub, cred, opts)
	r.step("pg-create", func() (any, error) {
		poller, err := resources.BeginCreateOrUpdateByID(ctx, rgScope+"/providers/Microsoft.DBforPostgreSQL/flexibleServers/sdk-pg", "2022-12-01", armresources.GenericResource{
			Location:   to.Ptr("local"),
			Properties: map[string]any{"upstream": "host=127.0.0.1 port=5 dbname=postgres user=lanyard_admin sslmode=require"},
		}, nil)
		if err != nil {
			return nil, err
		}
		res, err := poller.PollUntilDone(ctx, &runtimePollOptions)
		return deref(res.Name), err
	})
	r.step("pg-get", func() (any, error) {
		res, err := pgServers.Get(ctx, rg, "sdk-pg", nil)
		if err != nil {
			return nil, err
		}
		return map[string]any{"fqdn": deref(res.Properties.FullyQualifiedDomainName), "state": deref(res.Properties.State)}, nil
	})
	r.step("pg-list", func() (any, error) {
		return count(ctx, pgServers.NewListByResourceGroupPager(rg, nil), func(p armpostgresqlflexibleservers.ServersClientListByResourceGroupResponse) int { return len(p.Value) })
	})
	r.step("pg-delete", func() (any, error) {
		poller, err := pgServers.BeginDelete(ctx, rg, "sdk-pg", nil)
		if err != nil {
			return nil, err
		}
		_, err = poller.PollUntilDone(ctx, &runtimePollOptions)
		return nil, err
	})
	r.step("pg-get-after-delete", func() (any, error) {
		_, err := pgServers.Get(ctx, rg, "sdk-pg", nil)
		return nil, err
	})
	r.step("account-delete", func() (any, error) {
		_, err := accounts.Delete(ctx, rg, account, nil)
		return nil, err
	})
	r.step("account-delete-again", func() (any, error) {
		_, err := accounts.Delete(ctx, rg, account, nil)
		return nil, err
	})
	r.step("site-delete", func() (any, error) {
		poller, err := resources.BeginDeleteByID(ctx, siteID, "2023-12-01", nil)
		if err != nil {
			return nil, err
		}
		_, err = poller.PollUntilDone(ctx, &runtimePollOptions)
		return nil, err
	})
	r.step("identity-delete", func() (any, error) {
		_, err := identities.Delete(ctx, rg, "sdk-id", nil)
		return nil, err
	})
	r.step("identity-delete-again", func() (any, error) {
		_, err := identities.Delete(ctx, rg, "sdk-id", nil)
		return nil, err
	})
	r.step("rg-delete", func() (any, error) {
		poller, err := groups.BeginDelete(ctx, "sdk-rg-4", nil)
		if err != nil {
			return nil, err
		}
		_, err = poller.PollUntilDone(ctx, &runtimePollOptions)
		return nil, err
	})
	r.step("rg-exists-after-delete", func() (any, error) {
		res, err := groups.CheckExistence(ctx, "sdk-rg-4", nil)
		return res.Success, err
	})
	rec.mu.Lock()
	missing := rec.missing
	rec.mu.Unlock()
	r.results = append(r.results, result{Step: "request-ids", Value: missing})
	return r.results, nil
}

// runtimePollOptions polls as often as azcore allows when the server sends no Retry-After.
var runtimePollOptions = runtime.PollUntilDoneOptions{Frequency: time.Second}

func customRoleBody(scope string) armauthorization.RoleDefinition {
	return armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
		RoleName: to.Ptr("Deploy Reader"), RoleType: to.Ptr("CustomRole"), Description: to.Ptr("reads what a deployment made"),
		Permissions:      []*armauthorization.Permission{{Actions: []*string{to.Ptr("*/read")}}},
		AssignableScopes: []*string{to.Ptr(scope)},
	}}
}

// count pages through pager and returns the pages and the items it saw.
func count[T any](ctx context.Context, pager interface {
	More() bool
	NextPage(context.Context) (T, error)
}, n func(T) int) (any, error) {
	items := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		items += n(page)
	}
	return items, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
