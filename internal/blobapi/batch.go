package blobapi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/lanyard-id/lanyard/internal/reqctx"
)

// Blob Batch limits, Azure's: the SDKs split larger work into several batches.
const (
	maxBatchRequests = 256
	maxBatchBody     = 4 << 20
	// maxBatchPart bounds one embedded request: a request line, a bearer token and a
	// few headers (conditions, tier) fit many times over.
	maxBatchPart = 64 << 10
	// batchWorkers is how many sub-requests of a batch run at once: all of them. Azure
	// does not order them, and the stores commit concurrent deletes together: the more
	// at once, the fewer syncs a batch waits for.
	batchWorkers = maxBatchRequests
	// maxSubResponseBody bounds what a sub-request's handler may write: error documents.
	maxSubResponseBody = 16 << 10
)

// opSubmitBatch is Blob Batch. It has no action of its own: the batch's token is only
// authenticated, and each sub-request is authorized for its own blob when it runs. The
// Handler calls submitBatch itself (it serves the sub-requests through the Handler: a
// run field would make an initialization cycle).
var opSubmitBatch = &operation{name: "SubmitBatch"}

// batchKind is the one operation all sub-requests of a batch perform.
type batchKind string

const (
	batchDelete  batchKind = "DeleteBlob"
	batchSetTier batchKind = "SetBlobTier"
)

// subRequest is one embedded request of a batch, parsed but not yet run.
type subRequest struct {
	contentID string
	req       *http.Request
}

// errBatchInput is Azure's answer to a batch body it cannot take apart; reason is logged.
func errBatchInput(reason string) error {
	return fmt.Errorf("blobapi: batch: %s: %w", reason, &apiError{status: http.StatusBadRequest, code: "InvalidInput",
		message: "One of the request inputs is not valid."})
}

var (
	errBatchTooMany = &apiError{status: http.StatusBadRequest, code: "ExceedsMaxBatchRequestCount",
		message: "The batch operation exceeds maximum number of allowed subrequests."}
	errBatchMixed = &apiError{status: http.StatusBadRequest, code: "AllBatchSubRequestsShouldBeSameApi",
		message: "All batch subrequests should be the same api."}
)

// submitBatch serves Blob Batch. Errors with the request itself (its content type, its
// size) are answered as any request's; errors in the body are answered, as Azure does,
// 202 with a single part, without Content-ID, that carries the 400. Each sub-request is
// then served by the Handler exactly as a request of its own would be (routing,
// authorization with its own token, conditions, audit), batchWorkers at a time; the
// answers keep the order of the requests.
func (h *Handler) submitBatch(w http.ResponseWriter, r *http.Request, t *target) error {
	reqctx.SetOperation(r.Context(), "SubmitBatch")
	boundary, framingErr, err := batchBoundary(r.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	size, err := contentLength(r, maxBatchBody)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, size))
	if err != nil {
		return fmt.Errorf("blobapi: reading batch: %w", err)
	}
	if int64(len(body)) != size {
		return &apiError{status: http.StatusBadRequest, code: "IncompleteBody", message: "The request body is incomplete."}
	}
	out := &batchResponse{boundary: "batchresponse_" + reqctx.NewID(), version: w.Header().Get("x-ms-version")}
	subs, err := []subRequest(nil), framingErr
	if err == nil {
		subs, err = parseBatch(body, boundary, t.account, t.container)
	}
	if err != nil {
		h.logger().Debug("blobapi: batch refused", "request_id", t.rid, "err", err)
		rec := newSubResponse()
		rec.header.Set("x-ms-request-id", t.rid)
		rec.header.Set("x-ms-version", out.version)
		h.writeError(rec, r, t.rid, err)
		out.add("", rec)
	} else {
		answers := make([]*subResponse, len(subs))
		var wg sync.WaitGroup
		work := make(chan int)
		for range min(batchWorkers, len(subs)) {
			wg.Go(func() {
				for i := range work {
					answers[i] = h.runSubRequest(r, subs[i].req, out.version)
				}
			})
		}
		for i := range subs {
			work <- i
		}
		close(work)
		wg.Wait()
		for i, s := range subs {
			out.add(s.contentID, answers[i])
		}
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "multipart/mixed; boundary="+out.boundary)
	out.close()
	hdr.Set("Content-Length", itoa(int64(out.buf.Len())))
	w.WriteHeader(http.StatusAccepted)
	_, err = w.Write(out.buf.Bytes())
	return err
}

