package blobapi

import (
	"net/http"
	"strconv"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Append and page blob operations.
var (
	opCreateAppend     = &operation{"PutBlob", ActionBlobsWrite, true, (*Handler).createAppendBlob}
	opAppendBlock      = &operation{"AppendBlock", ActionBlobsWrite, true, (*Handler).appendBlock}
	opSealBlob         = &operation{"SealBlob", ActionBlobsWrite, true, (*Handler).sealBlob}
	opCreatePage       = &operation{"PutBlob", ActionBlobsWrite, true, (*Handler).createPageBlob}
	opPutPage          = &operation{"PutPage", ActionBlobsWrite, true, (*Handler).putPage}
	opGetPageRanges    = &operation{"GetPageRanges", ActionBlobsRead, true, (*Handler).getPageRanges}
	opSetPageBlobProps = &operation{"SetBlobProperties", ActionBlobsWrite, true, (*Handler).setPageBlobProperties}
)

// addAllowed are the operations Azure also allows with blobs/add/action, the right to
// add data but not to replace it: Put Blob only when it creates the blob, Append Block
// always.
var addAllowed = map[*operation]bool{opPutBlob: true, opCreateAppend: true, opCreatePage: true, opAppendBlock: true,
	opCopyBlob: true, opCopyBlobFromURL: true, opPutBlobFromURL: true}

// routeAppendPage picks the append and page blob operations on a blob; nil when the
// request is none of them.
func routeAppendPage(r *http.Request, comp string) (*operation, error) {
	m := r.Method
	switch comp {
	case "":
		if m == http.MethodPut {
			switch r.Header.Get("x-ms-blob-type") {
			case blob.BlobTypeAppend:
				return opCreateAppend, nil
			case blob.BlobTypePage:
				return opCreatePage, nil
			}
		}
	case "appendblock":
		return method(m, map[string]*operation{http.MethodPut: opAppendBlock})
	case "seal":
		return method(m, map[string]*operation{http.MethodPut: opSealBlob})
	case "page":
		return method(m, map[string]*operation{http.MethodPut: opPutPage})
	case "pagelist":
		if err := refusePreviousSnapshotURL(r); err != nil {
			return nil, err
		}
		return method(m, map[string]*operation{http.MethodGet: opGetPageRanges})
	case "properties":
		if m == http.MethodPut && (r.Header.Get("x-ms-blob-content-length") != "" || r.Header.Get("x-ms-sequence-number-action") != "") {
			return opSetPageBlobProps, nil
		}
	}
	return nil, nil
}

// refusePreviousSnapshotURL answers 501 to the diff against a managed disk's snapshot
// (x-ms-previous-snapshot-url), which Lanyard does not serve; prevsnapshot it does.
func refusePreviousSnapshotURL(r *http.Request) error {
	if r.Header.Get("x-ms-previous-snapshot-url") != "" {
		return errNotImplemented("x-ms-previous-snapshot-url (managed disk snapshots)")
	}
	return nil
}

// createOnly adds If-None-Match: * when the caller may only add blobs; userSet reports
// whether the request itself asked for it.
func createOnly(t *target, cond blob.Conditions) (blob.Conditions, bool) {
	userSet := false
	for _, e := range cond.IfNoneMatch {
		userSet = userSet || e == "*"
	}
	if t.createOnly && !userSet {
		cond.IfNoneMatch = append(cond.IfNoneMatch, "*")
	}
	return cond, userSet
}

// refusedReplace turns the BlobAlreadyExists of an add-only caller's create into the
// permission error it stands for: replacing needs blobs/write.
func refusedReplace(t *target, userSet bool, err error) error {
	if t.createOnly && !userSet && lanyard.CodeOf(err) == blob.CodeBlobAlreadyExists {
		return lanyard.Errorf(lanyard.KindPermissionDenied, "This request is not authorized to perform this operation using this permission.").WithCode("AuthorizationPermissionMismatch")
	}
	return err
}

// createInput reads what Put Blob of an append or page blob carries besides sizes.
func createInput(r *http.Request, t *target) (blob.CreateBlobInput, bool, error) {
	if r.ContentLength > 0 {
		return blob.CreateBlobInput{}, false, errInvalidHeader("Content-Length", strconv.FormatInt(r.ContentLength, 10))
	}
	cond, err := conditions(r)
	if err != nil {
		return blob.CreateBlobInput{}, false, err
	}
	props, err := createHeaders(r.Header, true)
	if err != nil {
		return blob.CreateBlobInput{}, false, err
	}
	tags, err := headerTags(r, t)
	if err != nil {
		return blob.CreateBlobInput{}, false, err
	}
	cond, userSet := createOnly(t, cond)
	return blob.CreateBlobInput{Key: t.key(), Headers: props, Metadata: metadata(r.Header), Tags: tags, Conditions: cond}, userSet, nil
}

func (h *Handler) createAppendBlob(w http.ResponseWriter, r *http.Request, t *target) error {
	in, userSet, err := createInput(r, t)
	if err != nil {
		return err
	}
	p, err := h.Service.CreateAppendBlob(r.Context(), in)
	if err != nil {
		return refusedReplace(t, userSet, err)
	}
	setWritten(w.Header(), p.ETag, p.LastModified)
	setVersionID(w.Header(), p.VersionID)
	w.Header().Set("x-ms-request-server-encrypted", "true")
	return noContent(w, http.StatusCreated)
}

// intHeader parses an optional non-negative integer header; nil when absent.
func intHeader(h http.Header, name string) (*int64, error) {
	v := h.Get(name)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return nil, errInvalidHeader(name, v)
	}
	return &n, nil
}

