package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestManagementEscalationsThroughTheSDK tries the management-plane escalations of a
// principal that holds roles only in its own corner, with the unmodified Azure SDK for Go's
// ARM clients and a managed-identity credential (e2e/clients/goarm), as an attacker would
// write them.
func TestManagementEscalationsThroughTheSDK(t *testing.T) {
	s := seedFlow(t)
	goarm := buildClient(t, "goarm")
	sub := "/subscriptions/" + s.inst.state.SubscriptionID
	attacker := s.user["clientId"].(string)
	demo := sub + "/resourceGroups/demo"
	var victim, acct map[string]any
	s.inst.cli(t, "group", "create", "-n", "other")
	s.inst.cliJSON(t, &victim, "identity", "create", "-g", "other", "-n", "victim")
	s.inst.cliJSON(t, &acct, "storage", "account", "create", "-g", "demo", "-n", "acct1")
	acctID := acct["id"].(string)

	arm := func(args ...string) map[string]any {
		t.Helper()
		out, errOut, err := s.runAs(t, append([]string{goarm, "-api", s.inst.state.APIURL, "-client-id", attacker, "-subscription", s.inst.state.SubscriptionID}, args...)...)
		if err != nil {
			t.Fatalf("goarm %v: %v\n%s%s", args, err, out, errOut)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("goarm %v printed %q", args, out)
		}
		return res
	}
	refused := func(res map[string]any, status float64, code string) {
		t.Helper()
		if res["status"] != status || res["code"] != code {
			t.Errorf("got %v, want %v %s", res, status, code)
		}
	}

	// 1. A Contributor of demo binds an identity of group other to an app of its own.
	s.inst.cli(t, "role", "assignment", "create", "--assignee", attacker, "--role", "Contributor", "--scope", demo)
	refused(arm("-op", "bind-identity", "-resource", demo+"/providers/Microsoft.Web/sites/evil", "-identity", victim["id"].(string)), 403, "LinkedAuthorizationFailed")
	if _, _, err := s.inst.try("app", "show", "-g", "demo", "-n", "evil"); err == nil {
		t.Error("the refused app was created")
	}
	if res := arm("-op", "bind-identity", "-resource", demo+"/providers/Microsoft.Web/sites/fine", "-identity", s.stranger["id"].(string)); res["ok"] != true {
		t.Errorf("binding an identity of its own group: %v", res)
	}

	// 2. A role writer at an account rewrites and deletes a role of the subscription.
	var subRole, writer map[string]any
	s.inst.cliJSON(t, &subRole, "role", "definition", "create", "--role-definition",
		`{"Name":"Subscription Peeker","Actions":["*/read"],"AssignableScopes":["`+sub+`"]}`)
	s.inst.cliJSON(t, &writer, "role", "definition", "create", "--role-definition",
		`{"Name":"Role Writer","Actions":["Microsoft.Authorization/roleDefinitions/write","Microsoft.Authorization/roleDefinitions/delete"],"AssignableScopes":["`+sub+`"]}`)
	s.inst.cli(t, "role", "assignment", "create", "--assignee", attacker, "--role", "Role Writer", "--scope", acctID)
	subRoleID := subRole["name"].(string)
	refused(arm("-op", "put-role-definition", "-scope", acctID, "-name", subRoleID, "-assignable", acctID), 403, "AuthorizationFailed")
	refused(arm("-op", "put-role-definition", "-scope", acctID, "-name", uuid.NewString(), "-assignable", sub), 403, "AuthorizationFailed")
	refused(arm("-op", "delete-role-definition", "-scope", acctID, "-name", subRoleID), 403, "AuthorizationFailed")
	if out := s.inst.cli(t, "role", "definition", "show", "-n", "Subscription Peeker"); !strings.Contains(out, "*/read") || strings.Contains(out, `"*"`) {
		t.Errorf("the subscription's role changed: %s", out)
	}
	if res := arm("-op", "put-role-definition", "-scope", acctID, "-name", uuid.NewString(), "-assignable", acctID); res["ok"] != true {
		t.Errorf("a role of its own account: %v", res)
	}

	// 3. A User Access Administrator of the account reads and deletes a subscription-level
	// assignment by naming its GUID under the account.
	var target, own map[string]any
	s.inst.cliJSON(t, &target, "role", "assignment", "create", "--assignee", s.stranger["clientId"].(string), "--role", "Reader", "--scope", sub)
	s.inst.cliJSON(t, &own, "role", "assignment", "create", "--assignee", attacker, "--role", "User Access Administrator", "--scope", acctID)
	refused(arm("-op", "get-role-assignment", "-scope", acctID, "-name", target["name"].(string)), 404, "RoleAssignmentNotFound")
	if res := arm("-op", "delete-role-assignment", "-scope", acctID, "-name", target["name"].(string)); res["deleted"] != false {
		t.Errorf("delete through the account: %v", res)
	}
	if out := s.inst.cli(t, "role", "assignment", "list", "--all"); !strings.Contains(out, target["name"].(string)) {
		t.Error("the subscription's assignment was deleted through an account")
	}
	if res := arm("-op", "get-role-assignment", "-scope", acctID, "-name", own["name"].(string)); res["ok"] != true {
		t.Errorf("an assignment at its own scope: %v", res)
	}
}

// TestBlobAccountNameCase: an account reached through a case variant of its name is the
// account itself, never a hidden namespace beside it that outlives the account.
func TestBlobAccountNameCase(t *testing.T) {
	s := blobFlow(t)
	upper := s.inst.state.BlobURL + "/ACCT1"
	s.assign(t, "writer", contributor, s.account["id"].(string))
	ok(t, "create container through ACCT1", s.goBlob(t, "writer", "-account-url", upper, "-op", "create-container", "-container", "data"))
	ok(t, "upload through ACCT1", s.goBlob(t, "writer", "-account-url", upper, "-op", "put", "-container", "data", "-blob", "x.txt", "-data", "same account"))
	if r := s.goBlob(t, "writer", "-op", "get", "-container", "data", "-blob", "x.txt"); !r.OK || r.Data != "same account" {
		t.Fatalf("read through acct1: %+v", r)
	}
	// Deleted and re-created, the account holds nothing of the old one's, and the old
	// role assignment went with it.
	s.inst.cli(t, "storage", "account", "delete", "-g", "demo", "-n", "acct1")
	s.inst.cliJSON(t, &s.account, "storage", "account", "create", "-g", "demo", "-n", "acct1")
	denied(t, "read after re-creation, with the old assignment", s.goBlob(t, "writer", "-account-url", upper, "-op", "get", "-container", "data", "-blob", "x.txt"))
	s.assign(t, "writer", contributor, s.account["id"].(string))
	if r := s.goBlob(t, "writer", "-account-url", upper, "-op", "get", "-container", "data", "-blob", "x.txt"); r.OK || r.Status != 404 {
		t.Fatalf("the re-created account shows the old one's blob: %+v", r)
	}
}
