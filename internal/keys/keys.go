// Package keys holds the token authority's RSA signing keys: it creates, rotates,
// publishes (as a JWKS) and retires them, keeping them in a store.Keys with the private
// halves sealed by the key-encryption key.
//
// Keys look like Entra's: each has a self-signed certificate, and its kid is the
// certificate's SHA-1 thumbprint (x5t), so kid and x5t are the same value.
//
// Several Lanyard nodes may share one store. They agree without locks: the newest key not
// retired is the active one, and any node that sees more than one retires the older.
package keys

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/seal"
	"github.com/lanyard-id/lanyard/internal/store"
)

const (
	// RetireGrace is added to the token lifetime before a retired key leaves the JWKS, for
	// clock skew and for nodes that have not reloaded yet.
	RetireGrace = 5 * time.Minute

	rsaBits      = 2048
	certName     = "Lanyard token signing"
	certValidity = 2 * 365 * 24 * time.Hour
	// renewBefore: a key whose certificate expires sooner is replaced on the next reload,
	// so the x5c a verifier sees is never expired.
	renewBefore = 30 * 24 * time.Hour
)

// Options configure a Keyring. The zero value is usable.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MaxTokenLifetime is the longest lifetime of a token signed with these keys; a
	// retired key stays published this long (plus RetireGrace). lanyard.MaxTokenLifetime
	// when zero. All nodes sharing a store must agree on it.
	MaxTokenLifetime time.Duration
	// Logger receives key lifecycle events; discarded when nil.
	Logger *slog.Logger
}

// Keyring is the set of signing keys as last read from the store: the active key that
// signs, and the published keys that verify. Reads and signing use an immutable snapshot
// and never touch the store; New, Reload and Rotate replace the snapshot. It is safe for
// concurrent use.
type Keyring struct {
	store       store.Keys
	sealer      *seal.Sealer
	now         func() time.Time
	maxLifetime time.Duration
	log         *slog.Logger

	mu   sync.Mutex // serialises store writers in this process
	snap atomic.Pointer[snapshot]
}

// snapshot is never modified once stored.
type snapshot struct {
	fingerprint string
	entries     []*entry // newest first
	byID        map[string]*entry
	active      *entry
	signer      *Signer
}

type entry struct {
	key  lanyard.SigningKey // without SealedKey
	cert *x509.Certificate
	pub  *rsa.PublicKey
}

// KeyInfo describes a key for listings. Zero times mean "not set".
type KeyInfo struct {
	ID          string
	CreatedAt   time.Time
	RetiredAt   time.Time
	RemoveAfter time.Time
	NotAfter    time.Time // the certificate's expiry
	Active      bool
	Published   bool
}

