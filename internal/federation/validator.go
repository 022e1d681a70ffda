package federation

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/token"
)

// DefaultSkew is the clock skew tolerated on exp, nbf and iat, as Entra tolerates it.
const DefaultSkew = 5 * time.Minute

// KeySource gives an issuer's signing keys; *IssuerKeys is one. refresh asks for a newer
// copy than the one last returned, because an assertion names a key it lacks.
type KeySource interface {
	Keys(ctx context.Context, issuer string, refresh bool) ([]jose.JSONWebKey, error)
}

// LocalIssuer checks the tokens of Lanyard's own issuer in-process, as every resource
// checks them: signature with the signing keys, then revocation (by uti, and by principal
// before a time) and the principal's existence and state. Its errors are those of
// token.Verifier and access.Service.Authenticate.
type LocalIssuer interface {
	// Issuer is Lanyard's own issuer, compared exactly with an assertion's iss.
	Issuer() string
	// Authenticate checks raw, whatever its audience: the credential's audience is
	// compared afterwards, as for any issuer.
	Authenticate(ctx context.Context, raw string) error
}

// Validator checks client assertions against an identity's federated credentials. Set
// Keys; the rest have defaults. It is safe for concurrent use.
type Validator struct {
	Keys KeySource
	// Local, when set, checks assertions of Lanyard's own issuer without fetching
	// anything, so that a revoked token, or one of a deleted or disabled identity, is no
	// more an assertion than it is a credential at a resource.
	Local LocalIssuer
	Now   func() time.Time
	// Skew tolerated on exp, nbf and iat: DefaultSkew when zero, none when negative.
	Skew time.Duration
	// MaxSize of an assertion in bytes: DefaultMaxAssertionSize when zero.
	MaxSize int
}

// Match is what a valid assertion proved: which credential it satisfied, with what.
type Match struct {
	Credential lanyard.FederatedCredential
	Issuer     string
	Subject    string
	Audience   string // the audience of the assertion that matched
	ExpiresAt  time.Time
}

// Validate checks raw against creds, the federated credentials of one identity, and
// returns the credential it satisfies. Surrounding white space is ignored: the Go SDK
// sends the token file verbatim, and files end with a newline. Every failure is a
// *lanyard.Error carrying one of the Code constants, with a message safe to show to the
// client (it never contains the assertion).
func (v *Validator) Validate(ctx context.Context, creds []lanyard.FederatedCredential, raw string) (Match, error) {
	if v.Keys == nil {
		return Match{}, lanyard.Errorf(lanyard.KindInternal, "federation: the validator has no key source").WithCode(codeValidatorNotConfig)
	}
	maxSize := v.MaxSize
	if maxSize <= 0 {
		maxSize = DefaultMaxAssertionSize
	}
	a, err := parseAssertion(strings.TrimSpace(raw), maxSize)
	if err != nil {
		return Match{}, err
	}
	c := a.claims
	if len(creds) == 0 {
		return Match{}, refuse(CodeNoCredentials, fmt.Sprintf(
			"No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'.",
			clip(c.Issuer), clip(c.Subject), clip(strings.Join(c.Audience, ","))), nil)
	}

	// The issuer gate comes before any network access: only issuers an administrator
	// trusted for this identity are ever contacted.
	var trusted []lanyard.FederatedCredential
	for _, cred := range creds {
		if cred.Issuer == c.Issuer {
			trusted = append(trusted, cred)
		}
	}
	if len(trusted) == 0 {
		return Match{}, refuse(CodeUntrustedIssuer, fmt.Sprintf(
			"No matching federated identity record found for presented assertion issuer '%s'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.",
			clip(c.Issuer)), nil)
	}
	if err := v.checkTimes(c); err != nil {
		return Match{}, err
	}
	if v.Local != nil && c.Issuer == v.Local.Issuer() {
		if err := v.verifyLocal(ctx, strings.TrimSpace(raw)); err != nil {
			return Match{}, err
		}
	} else if err := v.verify(ctx, a); err != nil {
		return Match{}, err
	}

	// Signed by the issuer: the subject and audience are now the issuer's word.
	var bySubject []lanyard.FederatedCredential
	for _, cred := range trusted {
		if cred.Subject == c.Subject {
			bySubject = append(bySubject, cred)
		}
	}
	if len(bySubject) == 0 {
		return Match{}, refuse(CodeSubjectMismatch, fmt.Sprintf(
			"No matching federated identity record found for presented assertion subject '%s'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.",
			clip(c.Subject)), nil)
	}
	for _, cred := range bySubject {
		for _, want := range cred.Audiences {
			for _, aud := range c.Audience {
				if aud == want {
					return Match{Credential: cred, Issuer: c.Issuer, Subject: c.Subject, Audience: aud, ExpiresAt: c.Expiry.Time()}, nil
				}
			}
		}
	}
	return Match{}, refuse(CodeAudienceMismatch, fmt.Sprintf(
		"No matching federated identity record found for presented assertion audience '%s'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.",
		clip(strings.Join(c.Audience, ","))), nil)
}

