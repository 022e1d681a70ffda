package blobapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// sasGrant is what a verified user delegation SAS lets a request do.
type sasGrant struct {
	principal  string
	createOnly bool
	// overrides are the response headers the SAS sets on Get Blob, by header name.
	overrides [][2]string
}

// CredentialUserDelegationSAS names the credential of SAS-authorized requests in the
// audit trail.
const CredentialUserDelegationSAS = "userDelegationSas"

// verifySAS verifies the user delegation SAS of a request for op at t: its form, its
// signature (with the key derived again), its times, address and protocol, and that it
// permits op. RBAC as the delegating principal is the caller's next step.
func (h *Handler) verifySAS(ctx context.Context, r *http.Request, t *target, op *operation) (sasGrant, error) {
	var p sasParams
	if err := p.parse(t.query); err != nil {
		return sasGrant{}, err
	}
	u := h.UserDelegation
	if p.accountSAS || p.keyOID == "" || u == nil {
		return sasGrant{}, errKeyBased()
	}
	for _, m := range []struct{ name, v string }{{"sv", p.version}, {"sr", p.resource}, {"sp", p.permissions}, {"se", p.expiry},
		{"sktid", p.keyTID}, {"skt", p.keyStart}, {"ske", p.keyExpiry}, {"sks", p.keyService}, {"skv", p.keyVersion}} {
		if m.v == "" {
			return sasGrant{}, sasFailed(m.name + " is mandatory. Cannot be empty")
		}
	}
	if p.version < sasMinVersion {
		return sasGrant{}, sasFailed("Lanyard serves user delegation SAS of service version " + sasMinVersion + " and later; this one has sv=" + truncate(p.version, 32) + ".")
	}
	if err := p.unsupported(); err != nil {
		return sasGrant{}, err
	}
	if !validPermissions(p.permissions) {
		return sasGrant{}, sasFailed("Signed permissions are not valid: sp=" + truncate(p.permissions, 32) + ".")
	}
	switch {
	case p.resource != "b" && p.resource != "c":
		return sasGrant{}, sasFailed("Signed resource " + truncate(p.resource, 8) + " is not served: only b (blob) and c (container).")
	case p.resource == "b" && t.blob == "", t.container == "":
		return sasGrant{}, errSASResourceType()
	}
	ks, okS := parseSASTime(p.keyStart)
	ke, okE := parseSASTime(p.keyExpiry)
	if !okS || !okE {
		return sasGrant{}, sasFailed("The user delegation key's signed start or expiry (skt, ske) is not a valid time.")
	}
	if err := u.checkSignature(ctx, r, t, &p, ks, ke); err != nil {
		return sasGrant{}, err
	}
	if err := p.checkTimes(u.now(), u.TenantID, ks, ke); err != nil {
		return sasGrant{}, err
	}
	if err := p.checkClient(r); err != nil {
		return sasGrant{}, err
	}
	createOnly, err := sasPermits(op, p.permissions)
	if err != nil {
		return sasGrant{}, err
	}
	g := sasGrant{principal: p.keyOID, createOnly: createOnly}
	for _, o := range [][2]string{{"Cache-Control", p.cacheControl}, {"Content-Disposition", p.contentDisposition},
		{"Content-Encoding", p.contentEncoding}, {"Content-Language", p.contentLanguage}, {"Content-Type", p.contentType}} {
		if o[1] != "" {
			g.overrides = append(g.overrides, o)
		}
	}
	return g, nil
}

// unsupported refuses what a SAS may ask that Lanyard does not honour, rather than
// granting more than it says.
func (p *sasParams) unsupported() error {
	switch {
	case p.identifier != "":
		return sasFailed("A user delegation SAS cannot refer to a stored access policy (si).")
	case p.keyDelegatedTID != "" || p.delegatedOID != "":
		return sasFailed("Delegation to another user (skdutid, sduoid) is not supported.")
	case p.requestHeaders != "" || p.requestQuery != "":
		return sasFailed("Signed request headers and query parameters (srh, srq) are not supported.")
	case p.directoryDepth != "":
		return sasFailed("Directory SAS (sdd) needs a hierarchical namespace, which Lanyard's accounts do not have.")
	case p.encryptionScope != "":
		return sasFailed("Encryption scopes (ses) are not supported.")
	}
	return nil
}

