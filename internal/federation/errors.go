package federation

import (
	"errors"
	"fmt"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Codes of the errors an exchange fails with. Surfaces map each to their own error.
const (
	CodeUnknownClient     = "UnknownClient"  // no identity has the client id
	CodeClientDisabled    = "ClientDisabled" // the identity is disabled
	CodeNoCredentials     = "NoFederatedCredentials"
	CodeUntrustedIssuer   = "UntrustedIssuer"    // no credential of the identity names the assertion's issuer
	CodeSubjectMismatch   = "SubjectMismatch"    // ... with the assertion's subject
	CodeAudienceMismatch  = "AudienceMismatch"   // ... with one of the assertion's audiences
	CodeMalformed         = "MalformedAssertion" // not a compact JWS, bad JSON, a claim of the wrong type
	CodeTooLarge          = "AssertionTooLarge"
	CodeMissingClaim      = "MissingClaim"         // iss, sub, aud or exp absent
	CodeBadAlgorithm      = "UnsupportedAlgorithm" // none, HS*, or anything but RS*, PS*, ES*
	CodeUnknownKey        = "UnknownSigningKey"    // the issuer publishes no key with the assertion's kid
	CodeBadSignature      = "InvalidSignature"
	CodeExpired           = "AssertionExpired"
	CodeNotYetValid       = "AssertionNotYetValid"
	CodeIssuerUnavailable = "IssuerMetadataUnavailable" // discovery or JWKS unreachable, slow, too large or malformed
	// CodeAssertionRevoked: a token of Lanyard's own issuer that a resource would refuse
	// (revoked, of another tenant, its principal deleted or disabled).
	CodeAssertionRevoked   = "AssertionRevoked"
	codeValidatorNotConfig = "ValidatorNotConfigured"
)

// refuse builds the error for an assertion that does not prove the identity.
func refuse(code, msg string, cause error) *lanyard.Error {
	return &lanyard.Error{Kind: lanyard.KindUnauthenticated, Code: code, Message: msg, Err: cause}
}

// malformed builds the error for input that is not a usable JWT at all.
func malformed(code, msg string, cause error) *lanyard.Error {
	return &lanyard.Error{Kind: lanyard.KindInvalid, Code: code, Message: msg, Err: cause}
}

// IssuerUnavailableMessage is the one message of every failure to get an issuer's keys.
// What the issuer answered, or that it answered at all, stays in the server's log: the
// caller may have named the issuer only to probe whatever it points at.
const IssuerUnavailableMessage = "The assertion's issuer could not be validated."

// unavailable builds the error for an issuer whose metadata cannot be had right now.
// detail says why, for the log only.
func unavailable(detail string, cause error) *lanyard.Error {
	err := errors.New(detail)
	if cause != nil {
		err = fmt.Errorf("%s: %w", detail, cause)
	}
	return &lanyard.Error{Kind: lanyard.KindUnavailable, Code: CodeIssuerUnavailable, Message: IssuerUnavailableMessage, Err: err}
}
