// Package seal encrypts small secrets (signing keys, stored credentials) with a
// key-encryption key (KEK) using AES-256-GCM, so storage never holds them in the clear.
//
// Sealed format, version 1:
//
//	0x01 | nonce (12 bytes) | ciphertext | GCM tag (16 bytes)
//
// The version byte is authenticated together with the caller's additional data, so a
// sealed value cannot be replayed under another version or another context (aad).
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of a key-encryption key: AES-256.
const KeySize = 32

const (
	version1  byte = 1
	nonceSize int  = 12
	tagSize   int  = 16
)

// ErrOpen is returned (wrapped) when a sealed value does not authenticate: the KEK is
// wrong, the additional data differs, or the value was altered.
var ErrOpen = errors.New("seal: cannot open sealed value (wrong key-encryption key, wrong context, or tampered data)")

// Sealer seals and opens values with one KEK. It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// New returns a Sealer for kek, which must be KeySize bytes.
func New(kek []byte) (*Sealer, error) {
	if len(kek) != KeySize {
		return nil, fmt.Errorf("seal: key-encryption key must be %d bytes, got %d", KeySize, len(kek))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext bound to aad; the same aad must be given to Open. Nonces are
// random: fine for the few thousand values Lanyard seals under one KEK (the GCM limit
// for random nonces is about 2^32).
func (s *Sealer) Seal(plaintext, aad []byte) []byte {
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+tagSize)
	out[0] = version1
	// crypto/rand.Read never fails on supported platforms (it crashes the program instead).
	_, _ = rand.Read(out[1 : 1+nonceSize])
	return s.aead.Seal(out, out[1:1+nonceSize], plaintext, additional(version1, aad))
}

// Open decrypts a value made by Seal with the same KEK and aad.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) == 0 {
		return nil, fmt.Errorf("seal: empty sealed value: %w", ErrOpen)
	}
	if sealed[0] != version1 {
		return nil, fmt.Errorf("seal: unsupported sealed format version %d: %w", sealed[0], ErrOpen)
	}
	if len(sealed) < 1+nonceSize+tagSize {
		return nil, fmt.Errorf("seal: sealed value is truncated: %w", ErrOpen)
	}
	nonce, ct := sealed[1:1+nonceSize], sealed[1+nonceSize:]
	pt, err := s.aead.Open(nil, nonce, ct, additional(version1, aad))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// additional prefixes aad with the version byte; the prefix has a fixed length, so the
// encoding is unambiguous.
func additional(version byte, aad []byte) []byte {
	ad := make([]byte, 0, 1+len(aad))
	ad = append(ad, version)
	return append(ad, aad...)
}

// ParseKEK decodes a KEK given as base64 (standard or URL alphabet, padded or not), as
// an operator would put it in an environment variable. Surrounding space is ignored.
func ParseKEK(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("seal: key-encryption key is empty")
	}
	var kek []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if kek, err = enc.Strict().DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		// Do not echo the value: it is a secret, possibly mistyped.
		return nil, errors.New("seal: key-encryption key is not valid base64")
	}
	if len(kek) != KeySize {
		return nil, fmt.Errorf("seal: key-encryption key must decode to %d bytes, got %d", KeySize, len(kek))
	}
	return kek, nil
}

// EncodeKEK formats kek the way ParseKEK reads it (standard base64, padded).
func EncodeKEK(kek []byte) string { return base64.StdEncoding.EncodeToString(kek) }