// checkSignature derives the key again (or finds it derived for an earlier request) and
// compares the signature in constant time. ks and ke are the key's times, parsed.
func (u *UserDelegation) checkSignature(ctx context.Context, r *http.Request, t *target, p *sasParams, ks, ke time.Time) error {
	d, err := u.derivation(ctx, t.account, keyFields{oid: p.keyOID, tid: p.keyTID, start: p.keyStart, expiry: p.keyExpiry, version: p.keyVersion})
	if err != nil {
		return err
	}
	key, cached := u.derived.get(d)
	if !cached {
		// Derived from the times as Get User Delegation Key gave them out.
		given := d
		given.start, given.expiry = ks.UTC().Format(time.RFC3339), ke.UTC().Format(time.RFC3339)
		key = u.derive(given)
	}
	sig, decErr := base64.StdEncoding.DecodeString(p.sig)
	m := hmac.New(sha256.New, key)
	var mac [sha256.Size]byte
	sts := p.appendStringToSign(make([]byte, 0, 512), t.account, t.container, t.blob)
	m.Write(sts)
	ok := decErr == nil && hmac.Equal(sig, m.Sum(mac[:0]))
	// The Go SDK names the account after the first label of the host, "127" for a
	// path-style URL on 127.0.0.1; the key is the account's all the same.
	if label, _, _ := strings.Cut(r.Host, "."); !ok && decErr == nil && label != t.account {
		m.Reset()
		m.Write(p.appendStringToSign(sts[:0], label, t.container, t.blob))
		ok = hmac.Equal(sig, m.Sum(mac[:0]))
	}
	if !ok {
		sts = p.appendStringToSign(nil, t.account, t.container, t.blob)
		return sasFailed("Signature did not match. String to sign used was " + string(sts))
	}
	if !cached {
		u.derived.put(d, key)
	}
	return nil
}

// checkTimes checks the SAS's and its key's validity (from ks to ke) at now, in Azure's
// words.
func (p *sasParams) checkTimes(now time.Time, tenant string, ks, ke time.Time) error {
	if !strings.EqualFold(p.keyTID, tenant) {
		return sasFailed("The user delegation key was issued by another tenant (sktid).")
	}
	if p.keyService != "b" {
		return sasFailed("The user delegation key is for another service (sks=" + truncate(p.keyService, 8) + ").")
	}
	if now.Before(ks) || !now.Before(ke) {
		return sasFailed("The user delegation key is not valid at this time: Start [" + httpDate(ks) + "] - Expiry [" + httpDate(ke) + "] - Current [" + httpDate(now) + "]")
	}
	expiry, ok := parseSASTime(p.expiry)
	if !ok {
		return sasFailed("se is not a valid time.")
	}
	start := now
	if p.start != "" {
		if start, ok = parseSASTime(p.start); !ok {
			return sasFailed("st is not a valid time.")
		}
	}
	if !expiry.After(start) {
		return sasFailed("Signed expiry time [" + httpDate(expiry) + "] must be after signed start time [" + httpDate(start) + "]")
	}
	if now.Before(start) || !now.Before(expiry) {
		return sasFailed("Signature not valid in the specified time frame: Start [" + httpDate(start) + "] - Expiry [" + httpDate(expiry) + "] - Current [" + httpDate(now) + "]")
	}
	return nil
}

