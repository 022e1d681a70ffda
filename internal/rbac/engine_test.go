package rbac

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

const (
	principal = "11111111-1111-1111-1111-111111111111"
	other     = "22222222-2222-2222-2222-222222222222"
	group     = "33333333-3333-3333-3333-333333333333"

	sub   = "/subscriptions/00000000-0000-0000-0000-0000000000aa"
	rg    = sub + "/resourceGroups/rg1"
	rg2   = sub + "/resourceGroups/rg2"
	acct  = rg + "/providers/Microsoft.Storage/storageAccounts/acct1"
	cont  = acct + "/blobServices/default/containers/c1"
	cont2 = acct + "/blobServices/default/containers/c2"
	blob  = cont + "/blobs/dir/file.txt"
	blob2 = cont2 + "/blobs/dir/file.txt"
	queue = acct + "/queueServices/default/queues/q1"
	table = acct + "/tableServices/default/tables/t1"
	sbns  = rg + "/providers/Microsoft.ServiceBus/namespaces/ns1"
	sbq   = sbns + "/queues/q1"
	uami  = rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"

	blobs      = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/"
	containers = "Microsoft.Storage/storageAccounts/blobServices/containers/"
	qmsg       = "Microsoft.Storage/storageAccounts/queueServices/queues/messages/"
	queues     = "Microsoft.Storage/storageAccounts/queueServices/queues/"
	sbSend     = "Microsoft.ServiceBus/namespaces/messages/send/action"
	sbReceive  = "Microsoft.ServiceBus/namespaces/messages/receive/action"
	userAssign = "Microsoft.ManagedIdentity/userAssignedIdentities/"
)

var nextID int

// assign builds an assignment of the named built-in (or a role GUID) to p at scope.
func assign(t testing.TB, p, role, scope string) lanyard.RoleAssignment {
	t.Helper()
	id := role
	if d, ok := BuiltinRoleByName(role); ok {
		id = d.ID
	}
	nextID++
	return lanyard.RoleAssignment{
		ID:               fmt.Sprintf("aaaaaaaa-0000-0000-0000-%012d", nextID),
		Scope:            scope,
		RoleDefinitionID: id,
		PrincipalID:      p,
		PrincipalType:    lanyard.PrincipalServicePrincipal,
	}
}

type check struct {
	action string
	data   bool
	scope  string
	want   bool
}

func ctl(action, scope string, want bool) check  { return check{action, false, scope, want} }
func data(action, scope string, want bool) check { return check{action, true, scope, want} }

