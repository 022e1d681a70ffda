package lanyard

import (
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// TypeFederatedCredential is the ARM type of a federated identity credential.
const TypeFederatedCredential = TypeUserAssignedIdentity + "/federatedIdentityCredentials"

// DefaultFederatedAudience is the audience Azure puts on a federated credential created
// without one, and the one GitHub Actions and AKS request for their tokens.
const DefaultFederatedAudience = "api://AzureADTokenExchange"

// MaxFederatedCredentialsPerIdentity is Azure's limit per user-assigned identity.
const MaxFederatedCredentialsPerIdentity = 20

// Field limits, as Azure documents them.
const (
	MinFederatedCredentialNameLength = 3
	MaxFederatedCredentialNameLength = 120
	MaxFederatedFieldLength          = 600 // issuer, subject, each audience, description
)

// CodeFederatedCredentialLimit is the code of the error a store returns when an identity
// already holds MaxFederatedCredentialsPerIdentity credentials.
const CodeFederatedCredentialLimit = "FederatedIdentityCredentialLimitExceeded"

// FederatedCredential lets a workload outside Lanyard (a GitHub Actions job, a Kubernetes
// service account, another Lanyard) obtain tokens for a user-assigned identity by
// presenting a JWT from Issuer whose sub is Subject and whose aud is one of Audiences.
// Issuer, Subject and Audiences are compared exactly, case included, as Entra compares them.
type FederatedCredential struct {
	Name                string // unique per identity, compared case-insensitively; immutable
	IdentityPrincipalID string
	IdentityResourceID  string
	Issuer              string
	Subject             string
	Audiences           []string
	Description         string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// CheckFederatedCredentialName applies Azure's rule: 3 to 120 letters, digits, '-' or '_',
// starting with a letter or digit, so that the name is safe in a URL path.
func CheckFederatedCredentialName(name string) error {
	bad := Errorf(KindInvalid,
		"The federated identity credential name '%s' is invalid. It must be %d to %d characters long, contain only letters, digits, '-' and '_', and start with a letter or digit.",
		clipField(name), MinFederatedCredentialNameLength, MaxFederatedCredentialNameLength).WithCode("InvalidFederatedIdentityCredentialName")
	if len(name) < MinFederatedCredentialNameLength || len(name) > MaxFederatedCredentialNameLength {
		return bad
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '-' && c != '_') {
			return bad
		}
	}
	return nil
}

// Validate checks every field but the times. Audiences must hold exactly one value: Azure
// (Graph and ARM alike) accepts a single audience, and so a credential that works here
// works there.
func (c FederatedCredential) Validate() error {
	if err := CheckFederatedCredentialName(c.Name); err != nil {
		return err
	}
	if err := CheckFederatedIssuer(c.Issuer); err != nil {
		return err
	}
	if err := checkField("subject", c.Subject, true); err != nil {
		return err
	}
	if len(c.Audiences) != 1 {
		return Errorf(KindInvalid, "A federated identity credential takes exactly one audience; %d were given.", len(c.Audiences)).
			WithCode("InvalidAudience")
	}
	for _, a := range c.Audiences {
		if err := checkField("audience", a, true); err != nil {
			return err
		}
	}
	if len(c.Description) > MaxFederatedFieldLength || !utf8.ValidString(c.Description) {
		return Errorf(KindInvalid, "The description must be valid text of at most %d characters.", MaxFederatedFieldLength).
			WithCode("InvalidDescription")
	}
	return nil
}

// CheckFederatedIssuer requires an https URL with a host and no query, fragment or user
// information (OpenID Connect Discovery's rule for issuers), because Lanyard fetches the
// issuer's keys from it.
func CheckFederatedIssuer(issuer string) error {
	if err := checkField("issuer", issuer, true); err != nil {
		return err
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || strings.Contains(issuer, "#") {
		return Errorf(KindInvalid, "The issuer '%s' must be an https URL with no query or fragment.", clipField(issuer)).WithCode("InvalidIssuer")
	}
	return nil
}

// checkField checks a value matched exactly against a token claim. Leading or trailing
// white space is refused rather than trimmed: Entra blocks such credentials, and a value
// that can never match should fail when it is written, not when it is used.
func checkField(what, v string, required bool) error {
	code := "Invalid" + strings.ToUpper(what[:1]) + what[1:]
	switch {
	case v == "" && required:
		return Errorf(KindInvalid, "The %s of a federated identity credential is required.", what).WithCode(code)
	case len(v) > MaxFederatedFieldLength:
		return Errorf(KindInvalid, "The %s is longer than %d characters.", what, MaxFederatedFieldLength).WithCode(code)
	case !utf8.ValidString(v):
		return Errorf(KindInvalid, "The %s is not valid UTF-8.", what).WithCode(code)
	case strings.TrimSpace(v) != v:
		return Errorf(KindInvalid, "The %s '%s' has leading or trailing white space.", what, clipField(v)).WithCode(code)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return Errorf(KindInvalid, "The %s contains a control character.", what).WithCode(code)
		}
	}
	return nil
}

func clipField(s string) string { return Clip(s, 64) }