// checkClient checks the SAS's address range and protocol against the request's.
func (p *sasParams) checkClient(r *http.Request) error {
	if p.ip != "" {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		addr, err := netip.ParseAddr(host)
		if err != nil || !inRange(p.ip, addr.Unmap()) {
			return &apiError{status: http.StatusForbidden, code: "AuthorizationSourceIPMismatch",
				message: "This request is not authorized to perform this operation using this source IP " + host + "."}
		}
	}
	switch p.protocol {
	case "", "https,http":
	case "https":
		if r.TLS == nil {
			return &apiError{status: http.StatusForbidden, code: "AuthorizationProtocolMismatch",
				message: "This request is not authorized to perform this operation using this protocol."}
		}
	default:
		return sasFailed("spr must be https or https,http.")
	}
	return nil
}

// inRange reports whether addr is sip: one address, or a range first-last.
func inRange(sip string, addr netip.Addr) bool {
	lo, hi, isRange := strings.Cut(sip, "-")
	first, err := netip.ParseAddr(lo)
	if err != nil {
		return false
	}
	last := first
	if isRange {
		if last, err = netip.ParseAddr(hi); err != nil {
			return false
		}
	}
	first, last = first.Unmap(), last.Unmap()
	return first.BitLen() == addr.BitLen() && first.Compare(addr) <= 0 && addr.Compare(last) <= 0
}

// overrideWriter sets a SAS's response headers on a successful Get Blob, replacing what
// the blob's own properties set.
type overrideWriter struct {
	http.ResponseWriter
	overrides [][2]string
	done      bool
}

func (o *overrideWriter) WriteHeader(status int) {
	if !o.done && status < 300 {
		for _, h := range o.overrides {
			o.Header().Set(h[0], h[1])
		}
	}
	o.done = true
	o.ResponseWriter.WriteHeader(status)
}

func (o *overrideWriter) Write(b []byte) (int, error) {
	if !o.done {
		o.WriteHeader(http.StatusOK)
	}
	return o.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (o *overrideWriter) Unwrap() http.ResponseWriter { return o.ResponseWriter }

// serveSAS serves a request carrying a SAS: verified, then authorized by RBAC as its
// delegating principal, so that the SAS stops working the moment the principal may no
// longer do what it allows.
func (h *Handler) serveSAS(w http.ResponseWriter, r *http.Request, t *target, op *operation) error {
	switch op {
	case opGetUserDelegationKey:
		return sasFailed("Only authentication scheme Bearer is supported")
	case opSubmitBatch:
		return errNotImplemented("Blob Batch with a shared access signature")
	}
	ctx := r.Context()
	g, err := h.verifySAS(ctx, r, t, op)
	if err != nil {
		return err
	}
	da, ok := h.Auth.(DelegatedAuthorizer)
	if !ok {
		return errKeyBased()
	}
	// What ABAC conditions may ask, as for a bearer token: the principal's conditions
	// bind its SAS too.
	req := AccessRequest{
		Account: t.account, Container: t.container, Blob: t.blob,
		Operation: op.name, Action: op.action, DataAction: op.data,
		Scope: scopeOf(t.container, t.blob), Credential: CredentialUserDelegationSAS,
		SubOperation: tagSubOperation(r, op),
	}
	if t.blob != "" {
		req.Attributes = h.blobTagAttributes(r, t, op)
	}
	err = authorizeOrAdd(req, t, op, func(req AccessRequest) error { return da.AuthorizeDelegated(ctx, g.principal, req) })
	if err != nil {
		if lanyard.KindOf(err) == lanyard.KindUnauthenticated {
			// Not a bearer token's failure: no challenge, Azure's 403 for a SAS.
			return sasFailed(lanyard.MessageOf(err))
		}
		return err
	}
	t.createOnly = t.createOnly || g.createOnly
	if len(g.overrides) > 0 && (op == opGetBlob || op == opGetBlobProps) {
		w = &overrideWriter{ResponseWriter: w, overrides: g.overrides}
	}
	return op.run(h, w, r, t)
}