func (h *Handler) appendBlock(w http.ResponseWriter, r *http.Request, t *target) error {
	size, err := contentLength(r, blob.MaxAppendBlockSize)
	if err != nil {
		return err
	}
	if size == 0 {
		return errInvalidHeader("Content-Length", "0")
	}
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	var ac blob.AppendConditions
	if ac.MaxSize, err = intHeader(r.Header, "x-ms-blob-condition-maxsize"); err != nil {
		return err
	}
	if ac.AppendPosition, err = intHeader(r.Header, "x-ms-blob-condition-appendpos"); err != nil {
		return err
	}
	md5sum, crc, err := transactional(r.Header)
	if err != nil {
		return err
	}
	res, err := h.Service.AppendBlock(r.Context(), blob.AppendBlockInput{
		Key: t.key(), Body: r.Body, Size: size, ContentMD5: md5sum, ContentCRC64: crc,
		Conditions: cond, Append: ac,
	})
	if err != nil {
		return err
	}
	hdr := w.Header()
	setWritten(hdr, res.ETag, res.LastModified)
	setWriteDigest(hdr, md5sum, res.ContentMD5, res.CRC64)
	hdr.Set("x-ms-blob-append-offset", itoa(res.Offset))
	hdr.Set("x-ms-blob-committed-block-count", strconv.Itoa(res.CommittedBlockCount))
	hdr.Set("x-ms-request-server-encrypted", "true")
	return noContent(w, http.StatusCreated)
}

func (h *Handler) sealBlob(w http.ResponseWriter, r *http.Request, t *target) error {
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	pos, err := intHeader(r.Header, "x-ms-blob-condition-appendpos")
	if err != nil {
		return err
	}
	p, err := h.Service.SealAppendBlob(r.Context(), t.key(), cond, pos)
	if err != nil {
		return err
	}
	setWritten(w.Header(), p.ETag, p.LastModified)
	w.Header().Set("x-ms-blob-sealed", "true")
	return noContent(w, http.StatusOK)
}

// setTypeHeaders writes the properties only append and page blobs have.
func setTypeHeaders(h http.Header, p blob.BlobProperties) {
	switch p.BlobType {
	case blob.BlobTypeAppend:
		h.Set("x-ms-blob-committed-block-count", strconv.Itoa(p.CommittedBlockCount))
		h.Set("x-ms-blob-sealed", strconv.FormatBool(p.Sealed))
	case blob.BlobTypePage:
		h.Set("x-ms-blob-sequence-number", itoa(p.SequenceNumber))
	}
}

// blobType is p's type; records from before other types existed may leave it empty.
func blobType(p blob.BlobProperties) string {
	if p.BlobType == "" {
		return blob.BlobTypeBlock
	}
	return p.BlobType
}