func (v *Validator) checkTimes(c claims) error {
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	skew := v.Skew
	if skew == 0 {
		skew = DefaultSkew
	}
	skew = max(skew, 0)
	const layout = "2006-01-02T15:04:05Z"
	exp := c.Expiry.Time()
	if !now.Before(exp.Add(skew)) {
		return refuse(CodeExpired, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, expiry time of assertion %s.",
			now.UTC().Format(layout), exp.UTC().Format(layout)), nil)
	}
	if c.NotBefore != nil && now.Add(skew).Before(c.NotBefore.Time()) {
		return refuse(CodeNotYetValid, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion valid from %s.",
			now.UTC().Format(layout), c.NotBefore.Time().UTC().Format(layout)), nil)
	}
	if c.IssuedAt != nil && now.Add(skew).Before(c.IssuedAt.Time()) {
		return refuse(CodeNotYetValid, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion issued at %s.",
			now.UTC().Format(layout), c.IssuedAt.Time().UTC().Format(layout)), nil)
	}
	return nil
}

// verify checks a's signature with its issuer's keys, fetching them again (as the rate
// limit allows) when none fits: the issuer may have rotated its key.
func (v *Validator) verify(ctx context.Context, a *assertion) error {
	issuer := a.claims.Issuer
	keys, err := v.Keys.Keys(ctx, issuer, false)
	if err != nil {
		return err
	}
	verified, candidates := verifyWith(a, keys)
	// Without a kid any key may have signed, so a failure may also be a rotation.
	if !verified && (!candidates || a.keyID == "") {
		if keys, err = v.Keys.Keys(ctx, issuer, true); err != nil {
			return err
		}
		verified, candidates = verifyWith(a, keys)
	}
	switch {
	case verified:
		return nil
	case !candidates:
		return refuse(CodeUnknownKey, fmt.Sprintf(
			"The key with identifier '%s' used to sign the client assertion could not be found in the metadata of identity provider '%s'.",
			clip(a.keyID), clip(issuer)), nil)
	default:
		return refuse(CodeBadSignature, "Client assertion failed signature validation.", nil)
	}
}

// verifyLocal checks an assertion of Lanyard's own issuer with v.Local, and turns what a
// resource would answer into the exchange's codes.
func (v *Validator) verifyLocal(ctx context.Context, raw string) error {
	err := v.Local.Authenticate(ctx, raw)
	if err == nil {
		return nil
	}
	if lanyard.KindOf(err) != lanyard.KindUnauthenticated {
		return err // the store or the keys failed: not the assertion's fault
	}
	switch lanyard.CodeOf(err) {
	case token.CodeBadSignature, token.CodeBadAlgorithm:
		return refuse(CodeBadSignature, "Client assertion failed signature validation.", err)
	case token.CodeUnknownKey:
		return refuse(CodeUnknownKey, "The key used to sign the client assertion could not be found in the metadata of its identity provider.", err)
	case token.CodeExpired, token.CodeNotYetValid:
		return refuse(CodeExpired, "Client assertion is not within its valid time range.", err)
	case token.CodeMalformed, token.CodeTooLarge, token.CodeMissingClaim:
		return malformed(CodeMalformed, "The client assertion is malformed.", err)
	}
	// Revoked, of another tenant, its principal gone or disabled: one answer for all, as
	// the caller needs no more to know its assertion is spent.
	return refuse(CodeAssertionRevoked, "The client assertion is no longer valid: it has been revoked, or its subject is not an enabled identity of this tenant.", err)
}

// verifyWith reports whether one of keys verifies a's signature, and whether any key was
// a candidate at all (its kid, alg and type fit the assertion).
func verifyWith(a *assertion, keys []jose.JSONWebKey) (verified, candidates bool) {
	for _, k := range keys {
		if a.keyID != "" && k.KeyID != a.keyID {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != string(a.alg) {
			continue
		}
		if !fits(a.alg, k.Key) {
			continue
		}
		candidates = true
		if _, err := a.jws.Verify(k.Key); err == nil {
			return true, true
		}
	}
	return false, candidates
}

// fits reports whether key is of the type and size alg needs.
func fits(alg jose.SignatureAlgorithm, key any) bool {
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		_, ok := key.(*rsa.PublicKey)
		return ok
	case jose.ES256, jose.ES384, jose.ES512:
		k, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		want := map[jose.SignatureAlgorithm]elliptic.Curve{jose.ES256: elliptic.P256(), jose.ES384: elliptic.P384(), jose.ES512: elliptic.P521()}[alg]
		return k.Curve == want
	}
	return false
}
