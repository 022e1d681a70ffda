package rbac

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMatchAction(t *testing.T) {
	for _, tc := range []struct {
		pattern, action string
		want            bool
	}{
		{"*", "Microsoft.Storage/storageAccounts/read", true},
		{"*", "", true},
		{"*/read", "Microsoft.Compute/virtualMachines/read", true},
		{"*/read", "Microsoft.Compute/virtualMachines/write", false},
		{"*/read", "Microsoft.Compute/virtualMachines/read/extra", false},
		{"Microsoft.Compute/*", "Microsoft.Compute/virtualMachines/start/action", true},
		{"Microsoft.Compute/*", "Microsoft.ComputeX/virtualMachines/read", false},
		{"Microsoft.Network/*/read", "Microsoft.Network/virtualNetworks/subnets/read", true},
		{"Microsoft.ServiceBus/*/send/action", "Microsoft.ServiceBus/namespaces/messages/send/action", true},
		{"Microsoft.ServiceBus/*/send/action", "Microsoft.ServiceBus/namespaces/messages/receive/action", false},
		{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/roleAssignments/delete", true},
		{"Microsoft.Authorization/*/Write", "microsoft.authorization/roleassignments/WRITE", true},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/read", false},
		{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", "MICROSOFT.STORAGE/STORAGEACCOUNTS/BLOBSERVICES/CONTAINERS/BLOBS/READ", true},
		{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/readx", false},
		{"Microsoft.Storage/storageAccounts/blobServices/containers/*", "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", true},
		// A whole-segment star may stand for no segment (Managed Identity Operator).
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", true},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentities/x/y/assign/action", true},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/read", "Microsoft.ManagedIdentity/userAssignedIdentities/read", true},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/read", "Microsoft.ManagedIdentity/userAssignedIdentitiesread", false},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/read", "Microsoft.ManagedIdentity/userAssignedIdentities/write", false},
		// ...but a star inside a segment must match what it stands next to.
		{"a/b*/c", "a/b/c", true},
		{"a/b*/c", "a//c", false},
		{"a/*b/c", "a/c", false},
		{"", "", true},
		{"", "a", false},
		{"a", "", false},
		{"**", "abc", true},
		{"a/*/*/b", "a/b", true},
		{"a/*/*/b", "a/x/b", true},
		{"a/*/*/b", "a/x/y/z/b", true},
	} {
		if got := MatchAction(tc.pattern, tc.action); got != tc.want {
			t.Errorf("MatchAction(%q, %q) = %v, want %v", tc.pattern, tc.action, got, tc.want)
		}
		p := compilePattern(tc.pattern)
		if got := p.match(tc.action); got != tc.want {
			t.Errorf("compiled %q (kind %d) on %q = %v, want %v", tc.pattern, p.kind, tc.action, got, tc.want)
		}
	}
}

func TestScopeCovers(t *testing.T) {
	const g = "/subscriptions/s/resourceGroups/g"
	for _, tc := range []struct {
		a, r string
		want bool
	}{
		{"/", g, true},
		{"/", "/", true},
		{"//", g, true},
		{"/subscriptions/s", g, true},
		{"/subscriptions/s/", g + "/", true},
		{g, g, true},
		{g, g + "/providers/Microsoft.Storage/storageAccounts/a", true},
		{g, "/subscriptions/s/resourceGroups/g2", false},
		{g, "/subscriptions/s/resourceGroups", false},
		{g, "/subscriptions/s", false},
		{"/SUBSCRIPTIONS/S/RESOURCEGROUPS/G", "/subscriptions/s/resourcegroups/g/providers/x/y/z", true},
		{g + "/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c1",
			g + "/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c1x", false},
		{g + "/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c1",
			g + "/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c1/blobs/d/f", true},
		{"", "", true},
		{"", g, false},
		{"", "/", false},
		{g, "", false},
	} {
		if got := ScopeCovers(tc.a, tc.r); got != tc.want {
			t.Errorf("ScopeCovers(%q, %q) = %v, want %v", tc.a, tc.r, got, tc.want)
		}
	}
}

func TestMatchingDoesNotAllocate(t *testing.T) {
	const action = "Microsoft.ServiceBus/namespaces/messages/send/action"
	if n := testing.AllocsPerRun(100, func() {
		MatchAction("Microsoft.ServiceBus/*/send/action", action)
		MatchAction("microsoft.managedidentity/userassignedidentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action")
		ScopeCovers("/subscriptions/s/resourceGroups/g/", "/SUBSCRIPTIONS/s/resourceGroups/g/providers/a/b/c")
		IsDataAction(action)
	}); n != 0 {
		t.Errorf("matching allocates %v times per run, want 0", n)
	}
}

// referenceMatch is the matcher's specification as a regular expression: ASCII
// case-insensitive, anchored, '*' is ".*" except that a whole-segment "/*/" is "/(.*/)?".
func referenceMatch(pattern, action string) bool {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	lit := 0
	for i := 0; i < len(pattern); i++ {
		if pattern[i] != '*' {
			continue
		}
		b.WriteString(regexp.QuoteMeta(lowerASCII(pattern[lit:i])))
		if i > 0 && pattern[i-1] == '/' && i+1 < len(pattern) && pattern[i+1] == '/' {
			b.WriteString(`(?:.*/)?`)
			i++ // the trailing '/' is part of the optional group
		} else {
			b.WriteString(`.*`)
		}
		lit = i + 1
	}
	b.WriteString(regexp.QuoteMeta(lowerASCII(pattern[lit:])))
	b.WriteString(`$`)
	return regexp.MustCompile(b.String()).MatchString(lowerASCII(action))
}

func lowerASCII(s string) string { return string(lowerInto(nil, s)) }

func FuzzMatchAction(f *testing.F) {
	for _, s := range [][2]string{
		{"*/read", "Microsoft.Compute/virtualMachines/read"},
		{"Microsoft.ServiceBus/*/send/action", "Microsoft.ServiceBus/namespaces/messages/send/action"},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"},
		{"a/*/*/b", "a/x/b"},
		{"*a*b*", "xxaxxbxx"},
		{"A/*/B", "a//b"},
		{"/*/", "/"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, action string) {
		if len(pattern) > 64 || len(action) > 256 || !utf8.ValidString(pattern) || !utf8.ValidString(action) {
			return // regexp needs valid UTF-8; long inputs only slow the reference down
		}
		want := referenceMatch(pattern, action)
		if got := MatchAction(pattern, action); got != want {
			t.Fatalf("MatchAction(%q, %q) = %v, reference says %v", pattern, action, got, want)
		}
		p := compilePattern(pattern)
		if got := p.match(action); got != want {
			t.Fatalf("compiled %q on %q = %v, reference says %v", pattern, action, got, want)
		}
	})
}

func FuzzScopeCovers(f *testing.F) {
	f.Add("/subscriptions/s/resourceGroups/g", "/subscriptions/s/resourceGroups/g/providers/x/y/z")
	f.Add("/", "/subscriptions/s")
	f.Add("", "")
	f.Add("/subscriptions/s/", "/SUBSCRIPTIONS/S")
	f.Fuzz(func(t *testing.T, a, r string) {
		got := ScopeCovers(a, r) // must not panic
		if !ScopeCovers(a, a) || !ScopeCovers(r, r) {
			t.Fatalf("not reflexive: ScopeCovers(%q,%q)=%v ScopeCovers(%q,%q)=%v", a, a, ScopeCovers(a, a), r, r, ScopeCovers(r, r))
		}
		if a != "" && strings.Trim(a, "/") == "" && !got {
			t.Fatalf("the root %q does not cover %q", a, r)
		}
		// Trailing slashes never change the answer.
		if a != "" && r != "" && ScopeCovers(a+"/", r+"/") != got {
			t.Fatalf("trailing slash changed ScopeCovers(%q, %q)", a, r)
		}
		// Covering a child means covering on a segment boundary.
		if got && a != "" && r != "" && strings.Trim(a, "/") != "" {
			ta, tr := trimScope(a), trimScope(r)
			if len(tr) > len(ta) && tr[len(ta)] != '/' {
				t.Fatalf("ScopeCovers(%q, %q) matched inside a segment", a, r)
			}
		}
	})
}
