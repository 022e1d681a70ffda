package e2e

import (
	"encoding/json"
	"testing"
)

// TestARMSDKDeployment runs a deployment written with the official Go management SDKs
// (armresources, armmsi, armauthorization, armstorage; e2e/clients/goarmsdk) as an app
// holding Owner on the subscription, with its own managed-identity credential: resource
// groups, identities and federated credentials, storage accounts and their containers,
// a web app with system- and user-assigned identities (through the generic client:
// armappservice is not on the module proxy), generic resources, role definitions and
// assignments, redeployed as a template redeploys
// them, then torn down. Each step's status and ARM error code are the ones the REST specs
// give the operation; every response carries ARM's request ids.
func TestARMSDKDeployment(t *testing.T) {
	inst := up(t)
	sub := inst.state.SubscriptionID
	inst.cli(t, "group", "create", "-n", "demo")
	inst.cli(t, "app", "create", "-g", "demo", "-n", "deployer", "--system-assigned", "--role", "Owner", "--scope", "/subscriptions/"+sub)
	var other map[string]any
	inst.cliJSON(t, &other, "identity", "create", "-g", "demo", "-n", "other")
	bin := buildClient(t, "goarmsdk")
	out, errOut, err := inst.try("app", "run", "-g", "demo", "-n", "deployer", "--", bin,
		"-api", inst.state.APIURL, "-subscription", sub, "-principal", other["principalId"].(string))
	if err != nil {
		t.Fatalf("goarmsdk: %v\n%s%s", err, out, errOut)
	}
	var results []struct {
		Step   string          `json:"step"`
		Status int             `json:"status"`
		Code   string          `json:"code"`
		Value  json.RawMessage `json:"value"`
		Err    string          `json:"err"`
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("goarmsdk printed %q: %v", out, err)
	}
	// status 0 accepts any status the SDK took as success; value "" is not checked.
	want := map[string]struct {
		status int
		code   string
		value  string
	}{
		"rg-exists-before":     {404, "", `false`},
		"rg-create":            {201, "", `"sdk-rg"`},
		"rg-create-again":      {200, "", `"ci"`},
		"rg-exists":            {204, "", `true`},
		"rg-list-top2":         {200, "", `{"largest":2,"names":["demo","sdk-rg","sdk-rg-2","sdk-rg-3","sdk-rg-4"],"pages":3}`},
		"identity-create":      {201, "", `true`},
		"identity-get":         {200, "", `true`},
		"identity-list":        {200, "", `1`},
		"fic-create":           {201, "", `"repo:octo/app:ref:refs/heads/main"`},
		"fic-create-again":     {200, "", `"repo:octo/app:ref:refs/heads/main"`},
		"fic-list":             {200, "", `1`},
		"fic-delete":           {200, "", ""},
		"fic-delete-again":     {204, "", ""},
		"account-name-free":    {200, "", `true`},
		"account-create":       {0, "", `"Succeeded"`},
		"account-create-again": {0, "", `"Succeeded"`},
		"account-name-taken":   {200, "", `{"available":false,"reason":"AlreadyExists"}`},
		"account-get": {200, "", `{"blob":"` + inst.state.BlobURL + `/sdkacct1/","secondary":"` + inst.state.BlobURL + `/sdkacct1-secondary/",` +
			`"sharedKey":false,"sku":"Standard_RAGRS","tier":"Standard"}`},
		"account-update-sku":                       {200, "", `"Standard_GRS"`},
		"account-update-sku-not-in-place":          {400, "StorageAccountTypeConversionNotAllowed", ""},
		"account-create-invalid-sku":               {400, "InvalidAccountType", ""},
		"account-list":                             {200, "", `1`},
		"account-list-keys":                        {403, "KeyBasedAuthenticationNotPermitted", ""},
		"blob-service-get":                         {200, "", `"default"`},
		"blob-service-set":                         {200, "", `"default"`},
		"blob-service-container-retention":         {200, "", `7`},
		"blob-service-container-retention-get":     {200, "", `{"days":7,"enabled":true}`},
		"blob-service-container-retention-invalid": {400, "InvalidRequestPropertyValue", ""},
		"blob-service-protect":                     {200, "", `"versioning=true days=7 containerDays=7"`},
		"container-create":                         {201, "", `"deploy"`},
		"container-create-again":                   {200, "", `"deploy"`},
		"container-get":                            {200, "", `"platform"`},
		"container-list":                           {200, "", `1`},
		"site-create":                              {0, "", `{"systemPrincipal":true,"type":"SystemAssigned, UserAssigned","userPrincipal":true}`},
		"site-redeploy":                            {0, "", `{"systemPrincipal":true,"type":"SystemAssigned, UserAssigned","userPrincipal":true}`},
		"site-delete":                              {0, "", ""},
		"resources-list":                           {200, "", `["Microsoft.ManagedIdentity/userAssignedIdentities","Microsoft.Storage/storageAccounts","Microsoft.Web/sites"]`},
		"resources-list-top1":                      {200, "", `3`},
		"resource-get-by-id":                       {200, "", `"Microsoft.ManagedIdentity/userAssignedIdentities"`},
		"resource-exists-by-id":                    {204, "", `true`},
		"roledefs-builtin-filter":                  {200, "", `true`},
		"roledefs-at-root":                         {200, "", ""},
		"roledef-get-at-root":                      {200, "", `"Owner"`},
		"roledef-get-by-id":                        {200, "", `"Reader"`},
		"roledef-create":                           {201, "", `"CustomRole"`},
		"roledef-update":                           {201, "", `"CustomRole"`},
		"roledefs-at-root-after-create":            {200, "", `0`},
		"assignment-create":                        {201, "", `"0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"`},
		"assignment-redeploy":                      {0, "", `"0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"`},
		"assignment-same-name-other-role":          {409, "RoleAssignmentUpdateNotPermitted", ""},
		"assignment-other-name-same-body":          {409, "RoleAssignmentExists", ""},
		"assignment-list-rg":                       {200, "", `1`},
		"assignment-list-scope":                    {200, "", `3`},
		"assignment-get":                           {200, "", `true`},
		"assignment-delete":                        {200, "", ""},
		"assignment-delete-again":                  {204, "", ""},
		"assignment-owner-other-principal":         {201, "", ""},
		"container-delete":                         {200, "", ""},
		"container-delete-again":                   {204, "", ""},
		"container-list-deleted":                   {200, "", `["deploy"]`},
		"pg-create":                                {0, "", `"sdk-pg"`},
		"pg-get":                                   {200, "", `{"fqdn":"127.0.0.1","state":"Ready"}`},
		"pg-list":                                  {200, "", `1`},
		"pg-delete":                                {0, "", ""},
		"pg-get-after-delete":                      {404, "ResourceNotFound", ""},
		"account-delete":                           {200, "", ""},
		"account-delete-again":                     {204, "", ""},
		"identity-delete":                          {200, "", ""},
		"identity-delete-again":                    {204, "", ""},
		"rg-delete":                                {0, "", ""},
		"rg-exists-after-delete":                   {404, "", `false`},
		"request-ids":                              {0, "", `null`},
	}
	seen := map[string]bool{}
	for _, r := range results {
		seen[r.Step] = true
		w, ok := want[r.Step]
		if !ok {
			t.Errorf("step %s: no expectation", r.Step)
			continue
		}
		switch {
		case r.Err != "":
			t.Errorf("step %s: %s", r.Step, r.Err)
		case w.status != 0 && r.Status != w.status, r.Code != w.code:
			t.Errorf("step %s: %d %s, want %d %s (value %s)", r.Step, r.Status, r.Code, w.status, w.code, r.Value)
		case w.status == 0 && r.Status >= 300:
			t.Errorf("step %s: %d %s, want success", r.Step, r.Status, r.Code)
		case w.value != "" && string(r.Value) != w.value && !(w.value == "null" && len(r.Value) == 0):
			t.Errorf("step %s: value %s, want %s", r.Step, r.Value, w.value)
		}
	}
	for step := range want {
		if !seen[step] {
			t.Errorf("step %s did not run", step)
		}
	}
}