// New loads the keys from ks, creating an active key if there is none. It fails when the
// active key cannot be opened with sealer, typically because the key-encryption key is
// not the one the key was sealed with.
func New(ctx context.Context, ks store.Keys, sealer *seal.Sealer, opts Options) (*Keyring, error) {
	if ks == nil || sealer == nil {
		return nil, errors.New("keys: a key store and a sealer are required")
	}
	if opts.MaxTokenLifetime < 0 {
		return nil, fmt.Errorf("keys: negative MaxTokenLifetime %v", opts.MaxTokenLifetime)
	}
	r := &Keyring{
		store:       ks,
		sealer:      sealer,
		now:         opts.Now,
		maxLifetime: cmp.Or(opts.MaxTokenLifetime, lanyard.MaxTokenLifetime),
		log:         opts.Logger,
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if _, err := r.sync(ctx, false); err != nil {
		return nil, err
	}
	return r, nil
}

// MaxTokenLifetime is the longest lifetime a token signed by this keyring may have.
func (r *Keyring) MaxTokenLifetime() time.Duration { return r.maxLifetime }

// Reload re-reads the keys from the store, where another node may have rotated them, and
// deletes keys past their RemoveAfter. When nothing changed it costs one ListKeys.
func (r *Keyring) Reload(ctx context.Context) error {
	_, err := r.sync(ctx, false)
	return err
}

// Rotate creates a new active key and returns it (without its SealedKey). The previous
// one is retired: it signs no more, but stays published until every token it signed has
// expired (RemoveAfter = now + MaxTokenLifetime + RetireGrace).
func (r *Keyring) Rotate(ctx context.Context) (lanyard.SigningKey, error) {
	return r.sync(ctx, true)
}

// sync brings the store to a consistent state (one active key, no expired ones) and
// installs a snapshot of it. It returns the active key.
func (r *Keyring) sync(ctx context.Context, rotate bool) (lanyard.SigningKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now().UTC()
	prev := r.snap.Load()

	stored, err := r.store.ListKeys(ctx)
	if err != nil {
		return lanyard.SigningKey{}, fmt.Errorf("keys: listing signing keys: %w", err)
	}
	sortNewestFirst(stored)

	if reason := r.needNewKey(stored, prev, now, rotate); reason != "" {
		k, err := r.generate(now, stored)
		if err != nil {
			return lanyard.SigningKey{}, err
		}
		if err := r.store.CreateKey(ctx, k); err != nil {
			return lanyard.SigningKey{}, fmt.Errorf("keys: storing new signing key: %w", err)
		}
		r.log.Info("created signing key", "kid", k.ID, "reason", reason)
		stored = append([]lanyard.SigningKey{k}, stored...)
	}

	// The newest active key wins; any other active key (left by a node that rotated or
	// started concurrently, or by the rotation above) is retired.
	activeID := ""
	gone := map[string]bool{}
	for i, k := range stored {
		if !k.Active() {
			continue
		}
		if activeID == "" {
			activeID = k.ID
			continue
		}
		updated, err := r.store.UpdateKey(ctx, k.ID, func(k lanyard.SigningKey) (lanyard.SigningKey, error) {
			if k.RetiredAt == nil {
				r.retire(&k, now)
			}
			return k, nil
		})
		if lanyard.IsNotFound(err) {
			gone[k.ID] = true // another node removed it
			continue
		}
		if err != nil {
			return lanyard.SigningKey{}, fmt.Errorf("keys: retiring signing key %s: %w", k.ID, err)
		}
		r.log.Info("retired signing key", "kid", k.ID, "remove_after", *updated.RemoveAfter)
		stored[i] = updated
	}

	kept := stored[:0]
	for _, k := range stored {
		if gone[k.ID] {
			continue
		}
		if k.Active() || k.Published(now) {
			kept = append(kept, k)
			continue
		}
		if err := r.store.DeleteKey(ctx, k.ID); err != nil && !lanyard.IsNotFound(err) {
			return lanyard.SigningKey{}, fmt.Errorf("keys: deleting expired signing key %s: %w", k.ID, err)
		}
		r.log.Info("deleted expired signing key", "kid", k.ID)
	}

	snap, err := r.build(kept, prev)
	if err != nil {
		return lanyard.SigningKey{}, err
	}
	r.snap.Store(snap)
	return snap.active.key, nil
}

// needNewKey says why a key must be created, or "" when none is needed.
func (r *Keyring) needNewKey(stored []lanyard.SigningKey, prev *snapshot, now time.Time, rotate bool) string {
	if rotate {
		return "rotation"
	}
	i := slices.IndexFunc(stored, lanyard.SigningKey.Active)
	if i < 0 {
		return "no active key"
	}
	var notAfter time.Time
	if prev != nil && prev.byID[stored[i].ID] != nil {
		notAfter = prev.byID[stored[i].ID].cert.NotAfter
	} else if c, err := x509.ParseCertificate(stored[i].Certificate); err == nil {
		notAfter = c.NotAfter
	} else {
		return "" // build reports the broken key
	}
	if !now.Add(renewBefore).Before(notAfter) {
		return "certificate of the active key expires soon"
	}
	return ""
}

func (r *Keyring) retire(k *lanyard.SigningKey, now time.Time) {
	removeAfter := now.Add(r.maxLifetime + RetireGrace)
	k.RetiredAt = &now
	k.RemoveAfter = &removeAfter
}

// build makes a snapshot of keys (already sorted), reusing what prev has parsed and
// opening the active private key only when the active key changed.
func (r *Keyring) build(keys []lanyard.SigningKey, prev *snapshot) (*snapshot, error) {
	fp := fingerprint(keys)
	if prev != nil && prev.fingerprint == fp {
		return prev, nil
	}
	s := &snapshot{fingerprint: fp, byID: make(map[string]*entry, len(keys))}
	for _, k := range keys {
		k.SealedKey = nil
		var e *entry
		if old := prevEntry(prev, k.ID); old != nil {
			e = &entry{key: k, cert: old.cert, pub: old.pub}
		} else {
			cert, pub, err := parseKeyCertificate(k)
			if err != nil {
				if k.Active() && s.active == nil {
					return nil, err // cannot sign without it
				}
				// A broken retired key only costs verification of its old tokens.
				r.log.Error("skipping unusable signing key", "kid", k.ID, "err", err)
				continue
			}
			e = &entry{key: k, cert: cert, pub: pub}
		}
		s.entries = append(s.entries, e)
		s.byID[k.ID] = e
		if k.Active() && s.active == nil {
			s.active = e
		}
	}
	if s.active == nil {
		return nil, errors.New("keys: no active signing key") // sync always leaves one
	}
	if prev != nil && prev.active.key.ID == s.active.key.ID {
		s.signer = prev.signer
		return s, nil
	}
	sealed, err := r.sealedKey(keys, s.active.key.ID)
	if err != nil {
		return nil, err
	}
	if s.signer, err = r.openSigner(s.active, sealed); err != nil {
		return nil, err
	}
	return s, nil
}

func prevEntry(prev *snapshot, id string) *entry {
	if prev == nil {
		return nil
	}
	return prev.byID[id]
}

func (r *Keyring) sealedKey(keys []lanyard.SigningKey, id string) ([]byte, error) {
	for _, k := range keys {
		if k.ID == id {
			return k.SealedKey, nil
		}
	}
	return nil, fmt.Errorf("keys: signing key %s vanished", id)
}

// openSigner unseals the active key's private half and checks it matches the certificate.
func (r *Keyring) openSigner(e *entry, sealed []byte) (*Signer, error) {
	der, err := r.sealer.Open(sealed, []byte(e.key.ID))
	if err != nil {
		return nil, fmt.Errorf("keys: opening signing key %s: %w", e.key.ID, err)
	}
	defer clear(der)
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("keys: signing key %s: %w", e.key.ID, err)
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("keys: signing key %s is a %T, want RSA", e.key.ID, k)
	}
	if !priv.PublicKey.Equal(e.pub) {
		return nil, fmt.Errorf("keys: signing key %s does not match its certificate", e.key.ID)
	}
	return newSigner(priv, e.key.ID)
}

