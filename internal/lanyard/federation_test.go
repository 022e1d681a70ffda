package lanyard

import (
	"strings"
	"testing"
)

func TestFederatedCredentialValidation(t *testing.T) {
	good := FederatedCredential{
		Name: "github-main", Issuer: "https://token.actions.githubusercontent.com",
		Subject: "repo:org/repo:ref:refs/heads/main", Audiences: []string{DefaultFederatedAudience},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid credential refused: %v", err)
	}
	cases := []struct {
		name string
		edit func(*FederatedCredential)
		code string // "" when valid
	}{
		{"3-character name", func(c *FederatedCredential) { c.Name = "a_1" }, ""},
		{"120-character name", func(c *FederatedCredential) { c.Name = strings.Repeat("a", 120) }, ""},
		{"underscores and hyphens", func(c *FederatedCredential) { c.Name = "Aks_ns-sa_01" }, ""},
		{"2-character name", func(c *FederatedCredential) { c.Name = "ab" }, "InvalidFederatedIdentityCredentialName"},
		{"121-character name", func(c *FederatedCredential) { c.Name = strings.Repeat("a", 121) }, "InvalidFederatedIdentityCredentialName"},
		{"name starting with '_'", func(c *FederatedCredential) { c.Name = "_abc" }, "InvalidFederatedIdentityCredentialName"},
		{"name with a slash", func(c *FederatedCredential) { c.Name = "a/bc" }, "InvalidFederatedIdentityCredentialName"},
		{"name with a non-ASCII letter", func(c *FederatedCredential) { c.Name = "abé" }, "InvalidFederatedIdentityCredentialName"},
		{"issuer with a path and trailing slash", func(c *FederatedCredential) { c.Issuer = "https://oidc.prod-aks.azure.com/0f6c2a8e/" }, ""},
		{"issuer with a port", func(c *FederatedCredential) { c.Issuer = "https://127.0.0.1:8443" }, ""},
		{"http issuer", func(c *FederatedCredential) { c.Issuer = "http://token.actions.githubusercontent.com" }, "InvalidIssuer"},
		{"issuer without a host", func(c *FederatedCredential) { c.Issuer = "https:///path" }, "InvalidIssuer"},
		{"issuer with a query", func(c *FederatedCredential) { c.Issuer = "https://i.example/?x=1" }, "InvalidIssuer"},
		{"issuer with an empty query", func(c *FederatedCredential) { c.Issuer = "https://i.example/?" }, "InvalidIssuer"},
		{"issuer with a fragment", func(c *FederatedCredential) { c.Issuer = "https://i.example/#x" }, "InvalidIssuer"},
		{"issuer with user information", func(c *FederatedCredential) { c.Issuer = "https://u:p@i.example" }, "InvalidIssuer"},
		{"issuer with a leading space", func(c *FederatedCredential) { c.Issuer = " https://i.example" }, "InvalidIssuer"},
		{"no issuer", func(c *FederatedCredential) { c.Issuer = "" }, "InvalidIssuer"},
		{"601-character issuer", func(c *FederatedCredential) { c.Issuer = "https://i.example/" + strings.Repeat("p", 583) }, "InvalidIssuer"},
		{"600-character subject", func(c *FederatedCredential) { c.Subject = strings.Repeat("s", 600) }, ""},
		{"601-character subject", func(c *FederatedCredential) { c.Subject = strings.Repeat("s", 601) }, "InvalidSubject"},
		{"subject with a trailing newline", func(c *FederatedCredential) { c.Subject += "\n" }, "InvalidSubject"},
		{"subject with a NUL", func(c *FederatedCredential) { c.Subject = "a\x00b" }, "InvalidSubject"},
		{"subject not UTF-8", func(c *FederatedCredential) { c.Subject = "a\xffb" }, "InvalidSubject"},
		{"wildcard subject, taken literally", func(c *FederatedCredential) { c.Subject = "repo:org/*" }, ""},
		{"no audience", func(c *FederatedCredential) { c.Audiences = nil }, "InvalidAudience"},
		{"two audiences", func(c *FederatedCredential) { c.Audiences = []string{"a", "b"} }, "InvalidAudience"},
		{"empty audience", func(c *FederatedCredential) { c.Audiences = []string{""} }, "InvalidAudience"},
		{"601-character description", func(c *FederatedCredential) { c.Description = strings.Repeat("d", 601) }, "InvalidDescription"},
	}
	for _, tc := range cases {
		c := good
		tc.edit(&c)
		err := c.Validate()
		switch {
		case tc.code == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.code != "" && (KindOf(err) != KindInvalid || CodeOf(err) != tc.code):
			t.Errorf("%s: got %v (code %q), want Invalid with %s", tc.name, err, CodeOf(err), tc.code)
		}
	}
}