// batchBoundary returns the multipart boundary of a batch's Content-Type. One that is
// missing or not multipart/mixed fails the request (err); a multipart/mixed one whose
// boundary is missing, empty or named twice is, as Azure answers it, a batch whose single
// answer carries the 400 (framingErr).
func batchBoundary(contentType string) (boundary string, framingErr, err error) {
	if contentType == "" {
		return "", nil, errMissingHeader("Content-Type")
	}
	if mt, _, _ := strings.Cut(contentType, ";"); !strings.EqualFold(strings.TrimSpace(mt), "multipart/mixed") {
		return "", nil, errInvalidHeader("Content-Type", contentType)
	}
	_, params, perr := mime.ParseMediaType(contentType)
	if perr != nil {
		_, params, perr = looseMediaType(contentType)
	}
	switch {
	case perr != nil:
		return "", errBatchInput("Content-Type: " + perr.Error()), nil
	case params["boundary"] == "":
		return "", errInvalidHeader("Content-Type", contentType), nil
	}
	return params["boundary"], nil, nil
}

// looseMediaType parses a Content-Type whose parameter values may hold '=' unquoted, which
// mime.ParseMediaType refuses and Azure accepts: azure-core for Python sends the boundary
// its email package makes, "===============N==", as is. A parameter named twice, or
// without a name or '=', is refused.
func looseMediaType(v string) (string, map[string]string, error) {
	mt, rest, _ := strings.Cut(v, ";")
	params := map[string]string{}
	for p := range strings.SplitSeq(rest, ";") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		name, value, ok := strings.Cut(p, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if _, dup := params[name]; !ok || name == "" || dup {
			return "", nil, fmt.Errorf("blobapi: media parameter %q", p)
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		params[name] = value
	}
	return strings.ToLower(strings.TrimSpace(mt)), params, nil
}

// parseBatch takes a batch body apart into its sub-requests, checking everything that
// makes the batch as a whole invalid before any sub-request runs: the multipart
// framing, each part's headers and embedded request, the count, that every
// sub-request is a Delete Blob or every one a Set Blob Tier, and that each names a blob
// of account (and of container, for a container-scoped batch).
func parseBatch(body []byte, boundary, account, container string) ([]subRequest, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var subs []subRequest
	var kind batchKind
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errBatchInput("multipart: " + err.Error())
		}
		if len(subs) == maxBatchRequests {
			return nil, errBatchTooMany
		}
		s, k, err := parsePart(p, account, container)
		if err != nil {
			return nil, err
		}
		if kind == "" {
			kind = k
		} else if k != kind {
			return nil, errBatchMixed
		}
		subs = append(subs, s)
	}
	if len(subs) == 0 {
		return nil, errBatchInput("no sub-requests")
	}
	return subs, nil
}

// parsePart reads one part: its MIME headers, then the HTTP request it embeds.
func parsePart(p *multipart.Part, account, container string) (subRequest, batchKind, error) {
	if mt, _, err := mime.ParseMediaType(p.Header.Get("Content-Type")); err != nil || mt != "application/http" {
		return subRequest{}, "", errBatchInput("part Content-Type is not application/http")
	}
	if !strings.EqualFold(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding")), "binary") {
		return subRequest{}, "", errBatchInput("part Content-Transfer-Encoding is not binary")
	}
	cid := strings.TrimSpace(p.Header.Get("Content-ID"))
	if !validContentID(cid) {
		return subRequest{}, "", errBatchInput("part Content-ID is not a number")
	}
	raw, err := io.ReadAll(io.LimitReader(p, maxBatchPart+1))
	if err != nil {
		return subRequest{}, "", errBatchInput("part: " + err.Error())
	}
	if len(raw) > maxBatchPart {
		return subRequest{}, "", errBatchInput("part too large")
	}
	// The JavaScript SDK ends a part right after the last header line, its blank line
	// taken by the boundary's CRLF: give it back. A request without Content-Length has
	// no body, so a blank line too many is harmless.
	raw = append(raw, "\r\n"...)
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return subRequest{}, "", errBatchInput("embedded request: " + err.Error())
	}
	// Delete Blob and Set Blob Tier have no body.
	if req.ContentLength > 0 || len(req.TransferEncoding) > 0 || !strings.HasPrefix(req.RequestURI, "/") {
		return subRequest{}, "", errBatchInput("embedded request has a body or an absolute URI")
	}
	kind, err := subRequestKind(req, account, container)
	if err != nil {
		return subRequest{}, "", err
	}
	return subRequest{contentID: cid, req: req}, kind, nil
}