// parseKeyCertificate checks a stored key's certificate and that its id is its thumbprint.
func parseKeyCertificate(k lanyard.SigningKey) (*x509.Certificate, *rsa.PublicKey, error) {
	cert, err := x509.ParseCertificate(k.Certificate)
	if err != nil {
		return nil, nil, fmt.Errorf("keys: signing key %s: certificate: %w", k.ID, err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, nil, fmt.Errorf("keys: signing key %s: certificate holds a %T, want RSA", k.ID, cert.PublicKey)
	}
	if thumbprint(cert.Raw) != k.ID {
		return nil, nil, fmt.Errorf("keys: signing key %s: id is not the certificate's thumbprint", k.ID)
	}
	return cert, pub, nil
}

// generate makes a new key. Its CreatedAt is after every stored key's, even with a clock
// that stands still or went back, so "newest active" picks it.
func (r *Keyring) generate(now time.Time, stored []lanyard.SigningKey) (lanyard.SigningKey, error) {
	created := now.Truncate(time.Microsecond) // the store's precision
	if len(stored) > 0 && !created.After(stored[0].CreatedAt) {
		created = stored[0].CreatedAt.UTC().Truncate(time.Microsecond).Add(time.Microsecond)
	}
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return lanyard.SigningKey{}, fmt.Errorf("keys: generating RSA key: %w", err)
	}
	serial := make([]byte, 16)
	_, _ = rand.Read(serial)
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(serial),
		Subject:               pkix.Name{CommonName: certName},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return lanyard.SigningKey{}, fmt.Errorf("keys: creating key certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return lanyard.SigningKey{}, fmt.Errorf("keys: encoding private key: %w", err)
	}
	defer clear(pkcs8)
	id := thumbprint(der)
	return lanyard.SigningKey{
		ID:          id,
		SealedKey:   r.sealer.Seal(pkcs8, []byte(id)), // aad binds the sealed key to its id
		Certificate: der,
		CreatedAt:   created,
	}, nil
}

