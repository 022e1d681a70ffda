package lanyard

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseResourceID(t *testing.T) {
	const sub = "00000000-1111-2222-3333-444444444444"
	tests := []struct {
		name      string
		in        string
		want      ResourceID
		wantType  string
		wantName  string
		canonical string // String() of the parsed id; in when empty
	}{
		{
			name: "subscription",
			in:   "/subscriptions/" + sub,
			want: ResourceID{SubscriptionID: sub},
		},
		{
			name:      "subscription with trailing slash",
			in:        "/subscriptions/" + sub + "/",
			want:      ResourceID{SubscriptionID: sub},
			canonical: "/subscriptions/" + sub,
		},
		{
			name:     "resource group",
			in:       "/subscriptions/" + sub + "/resourceGroups/demo",
			want:     ResourceID{SubscriptionID: sub, ResourceGroup: "demo"},
			wantName: "demo",
		},
		{
			name:      "resource group, keywords in other cases, trailing slash",
			in:        "/SUBSCRIPTIONS/" + sub + "/resourcegroups/Demo.Group(1)/",
			want:      ResourceID{SubscriptionID: sub, ResourceGroup: "Demo.Group(1)"},
			wantName:  "Demo.Group(1)",
			canonical: "/subscriptions/" + sub + "/resourceGroups/Demo.Group(1)",
		},
		{
			name: "user-assigned identity",
			in:   "/subscriptions/" + sub + "/resourceGroups/demo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1",
			want: ResourceID{SubscriptionID: sub, ResourceGroup: "demo", Namespace: "Microsoft.ManagedIdentity",
				Types: []string{"userAssignedIdentities"}, Names: []string{"id1"}},
			wantType: TypeUserAssignedIdentity,
			wantName: "id1",
		},
		{
			name: "provider keyword lower-cased, namespace and names keep their case",
			in:   "/subscriptions/" + sub + "/ResourceGroups/RG/PROVIDERS/microsoft.web/Sites/MyApp",
			want: ResourceID{SubscriptionID: sub, ResourceGroup: "RG", Namespace: "microsoft.web",
				Types: []string{"Sites"}, Names: []string{"MyApp"}},
			wantType:  "microsoft.web/Sites",
			wantName:  "MyApp",
			canonical: "/subscriptions/" + sub + "/resourceGroups/RG/providers/microsoft.web/Sites/MyApp",
		},
		{
			name: "nested child types",
			in:   "/subscriptions/" + sub + "/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c",
			want: ResourceID{SubscriptionID: sub, ResourceGroup: "data", Namespace: "Microsoft.Storage",
				Types: []string{"storageAccounts", "blobServices", "containers"}, Names: []string{"a", "default", "c"}},
			wantType: "Microsoft.Storage/storageAccounts/blobServices/containers",
			wantName: "c",
		},
		{
			name: "nested child types with trailing slash",
			in:   "/subscriptions/" + sub + "/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/",
			want: ResourceID{SubscriptionID: sub, ResourceGroup: "data", Namespace: "Microsoft.Storage",
				Types: []string{"storageAccounts", "blobServices"}, Names: []string{"a", "default"}},
			wantType:  "Microsoft.Storage/storageAccounts/blobServices",
			wantName:  "default",
			canonical: "/subscriptions/" + sub + "/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/a/blobServices/default",
		},
		{
			name: "a type that happens to be called providers",
			in:   "/subscriptions/s/resourceGroups/g/providers/ns/providers/x",
			want: ResourceID{SubscriptionID: "s", ResourceGroup: "g", Namespace: "ns",
				Types: []string{"providers"}, Names: []string{"x"}},
			wantType: "ns/providers",
			wantName: "x",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResourceID(tt.in)
			if err != nil {
				t.Fatalf("ParseResourceID(%q) error: %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseResourceID(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			if got.Type() != tt.wantType {
				t.Errorf("Type() = %q, want %q", got.Type(), tt.wantType)
			}
			if got.Name() != tt.wantName {
				t.Errorf("Name() = %q, want %q", got.Name(), tt.wantName)
			}
			canonical := tt.canonical
			if canonical == "" {
				canonical = tt.in
			}
			if s := got.String(); s != canonical {
				t.Errorf("String() = %q, want %q", s, canonical)
			}
			again, err := ParseResourceID(got.String())
			if err != nil {
				t.Fatalf("String() %q does not parse: %v", got.String(), err)
			}
			if !reflect.DeepEqual(again, got) {
				t.Errorf("round trip = %#v, want %#v", again, got)
			}
		})
	}
}

