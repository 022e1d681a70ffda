package federation

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// DefaultMaxAssertionSize bounds an assertion. Real ones are 1 to 2 KiB (GitHub Actions,
// Kubernetes); the bound only keeps parsing cheap.
const DefaultMaxAssertionSize = 16 << 10

// Algorithms are the signature algorithms an assertion may use: asymmetric ones only.
// "none" proves nothing, and an HMAC algorithm would have Lanyard verify with a secret it
// does not have (or, in the classic confusion attack, with the issuer's public key).
var Algorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
}

// assertion is a parsed, not yet verified, client assertion.
type assertion struct {
	jws    *jose.JSONWebSignature
	alg    jose.SignatureAlgorithm
	keyID  string
	claims claims
}

// claims are the registered claims federation looks at; others are ignored.
type claims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
}

// parseAssertion checks raw's form and reads its header and claims without verifying
// anything. raw has already been trimmed: the Go SDK sends the token file verbatim,
// trailing newline included.
func parseAssertion(raw string, maxSize int) (*assertion, error) {
	if len(raw) > maxSize {
		return nil, malformed(CodeTooLarge, "The client assertion is larger than the limit.", nil)
	}
	if !compactJWS(raw) {
		return nil, malformed(CodeMalformed, "The client assertion is not a JWT in compact form.", nil)
	}
	jws, err := jose.ParseSignedCompact(raw, Algorithms)
	if err != nil {
		var alg *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &alg) {
			return nil, refuse(CodeBadAlgorithm, "The client assertion's signing algorithm is not accepted; use RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or ES512.", err)
		}
		return nil, malformed(CodeMalformed, "The client assertion is malformed.", err)
	}
	h := jws.Signatures[0].Header // compact serialization: exactly one signature
	a := &assertion{jws: jws, alg: jose.SignatureAlgorithm(h.Algorithm), keyID: h.KeyID}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &a.claims); err != nil {
		return nil, malformed(CodeMalformed, "The client assertion's claims are malformed.", err)
	}
	c := a.claims
	if c.Issuer == "" || c.Subject == "" || len(c.Audience) == 0 || c.Expiry == nil {
		return nil, malformed(CodeMissingClaim, "The client assertion lacks a required claim: iss, sub, aud and exp are required.", nil)
	}
	return a, nil
}

// compactJWS reports whether s is three non-empty base64url segments joined by dots.
// Checking the alphabet first closes the malleability of Go's base64 decoder, which skips
// CR and LF, so that one assertion has one spelling.
func compactJWS(s string) bool {
	if strings.Count(s, ".") != 2 {
		return false
	}
	for _, seg := range strings.Split(s, ".") {
		if seg == "" {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
