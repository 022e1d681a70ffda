package rbac

import (
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Conditions from the Azure documentation (rbac.md 1.9), verbatim.
const (
	condContainer = `((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'blobs-example-container'))`
	condPath      = `((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'} AND NOT SubOperationMatches{'Blob.List'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLike 'readonly/*'))`
	condTag       = `((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'} AND NOT SubOperationMatches{'Blob.List'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>] StringEquals 'Cascade'))`
	condQueue     = `((!(ActionMatches{'Microsoft.Storage/storageAccounts/queueServices/queues/messages/read'}) AND !(ActionMatches{'Microsoft.Storage/storageAccounts/queueServices/queues/messages/delete'})) OR (@Resource[Microsoft.Storage/storageAccounts/queueServices/queues:name] StringEquals 'sample-queue'))`
	condPrincipal = `((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'} AND NOT SubOperationMatches{'Blob.List'})) OR (@Principal[Microsoft.Directory/CustomSecurityAttributes/Id:Engineering_Project] StringEquals @Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:Project<$key_case_sensitive$>]))`
	// From the Storage Actions Task Assignment Contributor built-in (storage.md).
	condDelegation = `((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{4bad4d9e2a13488894bbc8432f6f3040})) AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{4bad4d9e2a13488894bbc8432f6f3040}))`
	condFileSync   = `((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR ((@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {c12c1c16-33a1-487b-954d-41c89c60f349, 69566ab7-960f-475b-8e7c-b3118f30c6bd, 17d1049b-9a84-46fb-8f53-869881c3d3ab}) AND (@Request[Microsoft.Authorization/roleAssignments:PrincipalType] StringEqualsIgnoreCase 'ServicePrincipal')))`
)

func TestDocumentedConditionsCompile(t *testing.T) {
	for _, c := range []string{condContainer, condPath, condTag, condQueue, condPrincipal, condDelegation, condFileSync} {
		if err := ValidateCondition(c); err != nil {
			t.Errorf("%v\n%s", err, c)
		}
	}
}

func TestConditionsRejected(t *testing.T) {
	for _, c := range []string{
		``,
		`(`,
		`ActionMatches{'a'} AND ActionMatches{'b'} OR ActionMatches{'c'}`, // AND and OR mixed
		`@Resource[x] StringSoundsLike 'a'`,
		`@Resource[x] StringEquals {'a','b'}`, // a set needs a set operator
		`@Resource[x] NumericEquals 'ten'`,
		`@Resource[x] GuidEquals 'not-a-guid'`,
		`@Resource[x] ForSomeValues:StringEquals 'a'`,
		`@Nowhere[x] StringEquals 'a'`,
		`@Resource[x] StringEquals`,
		`ActionMatches{'a'`,
		`'unterminated`,
		`Exists 'a'`,
		`a & b`,
		strings.Repeat("(", 200) + `ActionMatches{'a'}` + strings.Repeat(")", 200),
		strings.Repeat("x", MaxRoleConditionLength+1),
	} {
		err := ValidateCondition(c)
		if err == nil {
			t.Errorf("accepted %q", c)
		} else if lanyard.KindOf(err) != lanyard.KindInvalid {
			t.Errorf("%q: kind %v", c, lanyard.KindOf(err))
		}
	}
}

func withCondition(t *testing.T, p, role, scope, cond string) lanyard.RoleAssignment {
	a := assign(t, p, role, scope)
	a.Condition, a.ConditionVersion = cond, "2.0"
	return a
}

func TestAssignmentConditions(t *testing.T) {
	example := acct + "/blobServices/default/containers/blobs-example-container"
	s := NewSnapshot(nil, []lanyard.RoleAssignment{withCondition(t, principal, "Storage Blob Data Owner", acct, condContainer)})
	if d := s.Decide(principal, blobs+"read", true, example+"/blobs/a.txt"); !d.Allowed {
		t.Errorf("read in the named container denied: %s", d)
	}
	d := s.Decide(principal, blobs+"read", true, blob)
	if d.Allowed || !strings.Contains(d.Near[0].Lacks, "condition is not met") || !strings.Contains(d.Reason, "conditions did not allow it") {
		t.Errorf("read elsewhere: %s", d)
	}
	// The condition constrains reads only; other actions of the role pass.
	if d := s.Decide(principal, blobs+"write", true, blob); !d.Allowed {
		t.Errorf("write (not constrained) denied: %s", d)
	}

	s = NewSnapshot(nil, []lanyard.RoleAssignment{withCondition(t, principal, "Storage Blob Data Reader", acct, condPath)})
	for _, tc := range []struct {
		scope, subOp string
		want         bool
	}{
		{cont + "/blobs/readonly/report.csv", "", true},
		{cont + "/blobs/private/report.csv", "", false},
		{cont, "Blob.List", true}, // listing is exempt; it has no blob path
		{cont, "", false},         // a read at container scope without the list sub-operation has no path: fail closed
	} {
		d := s.Evaluate(Request{PrincipalID: principal, Action: blobs + "read", DataAction: true, Scope: tc.scope, SubOperation: tc.subOp})
		if d.Allowed != tc.want {
			t.Errorf("path condition at %s (%s): allowed=%v, want %v\n%s", tc.scope, tc.subOp, d.Allowed, tc.want, d)
		}
	}

	s = NewSnapshot(nil, []lanyard.RoleAssignment{withCondition(t, principal, "Storage Queue Data Contributor", acct, condQueue)})
	if d := s.Decide(principal, qmsg+"read", true, acct+"/queueServices/default/queues/sample-queue"); !d.Allowed {
		t.Errorf("queue condition: %s", d)
	}
	if d := s.Decide(principal, qmsg+"delete", true, queue); d.Allowed {
		t.Errorf("queue condition let a delete through on another queue")
	}
	if d := s.Decide(principal, qmsg+"write", true, queue); !d.Allowed {
		t.Errorf("queue condition blocked an unconstrained action: %s", d)
	}
}

func TestConditionsFailClosed(t *testing.T) {
	s := NewSnapshot(nil, []lanyard.RoleAssignment{withCondition(t, principal, "Storage Blob Data Reader", acct, condTag)})
	// No attribute source: the tag cannot be read, so the assignment does not grant.
	d := s.Decide(principal, blobs+"read", true, blob)
	if d.Allowed || !strings.Contains(d.Near[0].Lacks, "cannot be evaluated") || !strings.Contains(d.Near[0].Lacks, "fail closed") {
		t.Fatalf("tag condition without attributes: %s", d)
	}
	tags := func(project string, present bool) func(string, string) ([]string, bool) {
		return func(src, name string) ([]string, bool) {
			if src != "Resource" || !strings.HasPrefix(name, "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:") {
				return nil, false
			}
			key := strings.TrimSuffix(strings.TrimPrefix(name, "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags:"), "<$key_case_sensitive$>")
			if key == "Project" && present {
				return []string{project}, true
			}
			return nil, true // supported, but the blob has no such tag
		}
	}
	for _, tc := range []struct {
		value   string
		present bool
		want    bool
	}{{"Cascade", true, true}, {"Other", true, false}, {"", false, false}} {
		d := s.Evaluate(Request{PrincipalID: principal, Action: blobs + "read", DataAction: true, Scope: blob, Attributes: tags(tc.value, tc.present)})
		if d.Allowed != tc.want {
			t.Errorf("tag %q present=%v: allowed=%v, want %v\n%s", tc.value, tc.present, d.Allowed, tc.want, d)
		}
	}

	// A condition that does not compile never grants, for any action.
	s = NewSnapshot(nil, []lanyard.RoleAssignment{withCondition(t, principal, "Storage Blob Data Reader", acct, `@Resource[x] FuzzyEquals 'y'`)})
	d = s.Decide(principal, blobs+"read", true, blob)
	if d.Allowed || !strings.Contains(d.Near[0].Lacks, "unsupported operator") || !strings.Contains(d.Near[0].Lacks, "fail closed") {
		t.Errorf("uncompilable condition: %s", d)
	}
	// But another, unconditional assignment still grants: conditions narrow one assignment.
	s = s.WithAssignment(assign(t, principal, "Storage Blob Data Reader", cont))
	if d := s.Decide(principal, blobs+"read", true, blob); !d.Allowed {
		t.Errorf("unconditional assignment did not grant: %s", d)
	}
}

func TestPermissionBlockConditions(t *testing.T) {
	// Shaped like Storage Actions Task Assignment Contributor: a second block that may
	// write role assignments only for one role.
	def := lanyard.RoleDefinition{
		ID: "cccccccc-0000-0000-0000-000000000003", Name: "Delegated assigner",
		Permissions: []lanyard.Permission{
			{Actions: []string{"Microsoft.Authorization/*/read"}},
			{Actions: []string{"Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete"},
				Condition: condDelegation, ConditionVersion: "2.0"},
		},
	}
	s := NewSnapshot([]lanyard.RoleDefinition{def}, []lanyard.RoleAssignment{assign(t, principal, def.ID, rg)})
	req := func(roleID string) Request {
		return Request{PrincipalID: principal, Action: "Microsoft.Authorization/roleAssignments/write", Scope: acct,
			Attributes: func(src, name string) ([]string, bool) {
				if strings.EqualFold(name, "Microsoft.Authorization/roleAssignments:RoleDefinitionId") {
					return []string{roleID}, true
				}
				return nil, false
			}}
	}
	if d := s.Evaluate(req("4bad4d9e-2a13-4888-94bb-c8432f6f3040")); !d.Allowed {
		t.Errorf("allowed role denied: %s", d)
	}
	d := s.Evaluate(req(requiredRoles["Owner"]))
	if d.Allowed || !strings.Contains(d.Near[0].Lacks, "permission block whose condition is not met") {
		t.Errorf("other role: %s", d)
	}
	if d := s.Decide(principal, "Microsoft.Authorization/roleAssignments/read", false, acct); !d.Allowed {
		t.Errorf("unconditional block: %s", d)
	}
}

func TestConditionOperators(t *testing.T) {
	attrs := map[string][]string{
		"n":      {"42"},
		"b":      {"true"},
		"t":      {"2026-01-02T03:04:05.0000000Z"},
		"g":      {"4BAD4D9E-2A13-4888-94BB-C8432F6F3040"},
		"multi":  {"alpha", "beta"},
		"s":      {"Hello*World"},
		"absent": nil,
	}
	env := Request{Action: blobs + "read", Attributes: func(src, name string) ([]string, bool) {
		v, ok := attrs[name]
		return v, ok
	}}
	for _, tc := range []struct {
		cond string
		want bool
	}{
		{`@Request[n] NumericEquals 42`, true},
		{`@Request[n] NumericGreaterThan 41 AND @Request[n] NumericLessThanEquals 42`, true},
		{`@Request[n] NumericNotEquals 42`, false},
		{`@Request[b] BoolEquals true`, true},
		{`@Request[b] BoolNotEquals true`, false},
		{`@Request[t] DateTimeGreaterThan '2025-12-31T00:00:00Z'`, true},
		{`@Request[t] DateTimeLessThan '2025-12-31T00:00:00Z'`, false},
		{`@Request[g] GuidEquals 4bad4d9e2a13488894bbc8432f6f3040`, true},
		{`@Request[g] GuidNotEquals 4bad4d9e-2a13-4888-94bb-c8432f6f3040`, false},
		{`@Request[s] StringLike 'Hello\*World'`, true},
		{`@Request[s] StringLike 'Hello?World'`, true},
		{`@Request[s] StringLike 'hello*'`, false},
		{`@Request[s] StringLikeIgnoreCase 'hello*'`, true},
		{`@Request[s] StringNotLike 'x*'`, true},
		{`@Request[s] StringStartsWith 'Hello'`, true},
		{`@Request[s] StringNotStartsWithIgnoreCase 'hello'`, false},
		{`@Request[s] StringEqualsIgnoreCase 'hello*world'`, true},
		{`@Request[multi] ForAnyOfAnyValues:StringEquals {'beta', 'gamma'}`, true},
		{`@Request[multi] ForAllOfAnyValues:StringEquals {'alpha', 'beta', 'gamma'}`, true},
		{`@Request[multi] ForAllOfAnyValues:StringEquals {'alpha'}`, false},
		{`@Request[multi] ForAnyOfAllValues:StringNotEquals {'gamma', 'delta'}`, true},
		{`@Request[multi] ForAllOfAllValues:StringNotEquals {'alpha'}`, false},
		{`@Request[absent] StringEquals 'x'`, false},
		{`@Request[absent] StringNotEquals 'x'`, true},
		{`@Request[absent] ForAllOfAnyValues:StringEquals {'x'}`, true},
		{`Exists @Request[n]`, true},
		{`NotExists @Request[absent]`, true},
		{`ActionMatches{'Microsoft.Storage/*/blobs/read'} && !SubOperationMatches{'Blob.List'}`, true},
		{`ActionMatches{'x'} || ActionMatches{'*'}`, true},
		{`@Request[missing] StringEquals 'x' OR ActionMatches{'*'}`, true}, // known without the missing side
	} {
		c, err := compileCondition(tc.cond)
		if err != nil {
			t.Errorf("%s: %v", tc.cond, err)
			continue
		}
		got, err := c.root.eval(&condEnv{req: &env})
		if err != nil || got != tc.want {
			t.Errorf("%s = %v, %v; want %v", tc.cond, got, err, tc.want)
		}
	}
	for _, cond := range []string{
		`@Request[missing] StringEquals 'x'`,
		`@Request[multi] StringEquals 'alpha'`, // several values need a set operator
		`@Request[s] NumericEquals 1`,          // the attribute is not a number
		`@Request[missing] StringEquals 'x' AND ActionMatches{'*'}`,
	} {
		c, err := compileCondition(cond)
		if err != nil {
			t.Fatalf("%s: %v", cond, err)
		}
		if got, err := c.root.eval(&condEnv{req: &env}); err == nil {
			t.Errorf("%s = %v without error, want an evaluation error", cond, got)
		}
	}
}

func FuzzCompileCondition(f *testing.F) {
	for _, c := range []string{condContainer, condPath, condTag, condQueue, condPrincipal, condDelegation, condFileSync,
		`@Request[s] StringLike 'a\*?*'`, `NOT (Exists @Resource[x])`} {
		f.Add(c, "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", "Blob.List", "v")
	}
	f.Fuzz(func(t *testing.T, cond, action, subOp, value string) {
		c, err := compileCondition(cond) // must not panic or hang
		if err != nil {
			return
		}
		r := Request{Action: action, SubOperation: subOp, Scope: blob, Attributes: func(string, string) ([]string, bool) {
			return []string{value}, true
		}}
		_, _ = c.root.eval(&condEnv{req: &r})
	})
}
