package token

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Issuer mints access tokens. Set Keys; the rest have defaults.
type Issuer struct {
	Keys *keys.Keyring
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Lifetime of tokens whose Request does not say; lanyard.DefaultTokenLifetime when zero.
	Lifetime time.Duration
}

// Request says what token to mint.
type Request struct {
	TenantID string
	// IssuerURL becomes iss and idp, e.g. https://127.0.0.1:10443/{tid}/ (trailing slash,
	// as Entra's v1 issuer has).
	IssuerURL string
	// Audience is the resource as the client requested it; it is echoed exactly in aud.
	Audience string
	// Identity the token is for; it must be enabled.
	Identity lanyard.Identity
	// Lifetime overrides the Issuer's when non-zero.
	Lifetime time.Duration
}

// Token is a minted access token.
type Token struct {
	Raw       string // the compact JWT
	UTI       string
	KeyID     string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Issue mints a token for req. Lifetimes are clamped to lanyard.MaxTokenLifetime and to the keyring's
// MaxTokenLifetime (a retired key is published only that long), and rounded down to whole
// seconds.
func (i *Issuer) Issue(req Request) (Token, error) {
	if err := validateRequest(req); err != nil {
		return Token{}, err
	}
	lifetime, err := i.lifetime(req.Lifetime)
	if err != nil {
		return Token{}, err
	}
	now := time.Now
	if i.Now != nil {
		now = i.Now
	}
	iat := now().Truncate(time.Second)
	exp := iat.Add(lifetime)
	uti := random(16)
	c := wireClaims{
		Aud:      jwt.Audience{req.Audience},
		Iss:      req.IssuerURL,
		Iat:      jwt.NewNumericDate(iat),
		Nbf:      jwt.NewNumericDate(iat),
		Exp:      jwt.NewNumericDate(exp),
		AIO:      random(32),
		AppID:    req.Identity.ClientID,
		AppIDACR: "2",
		IdP:      req.IssuerURL,
		IDTyp:    "app",
		OID:      req.Identity.PrincipalID,
		RH:       random(16),
		Sub:      req.Identity.PrincipalID,
		TID:      req.TenantID,
		UTI:      uti,
		Ver:      "1.0",
		MIRID:    req.Identity.ResourceID,
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return Token{}, fmt.Errorf("token: encoding claims: %w", err)
	}
	signer := i.Keys.Signer()
	raw, err := signer.Sign(payload)
	if err != nil {
		return Token{}, fmt.Errorf("token: %w", err)
	}
	return Token{Raw: raw, UTI: uti, KeyID: signer.KeyID(), IssuedAt: iat, ExpiresAt: exp}, nil
}

func validateRequest(req Request) error {
	for _, f := range []struct{ name, v string }{
		{"tenant id", req.TenantID},
		{"issuer URL", req.IssuerURL},
		{"audience", req.Audience},
		{"identity's principal id", req.Identity.PrincipalID},
		{"identity's client id", req.Identity.ClientID},
	} {
		if f.v == "" {
			return lanyard.Errorf(lanyard.KindInvalid, "The token request has no %s.", f.name)
		}
	}
	// Checked here as well as by callers: this is the one place every token passes.
	if !req.Identity.Enabled {
		return lanyard.Errorf(lanyard.KindPermissionDenied, "The identity %s is disabled.", req.Identity.PrincipalID).WithCode("IdentityDisabled")
	}
	return nil
}

func (i *Issuer) lifetime(requested time.Duration) (time.Duration, error) {
	if requested < 0 || i.Lifetime < 0 {
		return 0, lanyard.Errorf(lanyard.KindInvalid, "A token lifetime cannot be negative.")
	}
	l := requested
	if l == 0 {
		l = i.Lifetime
	}
	if l == 0 {
		l = lanyard.DefaultTokenLifetime
	}
	l = min(l, lanyard.MaxTokenLifetime, i.Keys.MaxTokenLifetime())
	// Claims are whole seconds. Rounding down keeps within the caps; a sub-second request
	// still gets a token that lives a second.
	return max(l.Truncate(time.Second), time.Second), nil
}

// random returns n random bytes, base64url without padding: the opaque uti, aio and rh.
func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails; it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}