// TestBuiltinRoles checks every built-in against real action strings, each role assigned
// alone at subscription scope.
func TestBuiltinRoles(t *testing.T) {
	cases := map[string][]check{
		"Owner": {
			ctl("Microsoft.Resources/subscriptions/resourceGroups/write", rg, true),
			ctl("Microsoft.Authorization/roleAssignments/write", acct, true),
			ctl(containers+"read", cont, true),
			data(blobs+"read", blob, false), // Actions "*" never grants data
			data(sbSend, sbq, false),
		},
		"Contributor": {
			ctl("Microsoft.Storage/storageAccounts/write", acct, true),
			ctl("Microsoft.Authorization/roleAssignments/read", acct, true),
			ctl("Microsoft.Authorization/roleAssignments/write", acct, false),
			ctl("Microsoft.Authorization/roleAssignments/delete", acct, false), // NotActions .../*/Delete, capital D
			ctl("Microsoft.Authorization/roleDefinitions/write", sub, false),
			ctl("Microsoft.Authorization/elevateAccess/action", sub, false),
			ctl("Microsoft.Compute/galleries/share/action", rg, false),
			ctl("Microsoft.Subscription/cancel/action", sub, false),
			ctl("Microsoft.Blueprint/blueprintAssignments/write", sub, false),
			data(blobs+"read", blob, false),
		},
		"Reader": {
			ctl("Microsoft.Storage/storageAccounts/read", acct, true),
			ctl("Microsoft.Compute/virtualMachines/read", rg, true),
			ctl("Microsoft.Storage/storageAccounts/write", acct, false),
			ctl("Microsoft.Storage/storageAccounts/listKeys/action", acct, false),
			data(blobs+"read", blob, false),
		},
		"User Access Administrator": {
			ctl("Microsoft.Authorization/roleAssignments/write", acct, true),
			ctl("Microsoft.Authorization/roleAssignments/delete", acct, true),
			ctl("Microsoft.Authorization/roleDefinitions/write", sub, true),
			ctl("Microsoft.Support/supportTickets/write", sub, true),
			ctl("Microsoft.Storage/storageAccounts/read", acct, true),
			ctl("Microsoft.Storage/storageAccounts/write", acct, false),
			data(blobs+"read", blob, false),
		},
		"Role Based Access Control Administrator": {
			ctl("Microsoft.Authorization/roleAssignments/write", acct, true),
			ctl("Microsoft.Authorization/roleAssignments/delete", acct, true),
			ctl("Microsoft.Web/sites/read", rg, true),
			ctl("Microsoft.Authorization/roleDefinitions/write", sub, false),
			ctl("Microsoft.Authorization/policyAssignments/write", sub, false),
			data(blobs+"read", blob, false),
		},
		"Storage Blob Data Owner": {
			data(blobs+"read", blob, true),
			data(blobs+"write", blob, true),
			data(blobs+"delete", blob, true),
			data(blobs+"add/action", blob, true),
			data(blobs+"tags/read", blob, true),
			data(blobs+"tags/write", blob, true),
			data(blobs+"filter/action", cont, true),
			data(blobs+"deleteBlobVersion/action", blob, true),
			data(blobs+"permanentDelete/action", blob, true),
			ctl(containers+"read", cont, true),
			ctl(containers+"write", cont, true),
			ctl(containers+"delete", cont, true),
			ctl(containers+"getAcl/action", cont, true),
			ctl(containers+"setAcl/action", cont, true),
			ctl("Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action", acct, true),
			ctl("Microsoft.Storage/storageAccounts/read", acct, false),
			data(qmsg+"read", queue, false),
		},
		"Storage Blob Data Contributor": {
			data(blobs+"read", blob, true),
			data(blobs+"write", blob, true),
			data(blobs+"delete", blob, true),
			data(blobs+"move/action", blob, true),
			data(blobs+"add/action", blob, true),
			data(blobs+"tags/read", blob, false),
			data(blobs+"tags/write", blob, false),
			data(blobs+"permanentDelete/action", blob, false),
			ctl(containers+"read", cont, true),
			ctl(containers+"write", cont, true),
			ctl(containers+"delete", cont, true),
			ctl(containers+"getAcl/action", cont, false),
			ctl("Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action", acct, true),
		},
		"Storage Blob Data Reader": {
			data(blobs+"read", blob, true),
			data(blobs+"write", blob, false),
			data(blobs+"add/action", blob, false),
			data(blobs+"delete", blob, false),
			ctl(containers+"read", cont, true),
			ctl(containers+"write", cont, false),
			ctl(blobs+"read", blob, false), // the same string as a control-plane action is not granted
			ctl("Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action", acct, true),
		},
		"Storage Blob Delegator": {
			ctl("Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action", acct, true),
			ctl(containers+"read", cont, false),
			data(blobs+"read", blob, false),
		},
		"Storage Queue Data Contributor": {
			data(qmsg+"read", queue, true),
			data(qmsg+"write", queue, true),
			data(qmsg+"delete", queue, true),
			data(qmsg+"process/action", queue, true),
			data(qmsg+"add/action", queue, false), // not listed; Put Message also accepts messages/write
			ctl(queues+"read", queue, true),
			ctl(queues+"write", queue, true),
			ctl(queues+"delete", queue, true),
			data(blobs+"read", blob, false),
		},
		"Storage Queue Data Reader": {
			data(qmsg+"read", queue, true),
			data(qmsg+"write", queue, false),
			data(qmsg+"delete", queue, false),
			data(qmsg+"process/action", queue, false),
			ctl(queues+"read", queue, true),
			ctl(queues+"write", queue, false),
		},
		"Storage Queue Data Message Sender": {
			data(qmsg+"add/action", queue, true),
			data(qmsg+"read", queue, false),
			data(qmsg+"write", queue, false),
			ctl(queues+"read", queue, false),
		},
		"Storage Queue Data Message Processor": {
			data(qmsg+"read", queue, true),
			data(qmsg+"process/action", queue, true),
			data(qmsg+"add/action", queue, false),
			data(qmsg+"delete", queue, false),
		},
		"Storage Queue Delegator": {
			ctl("Microsoft.Storage/storageAccounts/queueServices/generateUserDelegationKey/action", acct, true),
			data(qmsg+"read", queue, false),
		},
		"Storage Table Data Contributor": {
			data("Microsoft.Storage/storageAccounts/tableServices/tables/entities/update/action", table, true),
			ctl("Microsoft.Storage/storageAccounts/tableServices/tables/delete", table, true),
			data(blobs+"read", blob, false),
		},
		"Storage Table Data Reader": {
			data("Microsoft.Storage/storageAccounts/tableServices/tables/entities/read", table, true),
			data("Microsoft.Storage/storageAccounts/tableServices/tables/entities/write", table, false),
		},
		"Storage Account Contributor": {
			ctl("Microsoft.Storage/storageAccounts/listKeys/action", acct, true),
			ctl(containers+"write", cont, true),
			data(blobs+"read", blob, false), // keys, not RBAC, are its way to data
		},
		"Azure Service Bus Data Owner": {
			data(sbSend, sbq, true),
			data(sbReceive, sbq, true),
			ctl("Microsoft.ServiceBus/namespaces/queues/write", sbq, true),
			data(blobs+"read", blob, false),
		},
		"Azure Service Bus Data Sender": {
			data(sbSend, sbq, true), // Microsoft.ServiceBus/*/send/action spans two segments
			data(sbReceive, sbq, false),
			ctl("Microsoft.ServiceBus/namespaces/queues/read", sbq, true),
			ctl("Microsoft.ServiceBus/namespaces/topics/read", sbns, true),
			ctl("Microsoft.ServiceBus/namespaces/topics/subscriptions/read", sbns, true),
			ctl("Microsoft.ServiceBus/namespaces/queues/write", sbq, false),
		},
		"Azure Service Bus Data Receiver": {
			data(sbReceive, sbq, true),
			data(sbSend, sbq, false),
			ctl("Microsoft.ServiceBus/namespaces/queues/read", sbq, true),
		},
		"Managed Identity Operator": {
			ctl(userAssign+"assign/action", uami, true), // through .../userAssignedIdentities/*/assign/action
			ctl(userAssign+"read", uami, true),
			ctl(userAssign+"federatedIdentityCredentials/read", uami, true),
			ctl(userAssign+"write", uami, false),
			ctl(userAssign+"delete", uami, false),
			ctl("Microsoft.Authorization/roleAssignments/read", uami, true),
			ctl("Microsoft.Authorization/roleAssignments/write", uami, false),
			ctl("Microsoft.Resources/deployments/write", rg, true),
		},
		"Managed Identity Contributor": {
			ctl(userAssign+"read", uami, true),
			ctl(userAssign+"write", uami, true),
			ctl(userAssign+"delete", uami, true),
			ctl(userAssign+"revokeTokens/action", uami, true),
			ctl(userAssign+"federatedIdentityCredentials/write", uami, true),
			ctl(userAssign+"assign/action", uami, false),
		},
	}
	for _, d := range BuiltinRoles() {
		var allow, deny bool
		for _, c := range cases[d.Name] {
			allow, deny = allow || c.want, deny || !c.want
		}
		if !allow || !deny {
			t.Errorf("built-in %q needs at least one allowed and one denied case", d.Name)
		}
	}
	for role, checks := range cases {
		s := NewSnapshot(nil, []lanyard.RoleAssignment{assign(t, principal, role, sub)})
		for _, c := range checks {
			d := s.Decide(principal, c.action, c.data, c.scope)
			if d.Allowed != c.want {
				t.Errorf("%s: %s (data=%v) at %s: allowed=%v, want %v\n%s", role, c.action, c.data, c.scope, d.Allowed, c.want, d)
			}
			if d.Allowed && d.RoleName != role {
				t.Errorf("%s: decided by role %q", role, d.RoleName)
			}
		}
	}
}

