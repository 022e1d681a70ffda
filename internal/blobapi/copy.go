package blobapi

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/reqctx"
)

// maxSyncCopy is the largest source Copy Blob From URL copies (Azure's limit).
const maxSyncCopy = 256 << 20

// Copy operations. Copies read only blobs this Lanyard serves, so they all complete
// before the answer: Copy Blob reports success at once and Abort Copy finds nothing
// pending.
var (
	opCopyBlob = &operation{"CopyBlob", ActionBlobsWrite, true, func(h *Handler, w http.ResponseWriter, r *http.Request, t *target) error {
		return h.copyBlob(w, r, t, false)
	}}
	opCopyBlobFromURL = &operation{"CopyBlobFromURL", ActionBlobsWrite, true, func(h *Handler, w http.ResponseWriter, r *http.Request, t *target) error {
		return h.copyBlob(w, r, t, true)
	}}
	opPutBlobFromURL  = &operation{"PutBlobFromURL", ActionBlobsWrite, true, (*Handler).putBlobFromURL}
	opPutBlockFromURL = &operation{"PutBlockFromURL", ActionBlobsWrite, true, (*Handler).putBlockFromURL}
	opAbortCopy       = &operation{"AbortCopyBlob", ActionBlobsWrite, true, (*Handler).abortCopy}

	opAppendBlockFromURL = &operation{"AppendBlockFromURL", ActionBlobsWrite, true, (*Handler).appendBlockFromURL}
	opPutPageFromURL     = &operation{"PutPageFromURL", ActionBlobsWrite, true, (*Handler).putPageFromURL}
)

// routeCopy picks the copy operations on a blob; nil when the request is none of them.
func routeCopy(r *http.Request, comp string) (*operation, error) {
	m, copySource := r.Method, r.Header.Get("x-ms-copy-source") != ""
	switch {
	case comp == "copy":
		return method(m, map[string]*operation{http.MethodPut: opAbortCopy})
	case m != http.MethodPut || !copySource:
		return nil, nil
	case comp == "block":
		return opPutBlockFromURL, nil
	case comp == "appendblock":
		return opAppendBlockFromURL, nil
	case comp == "page":
		return opPutPageFromURL, nil
	case comp != "":
		return nil, nil
	case strings.EqualFold(r.Header.Get("x-ms-requires-sync"), "true"):
		return opCopyBlobFromURL, nil
	}
	switch bt := r.Header.Get("x-ms-blob-type"); bt {
	case "":
		return opCopyBlob, nil
	case blob.BlobTypeBlock:
		return opPutBlobFromURL, nil
	default:
		return nil, errInvalidHeader("x-ms-blob-type", bt)
	}
}

// noBody refuses a body on an operation that takes none.
func noBody(r *http.Request) error {
	if r.ContentLength > 0 {
		return errInvalidHeader("Content-Length", itoa(r.ContentLength))
	}
	return nil
}

// createOnlyConditions adds If-None-Match: * when the caller may only create (blobs/add
// without blobs/write); userCreateOnly says whether the request asked for it itself.
func createOnlyConditions(t *target, cond *blob.Conditions) (userCreateOnly bool) {
	for _, e := range cond.IfNoneMatch {
		userCreateOnly = userCreateOnly || e == "*"
	}
	if t.createOnly && !userCreateOnly {
		cond.IfNoneMatch = append(cond.IfNoneMatch, "*")
	}
	return userCreateOnly
}

// addOnlyRefused turns the BlobAlreadyExists of a write that could only create into
// the permission error it is.
func addOnlyRefused(t *target, userCreateOnly bool, err error) error {
	if t.createOnly && !userCreateOnly && lanyard.CodeOf(err) == blob.CodeBlobAlreadyExists {
		return lanyard.Errorf(lanyard.KindPermissionDenied, "This request is not authorized to perform this operation using this permission.").WithCode("AuthorizationPermissionMismatch")
	}
	return err
}

// copyTags reads x-ms-tags and, for the synchronous copies, x-ms-copy-source-tag-option:
// COPY takes the source's tags (then x-ms-tags must be absent, and the caller must be
// allowed to read them: resolveCopySource), REPLACE (the default) the request's. Copy Blob
// never copies tags.
func copyTags(r *http.Request, t *target, synchronous bool) (tags blob.Tags, keep bool, err error) {
	tags, err = headerTags(r, t)
	if err != nil {
		return nil, false, err
	}
	mode := r.Header.Get("x-ms-copy-source-tag-option")
	switch {
	case mode == "" || strings.EqualFold(mode, "REPLACE"):
		return tags, false, nil
	case synchronous && strings.EqualFold(mode, "COPY") && tags == nil:
		return nil, true, nil
	}
	return nil, false, errInvalidHeader("x-ms-copy-source-tag-option", mode)
}

