package blobapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// maxCopySource bounds x-ms-copy-source (Azure allows a URL of up to 2 KiB, SAS included).
const maxCopySource = 2048

// copySource is the blob an x-ms-copy-source names, once authorized for reading.
type copySource struct {
	key blob.BlobKey
	// at is the snapshot or version of the source the URL names (?snapshot=,
	// ?versionid=).
	at blob.At
	// url is the source URL as x-ms-copy-source shows it (shownSource).
	url string
}

// errCopySource is Azure's answer to a copy whose source cannot be read: the source's
// status (a 401 becomes 403: the challenge of a 401 would be about the destination's
// credential) and code in headers, CannotVerifyCopySource as the code.
func errCopySource(w http.ResponseWriter, cause error) error {
	e := describe(cause)
	w.Header().Set("x-ms-copy-source-status-code", strconv.Itoa(e.status))
	w.Header().Set("x-ms-copy-source-error-code", e.code)
	status := e.status
	if status == http.StatusUnauthorized {
		status = http.StatusForbidden
	}
	return &apiError{status: status, code: "CannotVerifyCopySource", message: e.message}
}

// resolveCopySource parses x-ms-copy-source, which must name a blob this Lanyard serves
// (the host the request came to; any account), and authorizes reading it: with the
// user delegation SAS in its query, with x-ms-copy-source-authorization, or else as the
// caller. Lanyard never fetches a URL: a source anywhere else is refused.
func (h *Handler) resolveCopySource(w http.ResponseWriter, r *http.Request, t *target, readTags bool) (*copySource, error) {
	sourceToken, err := copySourceToken(r)
	if err != nil {
		return nil, err
	}
	raw := r.Header.Get("x-ms-copy-source")
	if len(raw) > maxCopySource {
		return nil, errInvalidHeader("x-ms-copy-source", raw[:64]+"...")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return nil, errInvalidHeader("x-ms-copy-source", raw)
	}
	if !strings.EqualFold(u.Host, r.Host) {
		return nil, errCopySource(w, &apiError{status: http.StatusForbidden, code: "CannotVerifyCopySource",
			message: "Lanyard copies only from blobs it serves itself; it does not fetch " + u.Scheme + "://" + u.Host + "."})
	}
	account, container, name, ok := splitPath(u.Path)
	if !ok {
		return nil, errInvalidHeader("x-ms-copy-source", raw)
	}
	if name == "" {
		container, name = "$root", container
	}
	q := u.Query()
	src := &target{account: strings.ToLower(account), container: container, blob: name, rid: t.rid, query: q}
	for param, id := range map[string]*string{"snapshot": &src.snapshot, "versionid": &src.version} {
		if v := q.Get(param); q.Has(param) {
			if *id, err = blob.ParseSnapshotID(v); err != nil {
				return nil, errInvalidHeader("x-ms-copy-source", raw)
			}
		}
	}
	// A source on an account's secondary endpoint is read there: the account's own blob.
	ep, err := h.resolveAccount(r.Context(), src.account)
	if err != nil {
		if describe(err).status >= http.StatusInternalServerError {
			return nil, err
		}
		return nil, errCopySource(w, err)
	}
	src.account, src.sku, src.secondary = ep.account, ep.sku, ep.secondary
	// The request the source would have received, for the checks that look at it (SAS
	// client address and protocol, signature host).
	sr := r.Clone(r.Context())
	sr.URL, sr.Host, sr.Method = u, u.Host, http.MethodGet
	if err := h.authorizeCopySource(sr, r, t, src, sourceToken, opGetBlob); err != nil {
		return nil, errCopySource(w, err)
	}
	// Copying the source's tags reads them: Get Blob Tags' own data action (or SAS 't').
	if readTags {
		if err := h.authorizeCopySource(sr, r, t, src, sourceToken, opGetBlobTags); err != nil {
			return nil, errCopySource(w, err)
		}
	}
	return &copySource{key: src.key(), at: src.at(), url: shownSource(u)}, nil
}

// shownSource is a copy source URL as x-ms-copy-source shows it: without the query (a SAS
// there is a credential) but the snapshot or version it names, as the client wrote them.
func shownSource(u *url.URL) string {
	clean := *u
	var keep []string
	for part := range strings.SplitSeq(u.RawQuery, "&") {
		if name, _, _ := strings.Cut(part, "="); name == "snapshot" || name == "versionid" {
			keep = append(keep, part)
		}
	}
	clean.RawQuery = strings.Join(keep, "&")
	return clean.String()
}

func (h *Handler) authorizeCopySource(sr, r *http.Request, t, src *target, sourceToken string, op *operation) error {
	ctx := r.Context()
	req := AccessRequest{
		Account: src.account, Container: src.container, Blob: src.blob,
		Operation: op.name, Action: op.action, DataAction: true,
		Scope: scopeOf(src.container, src.blob), Attributes: h.blobTagAttributes(sr, src, op),
	}
	if src.query.Has("sig") {
		g, err := h.verifySAS(ctx, sr, src, op)
		if err != nil {
			return err
		}
		da, ok := h.Auth.(DelegatedAuthorizer)
		if !ok {
			return errKeyBased()
		}
		req.Credential = CredentialUserDelegationSAS
		if err := da.AuthorizeDelegated(ctx, g.principal, req); err != nil {
			if lanyard.KindOf(err) == lanyard.KindUnauthenticated {
				return sasFailed(lanyard.MessageOf(err))
			}
			return err
		}
		return nil
	}
	if sourceToken != "" {
		req.Token = sourceToken
		return h.Auth.Authorize(ctx, sr, req)
	}
	if t.query.Has("sig") {
		// A SAS grants what it names, the destination; the source needs its own.
		return lanyard.Errorf(lanyard.KindNotFound, "The specified resource does not exist.").WithCode("ResourceNotFound")
	}
	tok, err := bearerToken(r)
	if err != nil {
		return err
	}
	req.Token = tok
	return h.Auth.Authorize(ctx, sr, req)
}

// copySourceToken reads x-ms-copy-source-authorization: a bearer token for the source,
// "" when absent.
func copySourceToken(r *http.Request) (string, error) {
	v := r.Header.Get("x-ms-copy-source-authorization")
	if v == "" {
		return "", nil
	}
	scheme, tok, _ := strings.Cut(strings.TrimSpace(v), " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" || strings.ContainsAny(tok, " \t") {
		return "", errInvalidHeader("x-ms-copy-source-authorization", scheme)
	}
	return tok, nil
}

// sourceConditions reads the x-ms-source-if-* headers and x-ms-source-lease-id.
func sourceConditions(r *http.Request) (blob.Conditions, error) {
	var c blob.Conditions
	c.IfMatch = etagList(r.Header.Values("x-ms-source-if-match"))
	c.IfNoneMatch = etagList(r.Header.Values("x-ms-source-if-none-match"))
	q, err := blob.ParseTagCondition(r.Header.Get("x-ms-source-if-tags"))
	if err != nil {
		return c, err
	}
	c.IfTags = q
	for _, d := range []struct {
		name string
		dst  *time.Time
	}{{"x-ms-source-if-modified-since", &c.IfModifiedSince}, {"x-ms-source-if-unmodified-since", &c.IfUnmodifiedSince}} {
		v := r.Header.Get(d.name)
		if v == "" {
			continue
		}
		t, err := http.ParseTime(v)
		if err != nil {
			return c, errInvalidHeader(d.name, v)
		}
		*d.dst = t
	}
	c.LeaseID, err = leaseIDHeader(r.Header, "x-ms-source-lease-id")
	return c, err
}