func TestScopeInheritance(t *testing.T) {
	levels := []struct {
		name, scope string
	}{{"subscription", sub}, {"group", rg}, {"account", acct}, {"container", cont}, {"blob", blob}}
	for i, at := range levels {
		s := NewSnapshot(nil, []lanyard.RoleAssignment{assign(t, principal, "Storage Blob Data Reader", at.scope)})
		for j, target := range levels {
			want := j >= i // an assignment covers its own level and everything below
			if d := s.Decide(principal, blobs+"read", true, target.scope); d.Allowed != want {
				t.Errorf("assigned at %s, read at %s: allowed=%v, want %v", at.name, target.name, d.Allowed, want)
			}
		}
		if d := s.Decide(principal, blobs+"read", true, rg2+"/providers/Microsoft.Storage/storageAccounts/acct1"); d.Allowed && at.scope != sub {
			t.Errorf("assigned at %s, read in another group allowed", at.name)
		}
	}
	root := NewSnapshot(nil, []lanyard.RoleAssignment{assign(t, principal, "Storage Blob Data Reader", "/")})
	if d := root.Decide(principal, blobs+"read", true, blob); !d.Allowed {
		t.Errorf("root assignment does not cover a blob: %s", d)
	}
}

func TestContainerScopedRoleStaysInItsContainer(t *testing.T) {
	s := NewSnapshot(nil, []lanyard.RoleAssignment{assign(t, principal, "Storage Blob Data Contributor", cont)})
	if d := s.Decide(principal, blobs+"write", true, blob); !d.Allowed {
		t.Fatalf("write in own container denied: %s", d)
	}
	for _, scope := range []string{blob2, cont2, acct + "/blobServices/default/containers/c1x/blobs/f", acct} {
		d := s.Decide(principal, blobs+"write", true, scope)
		if d.Allowed {
			t.Errorf("write at %s allowed", scope)
			continue
		}
		if len(d.Near) != 1 || d.Near[0].CoversScope || !strings.Contains(d.Near[0].Lacks, "does not cover") {
			t.Errorf("explanation for %s: %s", scope, d)
		}
	}
}

