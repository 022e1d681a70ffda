package blobapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// UserDelegation gives out user delegation keys and verifies the SAS signed with them.
//
// A key is not stored: it is an HMAC, under a server secret, of what identifies it (the
// account, the delegating principal, the key's validity and version) and of two values
// that change to invalidate it: the account's key generation (Revoke User Delegation
// Keys increments it) and the time before which the principal's tokens are revoked. A
// SAS presents the key's identifying fields (skoid, sktid, skt, ske, skv), from which the
// key is derived again to check the signature.
//
// The revocation time errs on the safe side: a key never outlives a later revocation of
// its principal, but one made within a day after such a revocation stops working when
// the revocation is pruned (lanyard.MaxTokenLifetime after it), and the app must get a
// new key, as it must after Revoke User Delegation Keys.
type UserDelegation struct {
	// Secret is the server secret keys derive from, shared by every node.
	Secret []byte
	// TenantID is the tenant of the principals; sktid must be it.
	TenantID    string
	Accounts    DelegationAccounts
	Revocations DelegationRevocations
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	derived derivedKeys
}

// DelegationAccounts tells the key generation of an account;
// directory.StorageAccounts is one.
type DelegationAccounts interface {
	UserDelegationKeyGeneration(ctx context.Context, account string) (int64, error)
}

// DelegationRevocations tells when a principal's tokens were last revoked (zero if
// never); *revocation.Set is one.
type DelegationRevocations interface {
	NotBefore(principalID string) time.Time
}

// DelegatedAuthorizer authorizes a request carrying a user delegation SAS, once the SAS
// is verified, as its delegating principal; *Bearer is one. It answers as Authorizer
// does, plus an Unauthenticated error when the principal no longer exists, is disabled,
// or has its tokens revoked.
type DelegatedAuthorizer interface {
	AuthorizeDelegated(ctx context.Context, principalID string, req AccessRequest) error
}

// opGetUserDelegationKey is served to bearer tokens only.
var opGetUserDelegationKey = &operation{"GetUserDelegationKey", ActionGenerateUserDelegationKey, false, (*Handler).getUserDelegationKey}

// maxKeyLifetime is the longest a user delegation key may be valid, as in Azure.
const maxKeyLifetime = 7 * 24 * time.Hour

func (u *UserDelegation) now() time.Time {
	if u.Now == nil {
		return time.Now()
	}
	return u.Now()
}

// keyFields identify a user delegation key, as given out and as presented (verbatim).
type keyFields struct{ oid, tid, start, expiry, version string }

// derivation is everything a key is derived from besides the server secret: the account,
// the key's fields, and the two values that change to invalidate it.
type derivation struct {
	account string
	keyFields
	generation, notBefore int64
}

// derivation reads what the key of k for account is derived from now.
func (u *UserDelegation) derivation(ctx context.Context, account string, k keyFields) (derivation, error) {
	gen, err := u.Accounts.UserDelegationKeyGeneration(ctx, account)
	if err != nil {
		return derivation{}, fmt.Errorf("blobapi: user delegation key generation: %w", err)
	}
	return derivation{account: account, keyFields: k, generation: gen, notBefore: u.Revocations.NotBefore(k.oid).UnixNano()}, nil
}

// derive computes the key of d.
func (u *UserDelegation) derive(d derivation) []byte {
	m := hmac.New(sha256.New, u.Secret)
	var n [8]byte
	// Each field length-prefixed, so no two field lists hash alike.
	for _, f := range []string{"lanyard user delegation key v1", d.account, d.oid, d.tid, d.start, d.expiry, d.version,
		strconv.FormatInt(d.generation, 10), strconv.FormatInt(d.notBefore, 10)} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		m.Write(n[:])
		m.Write([]byte(f))
	}
	return m.Sum(nil)
}

// derivedKeys remembers the keys of SAS that verified, by their derivation as presented,
// so that the requests of one SAS (or of one key) derive it once. An entry is found only
// by a derivation read at request time: a revocation changes the generation or the
// revocation time, and with them the entry looked up, so the cache never keeps a revoked
// key working. Only keys whose signature verified are kept, so a caller cannot fill it
// with made-up keys for free. The Secret must not change once keys are derived.
type derivedKeys struct {
	mu sync.RWMutex
	m  map[derivation][]byte
}

// maxDerivedKeys bounds the cache: one entry per SAS key in use (an app's key serves all
// its SAS until it expires, within seven days).
const maxDerivedKeys = 4096