func TestParseResourceIDInvalid(t *testing.T) {
	const sub = "00000000-1111-2222-3333-444444444444"
	rg := "/subscriptions/" + sub + "/resourceGroups/g"
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"root", "/"},
		{"no leading slash", "subscriptions/" + sub},
		{"keyword only", "/subscriptions"},
		{"keyword only with slash", "/subscriptions/"},
		{"wrong first keyword", "/subscription/" + sub},
		{"double leading slash", "//subscriptions/" + sub},
		{"empty subscription", "/subscriptions//resourceGroups/g"},
		{"two trailing slashes", "/subscriptions/" + sub + "//"},
		{"empty segment in the middle", rg + "//providers/Microsoft.Web/sites/a"},
		{"group keyword without a name", "/subscriptions/" + sub + "/resourceGroups"},
		{"group keyword without a name, trailing slash", "/subscriptions/" + sub + "/resourceGroups/"},
		{"unknown keyword after subscription", "/subscriptions/" + sub + "/foo/bar"},
		{"providers at subscription level", "/subscriptions/" + sub + "/providers/Microsoft.Web/sites/a"},
		{"providers without namespace", rg + "/providers"},
		{"namespace without type", rg + "/providers/Microsoft.Web"},
		{"type without name", rg + "/providers/Microsoft.Web/sites"},
		{"type without name, trailing slash", rg + "/providers/Microsoft.Web/sites/"},
		{"odd child pair", rg + "/providers/Microsoft.Storage/storageAccounts/a/blobServices"},
		{"odd nested pair", rg + "/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers"},
		{"wrong keyword instead of providers", rg + "/provider/Microsoft.Web/sites/a"},
		{"extra segment after group", rg + "/x"},
		{"empty name in a child pair", rg + "/providers/Microsoft.Storage/storageAccounts//blobServices/default"},
		{"whitespace only", "   "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResourceID(tt.in)
			if err == nil {
				t.Fatalf("ParseResourceID(%q) = %#v, want an error", tt.in, got)
			}
			if k := KindOf(err); k != KindInvalid {
				t.Errorf("kind = %v, want %v", k, KindInvalid)
			}
			if c := CodeOf(err); c != "InvalidResourceId" {
				t.Errorf("code = %q, want InvalidResourceId", c)
			}
			if m := MessageOf(err); !strings.Contains(m, "not a valid resource id") {
				t.Errorf("message = %q, want it to say the id is not valid", m)
			}
		})
	}
}

func TestParseResourceIDLength(t *testing.T) {
	prefix := "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/"
	atLimit := prefix + strings.Repeat("a", MaxResourceIDLength-len(prefix))
	if len(atLimit) != MaxResourceIDLength {
		t.Fatalf("test setup: len = %d", len(atLimit))
	}
	if _, err := ParseResourceID(atLimit); err != nil {
		t.Errorf("an id of exactly %d characters: %v", MaxResourceIDLength, err)
	}
	for _, n := range []int{MaxResourceIDLength + 1, 10 * MaxResourceIDLength, 1 << 20} {
		long := prefix + strings.Repeat("a", n-len(prefix))
		got, err := ParseResourceID(long)
		if err == nil {
			t.Fatalf("an id of %d characters parsed: %#v", n, got)
		}
		if KindOf(err) != KindInvalid {
			t.Errorf("len %d: kind = %v, want invalid", n, KindOf(err))
		}
		// The message is shown to callers: it must not echo the whole id back.
		if m := MessageOf(err); len(m) > 200 {
			t.Errorf("len %d: message is %d bytes long; it echoes the input", n, len(m))
		}
	}
}

func TestResourceIDHelpers(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"GroupID", GroupID("s", "g"), "/subscriptions/s/resourceGroups/g"},
		{"ResourceIDOf identity", ResourceIDOf("s", "g", TypeUserAssignedIdentity, "id1"),
			"/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"},
		{"ResourceIDOf app", ResourceIDOf("s", "g", TypeApp, "web"), "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/web"},
		{"String of subscription", ResourceID{SubscriptionID: "s"}.String(), "/subscriptions/s"},
		{"String ignores namespace without group", ResourceID{SubscriptionID: "s", Namespace: "ns"}.String(), "/subscriptions/s"},
		{"Type of group", ResourceID{SubscriptionID: "s", ResourceGroup: "g"}.Type(), ""},
		{"Name of subscription", ResourceID{SubscriptionID: "s"}.Name(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
	for _, id := range []string{GroupID("s", "g"), ResourceIDOf("s", "g", TypeApp, "web")} {
		r, err := ParseResourceID(id)
		if err != nil || r.String() != id {
			t.Errorf("ParseResourceID(%q) = %v, %v; want it to round-trip", id, r, err)
		}
	}
	if got := ResourceIDOf("s", "g", TypeApp, "web"); !SameName(got, strings.ToUpper(got)) {
		t.Errorf("SameName is not case-insensitive")
	}
}

// FuzzParseResourceID checks that parsing never panics and that any id it accepts is
// reproduced by String() up to keyword case and a trailing slash: String() parses back to an
// equal ResourceID and is a fixed point of parse∘String.
func FuzzParseResourceID(f *testing.F) {
	for _, s := range []string{
		"",
		"/",
		"/subscriptions/s",
		"/subscriptions/s/",
		"/subscriptions/s/resourceGroups/g",
		"/SUBSCRIPTIONS/s/RESOURCEGROUPS/g/",
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/a",
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c",
		"/subscriptions/s/resourceGroups/g/providers/ns/providers/x",
		"/subscriptions/s/resourceGroups/g/providers/ns/t",
		"/subscriptions//resourceGroups/g",
		"//subscriptions/s",
		"/ſubscriptions/s/resourceGroupſ/g",
		"/subscriptions/\x00/resourceGroups/\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseResourceID(s)
		if err != nil {
			if KindOf(err) != KindInvalid {
				t.Fatalf("ParseResourceID(%q): error of kind %v, want invalid: %v", s, KindOf(err), err)
			}
			return
		}
		if len(id.Types) != len(id.Names) {
			t.Fatalf("ParseResourceID(%q): %d types, %d names", s, len(id.Types), len(id.Names))
		}
		if id.SubscriptionID == "" || (id.Namespace != "" && id.ResourceGroup == "") {
			t.Fatalf("ParseResourceID(%q) = %#v: incomplete id accepted", s, id)
		}
		out := id.String()
		again, err := ParseResourceID(out)
		if err != nil {
			t.Fatalf("ParseResourceID(%q) ok, but its String() %q does not parse: %v", s, out, err)
		}
		if !reflect.DeepEqual(again, id) {
			t.Fatalf("round trip of %q via %q: got %#v, want %#v", s, out, again, id)
		}
		if again.String() != out {
			t.Fatalf("String() is not stable: %q then %q", out, again.String())
		}
		if len(out) > len(s) {
			t.Fatalf("String() %q is longer than the input %q", out, s)
		}
	})
}