func (h *Handler) copyBlob(w http.ResponseWriter, r *http.Request, t *target, synchronous bool) error {
	if err := noBody(r); err != nil {
		return err
	}
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	srcCond, err := sourceConditions(r)
	if err != nil {
		return err
	}
	tags, keepTags, err := copyTags(r, t, synchronous)
	if err != nil {
		return err
	}
	var srcMD5 []byte
	if synchronous {
		if srcMD5, err = sourceMD5(r); err != nil {
			return err
		}
	}
	tier, err := uploadTierHeader(r.Header)
	if err != nil {
		return err
	}
	prio, ok := blob.ParseRehydratePriority(r.Header.Get("x-ms-rehydrate-priority"))
	if !ok {
		return errInvalidHeader("x-ms-rehydrate-priority", r.Header.Get("x-ms-rehydrate-priority"))
	}
	src, err := h.resolveCopySource(w, r, t, keepTags)
	if err != nil {
		return err
	}
	userCreateOnly := createOnlyConditions(t, &cond)
	in := blob.CopyBlobInput{
		Source: src.key, SourceAt: src.at, Dest: t.key(), SourceConditions: srcCond, Conditions: cond,
		Metadata: metadata(r.Header), Tags: tags, KeepTags: keepTags, SourceContentMD5: srcMD5,
		Copy: &blob.CopyInfo{ID: reqctx.NewID(), Source: src.url}, Tier: tier, RehydratePriority: prio,
	}
	if synchronous {
		in.BlockBlob, in.MaxSize = true, maxSyncCopy
	}
	p, err := h.Service.CopyBlob(r.Context(), in)
	if err != nil {
		return addOnlyRefused(t, userCreateOnly, err)
	}
	hdr := w.Header()
	setWritten(hdr, p.ETag, p.LastModified)
	setVersionID(hdr, p.VersionID)
	hdr.Set("x-ms-copy-id", p.Copy.ID)
	hdr.Set("x-ms-copy-status", p.Copy.Status)
	if synchronous && len(p.ContentMD5) > 0 {
		hdr.Set("Content-MD5", base64.StdEncoding.EncodeToString(p.ContentMD5))
	}
	return noContent(w, http.StatusAccepted)
}

// sourceMD5 reads x-ms-source-content-md5, the MD5 the source's bytes must have.
func sourceMD5(r *http.Request) ([]byte, error) {
	return digestHeader(r, "x-ms-source-content-md5", 16)
}

// sourceDigests reads x-ms-source-content-md5 and x-ms-source-content-crc64, the digests
// the source bytes a From URL write copies must have; nil for those absent.
func sourceDigests(r *http.Request) (md5, crc []byte, err error) {
	if md5, err = sourceMD5(r); err != nil {
		return nil, nil, err
	}
	crc, err = digestHeader(r, "x-ms-source-content-crc64", 8)
	return md5, crc, err
}

// digestHeader reads a base64 digest of size bytes from header name; nil when absent.
func digestHeader(r *http.Request, name string, size int) ([]byte, error) {
	v := r.Header.Get(name)
	if v == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != size {
		return nil, errInvalidHeader(name, v)
	}
	return b, nil
}

// abortCopy serves Abort Copy Blob. Copies complete before Copy Blob answers, so none is
// ever pending: Azure's answer for a copy that has finished.
func (h *Handler) abortCopy(w http.ResponseWriter, r *http.Request, t *target) error {
	if !t.query.Has("copyid") {
		return errMissingQuery("copyid")
	}
	if a := r.Header.Get("x-ms-copy-action"); !strings.EqualFold(a, "abort") {
		if a == "" {
			return errMissingHeader("x-ms-copy-action")
		}
		return errInvalidHeader("x-ms-copy-action", a)
	}
	leaseID, err := leaseIDHeader(r.Header, "x-ms-lease-id")
	if err != nil {
		return err
	}
	if _, err := h.Service.GetBlobProperties(r.Context(), t.key(), blob.Conditions{LeaseID: leaseID}); err != nil {
		return err
	}
	return lanyard.Errorf(lanyard.KindConflict, "There is currently no pending copy operation.").WithCode("NoPendingCopyOperation")
}

// setCopyHeaders writes the x-ms-copy-* properties of Get Blob and Get Blob Properties.
func setCopyHeaders(h http.Header, c *blob.CopyInfo) {
	if c == nil {
		return
	}
	h.Set("x-ms-copy-id", c.ID)
	h.Set("x-ms-copy-source", c.Source)
	h.Set("x-ms-copy-status", c.Status)
	h.Set("x-ms-copy-progress", c.Progress)
	h.Set("x-ms-copy-completion-time", httpTime(c.CompletionTime))
}

// The copies join the SAS and ABAC tables here rather than in their literals, which the
// copies' own code reaches: that would be an initialization cycle.
func init() {
	for _, op := range []*operation{opCopyBlob, opCopyBlobFromURL, opPutBlobFromURL} {
		sasAllows[op], sasCreateOnly[op], writesTagHeader[op] = "cw", true, true
	}
	sasAllows[opPutBlockFromURL], sasAllows[opAbortCopy] = "w", "w"
	// Appending is adding: Append Block From URL is allowed as Append Block is.
	sasAllows[opAppendBlockFromURL], addAllowed[opAppendBlockFromURL] = "aw", true
}
