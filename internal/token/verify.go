package token

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

const (
	// DefaultSkew is the clock skew a Verifier tolerates on exp, nbf and iat.
	DefaultSkew = 5 * time.Minute
	// DefaultMaxSize bounds the size of a token a Verifier will parse.
	DefaultMaxSize = 16 << 10
)

// Codes of the errors Verify returns, for surfaces that report a reason.
const (
	CodeMalformed        = "MalformedToken"
	CodeTooLarge         = "TokenTooLarge"
	CodeBadAlgorithm     = "UnsupportedAlgorithm"
	CodeUnknownKey       = "UnknownSigningKey"
	CodeBadSignature     = "InvalidSignature"
	CodeExpired          = "TokenExpired"
	CodeNotYetValid      = "TokenNotYetValid"
	CodeInvalidAudience  = "InvalidAudience"
	CodeInvalidIssuer    = "InvalidIssuer"
	CodeMissingClaim     = "MissingClaim"
	CodeVerifierNotReady = "VerifierNotConfigured"
)

// PublicKeys finds a published verification key by kid; *keys.Keyring is one.
type PublicKeys interface {
	PublicKey(kid string) (*rsa.PublicKey, bool)
}

// Verifier checks access tokens. Keys, Issuers and Audiences are required; a Verifier
// without them rejects everything. It is safe for concurrent use once configured.
type Verifier struct {
	Keys PublicKeys
	// Issuers are the accepted iss values, compared exactly.
	Issuers []string
	// Audiences are the accepted aud values, compared with MatchAudience.
	Audiences []string
	// MatchAudience reports whether a token's aud matches an accepted audience; exact
	// comparison when nil. SameResource treats X and X/ alike.
	MatchAudience func(tokenAud, accepted string) bool
	// Skew tolerated on exp, nbf and iat: DefaultSkew when zero, none when negative.
	Skew time.Duration
	// MaxSize of a raw token in bytes; DefaultMaxSize when zero.
	MaxSize int
	// Cache, when set, remembers tokens whose signature verified (claims are still
	// checked on every use); share one between Verifiers of the same keys.
	Cache *SignatureCache
}

// SameResource compares resource identifiers the way Entra does for v1 resources:
// case-insensitively, with one trailing slash ignored, so https://storage.azure.com and
// https://storage.azure.com/ are the same resource.
func SameResource(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "/"), strings.TrimSuffix(b, "/"))
}

// allowedAlgs pins the algorithm: only RS256 is ever signed, so nothing else (none, HS256
// with the public key as secret, ES256...) can be accepted.
var allowedAlgs = []jose.SignatureAlgorithm{jose.RS256}

// VerifyFor is Verify with audiences accepted instead of v.Audiences, for a resource
// whose accepted audiences depend on what the request addresses (a storage account's
// own URL); v is not changed.
func (v *Verifier) VerifyFor(raw string, audiences []string, now time.Time) (Claims, error) {
	c := *v
	c.Audiences = audiences
	return c.Verify(raw, now)
}