func TestNotActionsSubtractButDoNotDeny(t *testing.T) {
	const write = "Microsoft.Authorization/roleAssignments/write"
	s := NewSnapshot(nil, []lanyard.RoleAssignment{
		assign(t, principal, "Contributor", sub),
		assign(t, principal, "User Access Administrator", rg),
	})
	d := s.Decide(principal, write, false, acct)
	if !d.Allowed || d.RoleName != "User Access Administrator" {
		t.Fatalf("Contributor's NotActions blocked a grant from another role: %s", d)
	}
	d = s.Decide(principal, write, false, rg2)
	if d.Allowed {
		t.Fatalf("write allowed outside the User Access Administrator scope")
	}
	var found bool
	for _, n := range d.Near {
		if n.RoleName == "Contributor" && strings.Contains(n.Lacks, `removes it with notActions "Microsoft.Authorization/*/Write"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("explanation does not name Contributor's NotActions:\n%s", d)
	}

	// The same inside one custom role with two blocks: block A's NotActions do not touch
	// block B.
	custom := lanyard.RoleDefinition{
		ID: "cccccccc-0000-0000-0000-000000000001", Name: "Two blocks",
		Permissions: []lanyard.Permission{
			{Actions: []string{"Microsoft.Storage/*"}, NotActions: []string{"Microsoft.Storage/storageAccounts/delete"}},
			{Actions: []string{"Microsoft.Storage/storageAccounts/delete"}},
		},
	}
	s = NewSnapshot([]lanyard.RoleDefinition{custom}, []lanyard.RoleAssignment{assign(t, principal, custom.ID, sub)})
	if d := s.Decide(principal, "Microsoft.Storage/storageAccounts/delete", false, acct); !d.Allowed {
		t.Errorf("second permission block did not grant: %s", d)
	}
}

func TestCaseInsensitive(t *testing.T) {
	a := assign(t, strings.ToUpper(principal), "Storage Blob Data Reader", strings.ToUpper(cont)+"/")
	a.RoleDefinitionID = strings.ToUpper(a.RoleDefinitionID)
	s := NewSnapshot(nil, []lanyard.RoleAssignment{a})
	d := s.Decide(strings.ToLower(principal), strings.ToUpper(blobs+"read"), true, strings.ToLower(blob))
	if !d.Allowed {
		t.Fatalf("case differences denied access: %s", d)
	}
	if d.RoleName != "Storage Blob Data Reader" || d.AssignmentID != a.ID {
		t.Errorf("decision names %q / %q", d.RoleName, d.AssignmentID)
	}
	// The ARM-id form of the role definition id works too.
	a.RoleDefinitionID = "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/" + requiredRoles["Storage Blob Data Reader"]
	s = NewSnapshot(nil, []lanyard.RoleAssignment{a})
	if d := s.Decide(principal, blobs+"read", true, blob); !d.Allowed {
		t.Errorf("ARM-form role id denied access: %s", d)
	}
}

func TestExplanation(t *testing.T) {
	s := NewSnapshot(nil, []lanyard.RoleAssignment{
		assign(t, principal, "Storage Blob Data Reader", cont),
		assign(t, principal, "Reader", rg),
		assign(t, principal, "Storage Blob Data Contributor", cont2),
		assign(t, other, "Owner", sub),
	})
	d := s.Decide(principal, blobs+"write", true, blob)
	if d.Allowed {
		t.Fatal("write allowed")
	}
	if len(d.Near) != 3 {
		t.Fatalf("want the principal's 3 assignments, got:\n%s", d)
	}
	want := []struct {
		role   string
		covers bool
		lacks  string
	}{
		// Covering first, then the right role at the wrong scope, then the rest.
		{"Storage Blob Data Reader", true, "role Storage Blob Data Reader grants " + blobs + "read but not " + blobs + "write"},
		{"Reader", true, "role Reader has no data actions"},
		{"Storage Blob Data Contributor", false, "assignment is at scope " + cont2 + ", which does not cover " + blob + " (role Storage Blob Data Contributor would grant"},
	}
	for i, w := range want {
		n := d.Near[i]
		if n.RoleName != w.role || n.CoversScope != w.covers || !strings.Contains(n.Lacks, w.lacks) {
			t.Errorf("near[%d] = %+v\nwant role %q covers=%v lacks containing %q", i, n, w.role, w.covers, w.lacks)
		}
	}
	if !strings.Contains(d.Reason, "no role assigned to principal "+principal) {
		t.Errorf("reason = %q", d.Reason)
	}
	if str := d.String(); !strings.HasPrefix(str, "denied: ") || !strings.Contains(str, "Storage Blob Data Reader") {
		t.Errorf("String() = %s", str)
	}

	// Owner's "*" matches blob read but only as a control-plane action.
	s = NewSnapshot(nil, []lanyard.RoleAssignment{assign(t, principal, "Owner", sub)})
	d = s.Decide(principal, blobs+"read", true, blob)
	if d.Allowed || !strings.Contains(d.Near[0].Lacks, `only through its actions "*"; control-plane actions never grant data actions`) {
		t.Errorf("Owner explanation:\n%s", d)
	}
	// A data role asked for a control-plane action.
	s = NewSnapshot(nil, []lanyard.RoleAssignment{assign(t, principal, "Storage Queue Data Message Sender", sub)})
	d = s.Decide(principal, qmsg+"add/action", false, queue)
	if d.Allowed || !strings.Contains(d.Near[0].Lacks, "only as a data action") {
		t.Errorf("data-only explanation:\n%s", d)
	}
	// Nobody.
	d = s.Decide(other, blobs+"read", true, blob)
	if d.Allowed || d.Reason != "principal "+other+" has no role assignments" || len(d.Near) != 0 {
		t.Errorf("no-assignment explanation:\n%s", d)
	}
	// Unknown role.
	s = NewSnapshot(nil, []lanyard.RoleAssignment{assign(t, principal, "dddddddd-0000-0000-0000-000000000000", sub)})
	d = s.Decide(principal, blobs+"read", true, blob)
	if d.Allowed || !strings.Contains(d.Near[0].Lacks, "does not exist") {
		t.Errorf("unknown-role explanation:\n%s", d)
	}
	// Allowed decisions render too.
	s = NewSnapshot(nil, []lanyard.RoleAssignment{assign(t, principal, "Reader", sub)})
	if str := s.Decide(principal, "Microsoft.Storage/storageAccounts/read", false, acct).String(); !strings.HasPrefix(str, "allowed: ") {
		t.Errorf("String() = %s", str)
	}
}

func TestExplanationIsBounded(t *testing.T) {
	var as []lanyard.RoleAssignment
	for i := 0; i < 50; i++ {
		as = append(as, assign(t, principal, "Reader", fmt.Sprintf("%s/resourceGroups/g%d", sub, i)))
	}
	d := NewSnapshot(nil, as).Decide(principal, blobs+"read", true, blob)
	if d.Allowed || len(d.Near) != maxNear {
		t.Fatalf("got %d nearby assignments, want %d", len(d.Near), maxNear)
	}
	if !strings.Contains(d.Reason, "none of the 50 role assignments") {
		t.Errorf("reason = %q", d.Reason)
	}
}

func TestGroups(t *testing.T) {
	a := assign(t, group, "Storage Blob Data Reader", acct)
	a.PrincipalType = lanyard.PrincipalGroup
	s := NewSnapshot(nil, []lanyard.RoleAssignment{a})
	if d := s.Decide(principal, blobs+"read", true, blob); d.Allowed {
		t.Fatal("group assignment applied without group membership")
	}
	d := s.Evaluate(Request{PrincipalID: principal, Groups: []string{other, group}, Action: blobs + "read", DataAction: true, Scope: blob})
	if !d.Allowed || d.ViaGroup != group {
		t.Fatalf("group assignment not applied: %s", d)
	}
	d = s.Evaluate(Request{PrincipalID: principal, Groups: []string{group}, Action: blobs + "write", DataAction: true, Scope: blob})
	if d.Allowed || len(d.Near) != 1 || d.Near[0].PrincipalID != group {
		t.Errorf("group explanation:\n%s", d)
	}
}

func TestCheckUsesCatalogueForDataActions(t *testing.T) {
	e := NewEngine(NewSnapshot(nil, []lanyard.RoleAssignment{
		assign(t, principal, "Storage Blob Data Reader", acct),
		assign(t, principal, "Owner", sub),
	}))
	if d := e.Check(principal, blobs+"read", blob); !d.Allowed || !d.DataAction || d.RoleName != "Storage Blob Data Reader" {
		t.Errorf("Check blob read: %s", d)
	}
	if d := e.Check(principal, blobs+"write", blob); d.Allowed {
		t.Errorf("Owner's * granted a data action through Check: %s", d)
	}
	if d := e.Check(principal, "Microsoft.Storage/storageAccounts/write", acct); !d.Allowed || d.DataAction {
		t.Errorf("Check control action: %s", d)
	}
}

func TestMalformedRequests(t *testing.T) {
	s := NewSnapshot(nil, []lanyard.RoleAssignment{assign(t, principal, "Owner", "/")})
	for _, r := range []Request{
		{PrincipalID: "", Action: "Microsoft.Storage/storageAccounts/read", Scope: acct},
		{PrincipalID: principal, Action: "", Scope: acct},
	} {
		if d := s.Evaluate(r); d.Allowed {
			t.Errorf("%+v allowed", r)
		}
	}
	var nilSnap *Snapshot
	if d := nilSnap.Decide(principal, "x/y", false, acct); d.Allowed {
		t.Error("nil snapshot allowed")
	}
	var zero Engine
	if d := zero.Decide(principal, "x/y", false, acct); d.Allowed {
		t.Error("zero engine allowed")
	}
	// An assignment with no scope grants nothing.
	a := assign(t, principal, "Owner", "")
	if d := NewSnapshot(nil, []lanyard.RoleAssignment{a}).Decide(principal, "Microsoft.Storage/storageAccounts/read", false, acct); d.Allowed {
		t.Error("assignment with empty scope granted")
	}
}

func TestAllowedDecisionDoesNotAllocate(t *testing.T) {
	s := NewSnapshot(nil, []lanyard.RoleAssignment{
		assign(t, principal, "Reader", rg2),
		assign(t, principal, "Azure Service Bus Data Sender", rg),
		assign(t, principal, "Storage Blob Data Reader", cont),
	})
	e := NewEngine(s)
	upper := strings.ToUpper(principal)
	if n := testing.AllocsPerRun(200, func() {
		if !e.Decide(principal, blobs+"read", true, blob).Allowed || !e.Decide(upper, sbSend, true, sbq).Allowed {
			t.Fatal("denied")
		}
	}); n != 0 {
		t.Errorf("allowed decision allocates %v times, want 0", n)
	}
}

func TestIncrementalUpdates(t *testing.T) {
	a1 := assign(t, principal, "Storage Blob Data Reader", cont)
	a2 := assign(t, principal, "Storage Blob Data Contributor", cont2)
	s0 := NewSnapshot(nil, nil)
	s1 := s0.WithAssignment(a1)
	s2 := s1.WithAssignment(a2)
	if s0.Len() != 0 || s1.Len() != 1 || s2.Len() != 2 {
		t.Fatalf("lens %d %d %d", s0.Len(), s1.Len(), s2.Len())
	}
	if s0.Decide(principal, blobs+"read", true, blob).Allowed {
		t.Error("s0 changed by WithAssignment")
	}
	if !s1.Decide(principal, blobs+"read", true, blob).Allowed || s1.Decide(principal, blobs+"write", true, blob2).Allowed {
		t.Error("s1 wrong")
	}
	if !s2.Decide(principal, blobs+"write", true, blob2).Allowed {
		t.Error("s2 wrong")
	}
	// Replacing an assignment by id (an assignment's role never changes in Azure, but its
	// condition can; here we move its scope to exercise the index).
	a1b := a1
	a1b.Scope = cont2
	s3 := s2.WithAssignment(a1b)
	if s3.Len() != 2 || s3.Decide(principal, blobs+"read", true, blob).Allowed {
		t.Error("replacement kept the old assignment")
	}
	if !s2.Decide(principal, blobs+"read", true, blob).Allowed {
		t.Error("s2 changed by replacement")
	}
	s4 := s3.WithoutAssignment(strings.ToUpper(a2.ID))
	if s4.Len() != 1 || s4.Decide(principal, blobs+"write", true, blob2).Allowed || !s4.Decide(principal, blobs+"read", true, blob2).Allowed {
		t.Error("WithoutAssignment wrong")
	}
	if s4.WithoutAssignment("no-such-id") != s4 {
		t.Error("removing a missing assignment made a new snapshot")
	}
	if s5 := s4.WithoutAssignment(a1.ID); s5.Len() != 0 || len(s5.assignmentsOf(principal)) != 0 {
		t.Error("principal entry left behind")
	}

	// Role definitions.
	custom := lanyard.RoleDefinition{ID: "cccccccc-0000-0000-0000-000000000002", Name: "Tag reader",
		Permissions: []lanyard.Permission{{DataActions: []string{blobs + "tags/read"}}}}
	t1 := NewSnapshot(nil, []lanyard.RoleAssignment{assign(t, principal, custom.ID, acct)})
	if t1.Decide(principal, blobs+"tags/read", true, blob).Allowed {
		t.Error("unknown role granted")
	}
	t2 := t1.WithRoleDefinition(custom)
	if !t2.Decide(principal, blobs+"tags/read", true, blob).Allowed {
		t.Error("added role did not grant")
	}
	if d, ok := t2.RoleDefinition(custom.ID); !ok || d.Name != custom.Name {
		t.Error("RoleDefinition lookup failed")
	}
	if t3 := t2.WithoutRoleDefinition(custom.ID); t3.Decide(principal, blobs+"tags/read", true, blob).Allowed {
		t.Error("removed role still grants")
	}
	if t2.WithoutRoleDefinition("eeeeeeee-0000-0000-0000-000000000000") != t2 {
		t.Error("removing a missing role made a new snapshot")
	}
}

// TestIncrementalMatchesRebuild applies a random sequence of adds and removes and checks
// every decision against a snapshot rebuilt from the final set.
func TestIncrementalMatchesRebuild(t *testing.T) {
	roles := []string{"Storage Blob Data Reader", "Storage Blob Data Contributor", "Reader", "Owner", "Azure Service Bus Data Sender"}
	scopes := []string{sub, rg, rg2, acct, cont, cont2, sbns}
	principals := []string{principal, other, group}
	live := map[string]lanyard.RoleAssignment{}
	var ids []string
	s := NewSnapshot(nil, nil)
	seed := uint32(1)
	rnd := func(n int) int { seed = seed*1664525 + 1013904223; return int(seed>>8) % n }
	for i := 0; i < 400; i++ {
		if len(ids) > 0 && rnd(3) == 0 {
			id := ids[rnd(len(ids))]
			delete(live, id)
			s = s.WithoutAssignment(id)
			continue
		}
		a := assign(t, principals[rnd(len(principals))], roles[rnd(len(roles))], scopes[rnd(len(scopes))])
		if len(ids) > 0 && rnd(4) == 0 {
			a.ID = ids[rnd(len(ids))] // replace
		} else {
			ids = append(ids, a.ID)
		}
		live[a.ID] = a
		s = s.WithAssignment(a)
	}
	var all []lanyard.RoleAssignment
	for _, a := range live {
		all = append(all, a)
	}
	r := NewSnapshot(nil, all)
	if s.Len() != r.Len() {
		t.Fatalf("incremental has %d assignments, rebuild %d", s.Len(), r.Len())
	}
	for _, p := range principals {
		for _, sc := range []string{blob, blob2, cont, acct, sbq, rg2} {
			for _, act := range []check{data(blobs+"read", "", true), data(blobs+"write", "", true), ctl("Microsoft.Storage/storageAccounts/read", "", true), data(sbSend, "", true)} {
				x, y := s.Decide(p, act.action, act.data, sc), r.Decide(p, act.action, act.data, sc)
				if x.Allowed != y.Allowed {
					t.Errorf("%s %s at %s: incremental %v, rebuild %v", p, act.action, sc, x.Allowed, y.Allowed)
				}
			}
		}
	}
}

func TestEngineSwapAndConcurrentUpdates(t *testing.T) {
	e := NewEngine(nil)
	if e.Decide(principal, blobs+"read", true, blob).Allowed {
		t.Fatal("empty engine allowed")
	}
	old := e.Swap(NewSnapshot(nil, []lanyard.RoleAssignment{assign(t, principal, "Storage Blob Data Reader", acct)}))
	if old.Len() != 0 || !e.Decide(principal, blobs+"read", true, blob).Allowed {
		t.Fatal("swap not live")
	}
	const writers, each = 8, 50
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for r := 0; r < 4; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				// The reader's own assignment is never removed, so this always holds.
				if !e.Decide(principal, blobs+"read", true, blob).Allowed {
					t.Error("lost the reader's assignment during updates")
					return
				}
			}
		}()
	}
	as := make([][]lanyard.RoleAssignment, writers)
	for w := range as {
		for i := 0; i < each; i++ {
			as[w] = append(as[w], assign(t, fmt.Sprintf("44444444-0000-0000-%04d-%012d", w, i), "Reader", rg))
		}
	}
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for _, a := range as[w] {
				e.Update(func(s *Snapshot) *Snapshot { return s.WithAssignment(a) })
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	if got := e.Snapshot().Len(); got != 1+writers*each {
		t.Fatalf("after concurrent updates Len = %d, want %d", got, 1+writers*each)
	}
	var zero Engine
	zero.Update(func(s *Snapshot) *Snapshot { return s.WithAssignment(assign(t, principal, "Reader", sub)) })
	if !zero.Decide(principal, "Microsoft.Storage/storageAccounts/read", false, acct).Allowed {
		t.Error("Update on a zero engine lost the assignment")
	}
}

// TestBriefDecidesAlike: a brief evaluation reaches the same decision as a full one and
// only leaves out the explanation of a denial.
func TestBriefDecidesAlike(t *testing.T) {
	as, qs := scaleFixture()
	s := NewSnapshot(nil, as[:2000])
	denied := 0
	for _, q := range qs[:2000] {
		r := Request{PrincipalID: q.principal, Action: q.action, DataAction: q.data, Scope: q.scope}
		full := s.Evaluate(r)
		r.Brief = true
		brief := s.Evaluate(r)
		if full.Allowed != brief.Allowed || full.AssignmentID != brief.AssignmentID {
			t.Fatalf("brief and full disagree for %+v: %+v vs %+v", q, brief, full)
		}
		if !brief.Allowed {
			denied++
			if brief.Reason != "" || brief.Near != nil || full.Reason == "" {
				t.Fatalf("denial explanations: brief %q, full %q", brief.Reason, full.Reason)
			}
		}
	}
	if denied == 0 {
		t.Fatal("the sample has no denial, so this test proves nothing")
	}
}
