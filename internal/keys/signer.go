package keys

import (
	"crypto/rsa"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// Signer signs with one key. It is immutable and safe for concurrent use.
type Signer struct {
	kid string
	jws jose.Signer
}

func newSigner(priv *rsa.PrivateKey, kid string) (*Signer, error) {
	// Entra's v1 header: {"alg":"RS256","kid":K,"typ":"JWT","x5t":K}. Some verifiers look
	// the key up by x5t, others by kid.
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t", kid)
	s, err := jose.NewSigner(jose.SigningKey{
		Algorithm: jose.RS256,
		Key:       jose.JSONWebKey{Key: priv, KeyID: kid},
	}, opts)
	if err != nil {
		return nil, fmt.Errorf("keys: signer for %s: %w", kid, err)
	}
	return &Signer{kid: kid, jws: s}, nil
}

// KeyID is the kid (and x5t) the signer puts in the header.
func (s *Signer) KeyID() string { return s.kid }

// Sign returns payload signed as a compact JWS with header alg RS256, typ JWT, kid and
// x5t. The payload is taken as is: callers pass the JSON claims.
func (s *Signer) Sign(payload []byte) (string, error) {
	obj, err := s.jws.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("keys: signing with %s: %w", s.kid, err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("keys: serializing JWS: %w", err)
	}
	return out, nil
}