func (c *derivedKeys) get(d derivation) ([]byte, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	k, ok := c.m[d]
	return k, ok
}

func (c *derivedKeys) put(d derivation, key []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxDerivedKeys {
		c.m = make(map[derivation][]byte) // full of keys in use: start over rather than grow
	}
	c.m[d] = key
}

// principalNote carries the authorized principal out of Authorize, for Get User
// Delegation Key, whose key is the caller's.
type principalNote struct{ oid, tid string }

type principalNoteKey struct{}

// NoteCaller tells the Handler which principal it authorized; an Authorizer calls it
// from Authorize. Get User Delegation Key gives that principal its key.
func NoteCaller(ctx context.Context, oid, tid string) {
	if n, ok := ctx.Value(principalNoteKey{}).(*principalNote); ok {
		n.oid, n.tid = oid, tid
	}
}

// maxKeyInfo bounds the KeyInfo body.
const maxKeyInfo = 4 << 10

// getUserDelegationKey serves Get User Delegation Key.
func (h *Handler) getUserDelegationKey(w http.ResponseWriter, r *http.Request, t *target) error {
	u := h.UserDelegation
	n, _ := r.Context().Value(principalNoteKey{}).(*principalNote)
	if u == nil || n == nil || n.oid == "" {
		return errNotImplemented("comp=userdelegationkey")
	}
	if _, err := contentLength(r, maxKeyInfo); err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxKeyInfo))
	if err != nil {
		return err
	}
	var info struct {
		XMLName xml.Name `xml:"KeyInfo"`
		Start   *string  `xml:"Start"`
		Expiry  *string  `xml:"Expiry"`
		// Delegating to a user of another tenant is not served.
		DelegatedUserTid *string `xml:"DelegatedUserTid"`
	}
	if xml.Unmarshal(body, &info) != nil {
		return errXML()
	}
	if info.Expiry == nil {
		return errXMLNode("Expiry", "", "")
	}
	if info.DelegatedUserTid != nil && *info.DelegatedUserTid != "" {
		return errXMLNode("DelegatedUserTid", *info.DelegatedUserTid, "Delegation to a user of another tenant is not supported.")
	}
	now := u.now().UTC().Truncate(time.Second)
	start := now
	if info.Start != nil && *info.Start != "" {
		s, ok := parseSASTime(*info.Start)
		if !ok {
			return errXMLNode("Start", *info.Start, "")
		}
		start = s
	}
	expiry, ok := parseSASTime(*info.Expiry)
	if !ok {
		return errXMLNode("Expiry", *info.Expiry, "")
	}
	switch {
	case !expiry.After(start):
		return errXMLNode("Expiry", *info.Expiry, "The expiry time must be after the start time.")
	case expiry.Sub(now) > maxKeyLifetime:
		return errXMLNode("Expiry", *info.Expiry, "The expiry time must be within seven days of the current time.")
	case !expiry.After(now):
		return errXMLNode("Expiry", *info.Expiry, "The expiry time must be in the future.")
	}
	// The times as the SDKs echo them in skt and ske (second precision, Z).
	k := keyFields{oid: n.oid, tid: n.tid, start: start.UTC().Format(time.RFC3339), expiry: expiry.UTC().Format(time.RFC3339),
		version: w.Header().Get("x-ms-version")}
	d, err := u.derivation(r.Context(), t.account, k)
	if err != nil {
		return err
	}
	key := u.derive(d)
	out := struct {
		XMLName       xml.Name `xml:"UserDelegationKey"`
		SignedOid     string
		SignedTid     string
		SignedStart   string
		SignedExpiry  string
		SignedService string
		SignedVersion string
		Value         string
	}{SignedOid: k.oid, SignedTid: k.tid, SignedStart: k.start, SignedExpiry: k.expiry, SignedService: "b",
		SignedVersion: k.version, Value: base64.StdEncoding.EncodeToString(key)}
	return writeXML(w, out)
}

// errXMLNode is Azure's answer to a well-formed body with a bad value.
func errXMLNode(name, value, reason string) error {
	d := [][2]string{{"XmlNodeName", name}, {"XmlNodeValue", truncate(value, 256)}}
	if reason != "" {
		d = append(d, [2]string{"Reason", reason})
	}
	return &apiError{status: http.StatusBadRequest, code: "InvalidXmlNodeValue",
		message: "The value for one of the XML nodes is not in the correct format.", details: d}
}