// Verify checks raw at time now and returns its claims. Every failure is a
// *lanyard.Error of kind Unauthenticated (Internal when the Verifier is not configured)
// with a message safe to show; messages never contain the token.
func (v *Verifier) Verify(raw string, now time.Time) (Claims, error) {
	if v.Keys == nil || len(v.Issuers) == 0 || len(v.Audiences) == 0 {
		return Claims{}, lanyard.Errorf(lanyard.KindInternal, "token: the verifier has no keys, issuers or audiences").WithCode(CodeVerifierNotReady)
	}
	maxSize := v.MaxSize
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if len(raw) > maxSize {
		return Claims{}, fail(CodeTooLarge, "The token is too large.", nil)
	}
	if !compactJWS(raw) {
		return Claims{}, fail(CodeMalformed, "The token is malformed.", nil)
	}
	w, kid, err := v.verifySignature(raw)
	if err != nil {
		return Claims{}, err
	}
	c := Claims{
		Issuer: w.Iss, IssuedAt: w.Iat.Time(), NotBefore: w.Nbf.Time(), ExpiresAt: w.Exp.Time(),
		AppID: w.AppID, AppIDACR: w.AppIDACR, IdP: w.IdP, IDType: w.IDTyp, ObjectID: w.OID,
		Subject: w.Sub, TenantID: w.TID, UTI: w.UTI, Version: w.Ver, MIResourceID: w.MIRID,
		AIO: w.AIO, RH: w.RH, KeyID: kid,
	}
	if w.Exp == nil || w.OID == "" || w.TID == "" {
		return Claims{}, fail(CodeMissingClaim, "The token lacks a required claim (exp, oid or tid).", nil)
	}

	skew := v.Skew
	if skew == 0 {
		skew = DefaultSkew
	}
	skew = max(skew, 0)
	if !now.Before(c.ExpiresAt.Add(skew)) {
		return Claims{}, fail(CodeExpired, "Lifetime validation failed. The token is expired.", nil)
	}
	if w.Nbf != nil && now.Add(skew).Before(c.NotBefore) || w.Iat != nil && now.Add(skew).Before(c.IssuedAt) {
		return Claims{}, fail(CodeNotYetValid, "Lifetime validation failed. The token is not yet valid.", nil)
	}

	if !slices.Contains(v.Issuers, w.Iss) {
		return Claims{}, fail(CodeInvalidIssuer, "Issuer validation failed. Issuer did not match.", nil)
	}
	match := v.MatchAudience
	if match == nil {
		match = func(a, b string) bool { return a == b }
	}
	for _, aud := range w.Aud {
		for _, accepted := range v.Audiences {
			if match(aud, accepted) {
				c.Audience = aud
				return c, nil
			}
		}
	}
	return Claims{}, fail(CodeInvalidAudience, "Audience validation failed. Audience did not match.", nil)
}

// verifySignature checks raw's signature against the published keys and returns its
// claims and key id. A token whose signature verified before is found in v.Cache, as long
// as its key is still published, and skips the RSA operation.
func (v *Verifier) verifySignature(raw string) (wireClaims, string, error) {
	var sum [sha256.Size]byte
	if v.Cache != nil {
		sum = sha256.Sum256([]byte(raw))
		if e, ok := v.Cache.get(sum); ok {
			if _, published := v.Keys.PublicKey(e.kid); published {
				return e.claims, e.kid, nil
			}
		}
	}
	jws, err := jose.ParseSignedCompact(raw, allowedAlgs)
	if err != nil {
		var alg *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &alg) {
			return wireClaims{}, "", fail(CodeBadAlgorithm, "Signature validation failed. The token's signing algorithm is not accepted.", err)
		}
		return wireClaims{}, "", fail(CodeMalformed, "The token is malformed.", err)
	}
	h := jws.Signatures[0].Header // compact serialization: exactly one
	// Lanyard always writes typ JWT; anything else is some other kind of JWS.
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "JWT") {
		return wireClaims{}, "", fail(CodeMalformed, "The token is not a JWT.", nil)
	}
	if h.KeyID == "" {
		return wireClaims{}, "", fail(CodeUnknownKey, "Signature validation failed. The token names no signing key.", nil)
	}
	pub, ok := v.Keys.PublicKey(h.KeyID)
	if !ok {
		return wireClaims{}, "", fail(CodeUnknownKey, "Signature validation failed. The signing key is unknown or no longer valid.", nil)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		return wireClaims{}, "", fail(CodeBadSignature, "Signature validation failed.", err)
	}
	// From here on the content is ours: it was signed by one of our keys.
	var w wireClaims
	if err := json.Unmarshal(payload, &w); err != nil {
		return wireClaims{}, "", fail(CodeMalformed, "The token's claims are malformed.", err)
	}
	if v.Cache != nil && w.Exp != nil {
		v.Cache.put(sum, verified{claims: w, kid: h.KeyID, exp: w.Exp.Time()})
	}
	return w, h.KeyID, nil
}

// compactJWS reports whether s is three non-empty base64url segments joined by dots.
// Checking the alphabet first closes the malleability of Go's base64 decoder, which
// skips CR and LF, so one token has one spelling.
func compactJWS(s string) bool {
	dots, seg := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if seg == 0 {
				return false
			}
			dots, seg = dots+1, 0
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			seg++
		default:
			return false
		}
	}
	return dots == 2 && seg > 0
}

func fail(code, msg string, cause error) *lanyard.Error {
	return &lanyard.Error{Kind: lanyard.KindUnauthenticated, Code: code, Message: msg, Err: cause}
}