// validContentID accepts what both SDKs send and parse back: a small decimal number.
func validContentID(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// subRequestKind tells which of the two batchable operations req is, and checks that
// it names a blob where the batch may reach: the batch's account, and its container
// for a container-scoped batch.
func subRequestKind(req *http.Request, account, container string) (batchKind, error) {
	acct, c, name, ok := splitPath(req.URL.Path)
	if !ok || !strings.EqualFold(acct, account) || c == "" {
		return "", errBatchInput("sub-request path is not a blob of the account")
	}
	if name == "" {
		c = "$root"
	}
	if container != "" && c != container {
		return "", errBatchInput("sub-request names a blob of another container")
	}
	q := req.URL.Query()
	switch comp := q.Get("comp"); {
	case q.Has("restype"):
	case req.Method == http.MethodDelete && comp == "" && !q.Has("comp"):
		return batchDelete, nil
	case req.Method == http.MethodPut && comp == "tier":
		return batchSetTier, nil
	}
	return "", errBatchInput("sub-request is neither Delete Blob nor Set Blob Tier")
}

// runSubRequest serves one sub-request through the Handler, as a request of its own
// with its own request id (the one its sub-response and its audit records carry), and
// returns what was answered. The batch's version applies to sub-requests without one,
// which is all of them from the SDKs.
func (h *Handler) runSubRequest(batch, sub *http.Request, version string) (rec *subResponse) {
	info := &reqctx.Info{ID: reqctx.NewID()}
	if parent := reqctx.From(batch.Context()); parent != nil {
		child := *parent
		child.ID, child.Operation = reqctx.NewID(), ""
		info = &child
	}
	sub = sub.WithContext(reqctx.With(batch.Context(), info))
	sub.RemoteAddr, sub.TLS = batch.RemoteAddr, batch.TLS
	if sub.Header.Get("x-ms-version") == "" {
		sub.Header.Set("x-ms-version", version)
	}
	rec = newSubResponse()
	defer func() {
		// A handler failing after it answered aborts its response; here, only its part.
		if p := recover(); p != nil {
			if err, ok := p.(error); !ok || !errors.Is(err, http.ErrAbortHandler) {
				panic(p)
			}
			rec = newSubResponse()
			rec.header.Set("x-ms-request-id", info.ID)
			rec.header.Set("x-ms-version", version)
			h.writeError(rec, sub, info.ID, errors.New("blobapi: sub-request aborted"))
		}
	}()
	h.ServeHTTP(rec, sub)
	return rec
}

// subResponse records what a sub-request was answered.
type subResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newSubResponse() *subResponse { return &subResponse{header: http.Header{}} }

func (s *subResponse) Header() http.Header { return s.header }

func (s *subResponse) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
}

func (s *subResponse) Write(p []byte) (int, error) {
	s.WriteHeader(http.StatusOK)
	if s.body.Len()+len(p) > maxSubResponseBody {
		return 0, errors.New("blobapi: sub-response too large")
	}
	return s.body.Write(p)
}

// batchResponse builds the multipart/mixed body of a batch's answer.
type batchResponse struct {
	boundary, version string
	buf               bytes.Buffer
}

// add appends one part: the sub-response as an HTTP/1.1 response, its headers spelled
// as Azure spells them (the JavaScript SDK finds x-ms-error-code by exact name).
func (b *batchResponse) add(contentID string, rec *subResponse) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	w := &b.buf
	w.WriteString("--" + b.boundary + "\r\nContent-Type: application/http\r\n")
	if contentID != "" {
		w.WriteString("Content-ID: " + contentID + "\r\n")
	}
	fmt.Fprintf(w, "\r\nHTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	if rec.header.Get("Content-Length") == "" {
		rec.header.Set("Content-Length", itoa(int64(rec.body.Len())))
	}
	for _, k := range slices.Sorted(maps.Keys(rec.header)) {
		name := k
		switch {
		case strings.HasPrefix(k, "X-Ms-"):
			name = strings.ToLower(k)
		case k == "Www-Authenticate":
			name = "WWW-Authenticate"
		}
		for _, v := range rec.header[k] {
			w.WriteString(name + ": " + v + "\r\n")
		}
	}
	w.WriteString("\r\n")
	w.Write(rec.body.Bytes())
	w.WriteString("\r\n")
}

// close ends the body.
func (b *batchResponse) close() { b.buf.WriteString("--" + b.boundary + "--\r\n") }