// thumbprint is the x5t of a certificate: base64url, unpadded, of its SHA-1 digest.
func thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func sortNewestFirst(keys []lanyard.SigningKey) {
	// Every node sorts the same way, so every node picks the same active key.
	slices.SortStableFunc(keys, func(a, b lanyard.SigningKey) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
}

// fingerprint summarises what a snapshot depends on, to skip rebuilding an unchanged one.
func fingerprint(keys []lanyard.SigningKey) string {
	var b strings.Builder
	micro := func(t *time.Time) {
		if t == nil {
			b.WriteString("-")
			return
		}
		b.WriteString(strconv.FormatInt(t.UnixMicro(), 10))
	}
	for _, k := range keys {
		b.WriteString(k.ID)
		b.WriteByte(' ')
		micro(&k.CreatedAt)
		b.WriteByte(' ')
		micro(k.RetiredAt)
		b.WriteByte(' ')
		micro(k.RemoveAfter)
		b.WriteByte('\n')
	}
	return b.String()
}

// Signer returns the signer of the active key.
func (r *Keyring) Signer() *Signer { return r.snap.Load().signer }

// PublicKey returns the public key with id kid if it is published now.
func (r *Keyring) PublicKey(kid string) (*rsa.PublicKey, bool) {
	e := r.snap.Load().byID[kid]
	if e == nil || !e.key.Published(r.now()) {
		return nil, false
	}
	return e.pub, true
}

// JWKS returns the keys published at now, newest first, in the shape Entra publishes:
// kty RSA, use sig, kid = x5t, n, e and the certificate as x5c. Marshal it with
// encoding/json.
func (r *Keyring) JWKS(now time.Time) jose.JSONWebKeySet {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, e := range r.snap.Load().entries {
		if !e.key.Published(now) {
			continue
		}
		x5t := sha1.Sum(e.cert.Raw)
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key:                       e.pub,
			KeyID:                     e.key.ID,
			Use:                       "sig",
			Certificates:              []*x509.Certificate{e.cert},
			CertificateThumbprintSHA1: x5t[:],
		})
	}
	return set
}

// List describes every key in the store as last loaded, newest first.
func (r *Keyring) List() []KeyInfo {
	now := r.now()
	s := r.snap.Load()
	out := make([]KeyInfo, 0, len(s.entries))
	for _, e := range s.entries {
		ki := KeyInfo{
			ID:        e.key.ID,
			CreatedAt: e.key.CreatedAt,
			NotAfter:  e.cert.NotAfter,
			Active:    e == s.active,
			Published: e.key.Published(now),
		}
		if e.key.RetiredAt != nil {
			ki.RetiredAt = *e.key.RetiredAt
		}
		if e.key.RemoveAfter != nil {
			ki.RemoveAfter = *e.key.RemoveAfter
		}
		out = append(out, ki)
	}
	return out
}
