package blobapi

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/httplimit"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// apiError is an error the protocol layer itself raises, with its status fixed (some
// codes, like InvalidAuthenticationInfo, have more than one status in Azure).
type apiError struct {
	status  int
	code    string
	message string
	details [][2]string // extra elements after <Message>, in order
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errInvalidQuery(name, value, reason string) error {
	d := [][2]string{{"QueryParameterName", name}, {"QueryParameterValue", truncate(value, 256)}}
	if reason != "" {
		d = append(d, [2]string{"Reason", reason})
	}
	return &apiError{status: http.StatusBadRequest, code: "InvalidQueryParameterValue",
		message: "Value for one of the query parameters specified in the request URI is invalid.", details: d}
}

func errInvalidHeader(name, value string) error {
	return &apiError{status: http.StatusBadRequest, code: "InvalidHeaderValue",
		message: "The value for one of the HTTP headers is not in the correct format.",
		details: [][2]string{{"HeaderName", name}, {"HeaderValue", truncate(value, 256)}}}
}

func errMissingHeader(name string) error {
	return &apiError{status: http.StatusBadRequest, code: "MissingRequiredHeader",
		message: "An HTTP header that's mandatory for this request is not specified.",
		details: [][2]string{{"HeaderName", name}}}
}

func errMissingQuery(name string) error {
	return &apiError{status: http.StatusBadRequest, code: "MissingRequiredQueryParameter",
		message: "A query parameter that's mandatory for this request is not specified.",
		details: [][2]string{{"QueryParameterName", name}}}
}

func errNotImplemented(what string) error {
	return &apiError{status: http.StatusNotImplemented, code: "NotImplemented",
		message: "The requested operation is not implemented on the specified resource: " + what + "."}
}

func errVerb() error {
	return &apiError{status: http.StatusMethodNotAllowed, code: "UnsupportedHttpVerb",
		message: "The resource doesn't support the specified HTTP verb."}
}

func errInvalidURI() error {
	return &apiError{status: http.StatusBadRequest, code: "InvalidUri",
		message: "The requested URI does not represent any resource on the server."}
}

func errXML() error {
	return &apiError{status: http.StatusBadRequest, code: "InvalidXmlDocument",
		message: "XML specified is not syntactically valid."}
}

// errTimedOut is Azure's answer to a client too slow to send its request (logged by
// Storage Analytics as ClientTimeoutError): 500, which the SDKs retry.
var errTimedOut = &apiError{status: http.StatusInternalServerError, code: "OperationTimedOut",
	message: "Operation could not be completed within the specified time."}

func errBodyTooLarge() error {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: "RequestBodyTooLarge",
		message: "The request body is too large and exceeds the maximum permissible limit."}
}

// statusByCode maps Azure error codes to statuses; one table for the whole surface.
var statusByCode = map[string]int{
	blob.CodeContainerNotFound:        http.StatusNotFound,
	blob.CodeBlobNotFound:             http.StatusNotFound,
	"ResourceNotFound":                http.StatusNotFound,
	blob.CodeContainerAlreadyExists:   http.StatusConflict,
	blob.CodeBlobAlreadyExists:        http.StatusConflict,
	blob.CodeBlockCountExceeds:        http.StatusConflict,
	"PublicAccessNotPermitted":        http.StatusConflict,
	blob.CodeConditionNotMet:          http.StatusPreconditionFailed,
	blob.CodeInvalidRange:             http.StatusRequestedRangeNotSatisfiable,
	blob.CodeRequestBodyTooLarge:      http.StatusRequestEntityTooLarge,
	blob.CodeMd5Mismatch:              http.StatusBadRequest,
	blob.CodeCrc64Mismatch:            http.StatusBadRequest,
	blob.CodeInvalidBlockID:           http.StatusBadRequest,
	blob.CodeInvalidBlockList:         http.StatusBadRequest,
	blob.CodeInvalidBlobOrBlock:       http.StatusBadRequest,
	blob.CodeBlockListTooLong:         http.StatusBadRequest,
	blob.CodeInvalidResourceName:      http.StatusBadRequest,
	blob.CodeOutOfRangeInput:          http.StatusBadRequest,
	blob.CodeInvalidMetadata:          http.StatusBadRequest,
	blob.CodeMetadataTooLarge:         http.StatusBadRequest,
	blob.CodeInvalidInput:             http.StatusBadRequest,
	blob.CodeInvalidHeaderValue:       http.StatusBadRequest,
	blob.CodeInvalidQueryValue:        http.StatusBadRequest,
	blob.CodeIncompleteBody:           http.StatusBadRequest,
	blob.CodeInvalidTag:               http.StatusBadRequest,
	blob.CodeTagsTooLarge:             http.StatusBadRequest,
	blob.CodeEmptyTagName:             http.StatusBadRequest,
	blob.CodeDuplicateTagNames:        http.StatusBadRequest,
	blob.CodeUnsatisfiableCondition:   http.StatusBadRequest,
	blob.CodeInvalidXMLDocument:       http.StatusBadRequest,
	"NoAuthenticationInformation":     http.StatusUnauthorized,
	"InvalidAuthenticationInfo":       http.StatusUnauthorized,
	"AuthenticationFailed":            http.StatusForbidden,
	"AuthorizationPermissionMismatch": http.StatusForbidden,
	"AuthorizationFailure":            http.StatusForbidden,
	"ServerBusy":                      http.StatusServiceUnavailable,
	"InternalError":                   http.StatusInternalServerError,

	// Append and page blobs.
	blob.CodeInvalidBlobType:                 http.StatusConflict,
	blob.CodeBlobIsSealed:                    http.StatusConflict,
	blob.CodeSequenceNumberIncrementTooLarge: http.StatusConflict,
	blob.CodeMaxBlobSizeConditionNotMet:      http.StatusPreconditionFailed,
	blob.CodeAppendPositionConditionNotMet:   http.StatusPreconditionFailed,
	blob.CodeSequenceNumberConditionNotMet:   http.StatusPreconditionFailed,
	blob.CodeInvalidPageRange:                http.StatusRequestedRangeNotSatisfiable,

	// Access tiers.
	blob.CodeBlobArchived:        http.StatusConflict,
	blob.CodeBlobBeingRehydrated: http.StatusConflict,
	// Snapshots.
	blob.CodeSnapshotsPresent:      http.StatusConflict,
	blob.CodeSnapshotCountExceeded: http.StatusConflict,
	// Page range diffs.
	blob.CodePreviousSnapshotNotFound:              http.StatusConflict,
	blob.CodePreviousSnapshotCannotBeNewer:         http.StatusBadRequest,
	blob.CodePreviousSnapshotOperationNotSupported: http.StatusConflict,
	blob.CodeTooManyStates:                         http.StatusConflict,
	blob.CodeNotOnRootBlob:                         http.StatusForbidden,
	// Copies.
	blob.CodeSourceConditionNotMet: http.StatusPreconditionFailed,
	"NoPendingCopyOperation":       http.StatusConflict,
}

// kindDefaults gives a status and code to errors that carry a kind but no known code.
//
//exhaustive:enforce
var kindDefaults = map[lanyard.Kind]struct {
	status int
	code   string
}{
	lanyard.KindInvalid:          {http.StatusBadRequest, "InvalidInput"},
	lanyard.KindNotFound:         {http.StatusNotFound, "ResourceNotFound"},
	lanyard.KindConflict:         {http.StatusConflict, "OperationNotAllowedInCurrentState"},
	lanyard.KindUnauthenticated:  {http.StatusUnauthorized, "InvalidAuthenticationInfo"},
	lanyard.KindPermissionDenied: {http.StatusForbidden, "AuthorizationPermissionMismatch"},
	lanyard.KindTooLarge:         {http.StatusRequestEntityTooLarge, "RequestBodyTooLarge"},
	lanyard.KindUnavailable:      {http.StatusServiceUnavailable, "ServerBusy"},
	lanyard.KindInternal:         {http.StatusInternalServerError, "InternalError"},
}

// authMessages are Azure's fixed messages for authentication and authorization codes;
// what the Authorizer said goes into AuthenticationErrorDetail instead.
var authMessages = map[string]string{
	"NoAuthenticationInformation":     "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.",
	"InvalidAuthenticationInfo":       "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.",
	"AuthenticationFailed":            "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
	"AuthorizationPermissionMismatch": "This request is not authorized to perform this operation using this permission.",
	"AuthorizationFailure":            "This request is not authorized to perform this operation.",
}

// describe turns any error into what the client is shown.
func describe(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if errors.Is(err, httplimit.ErrBodyTimeout) {
		return errTimedOut
	}
	code := lanyard.CodeOf(err)
	kind := lanyard.KindOf(err)
	status, ok := statusByCode[code]
	if !ok {
		status, ok = leaseStatusByCode[code]
	}
	if !ok && code == blob.CodeCannotVerifyCopySource {
		// Its status is the kind's: 404 for a missing source, 409 for one of the wrong type.
		status, ok = kindDefaults[kind].status, true
	}
	if !ok || code == "" {
		d := kindDefaults[kind]
		status, code = d.status, d.code
	}
	if kind == lanyard.KindInternal && status < 500 {
		status, code = http.StatusInternalServerError, "InternalError"
	}
	msg := lanyard.MessageOf(err)
	out := &apiError{status: status, code: code, message: msg}
	if fixed, ok := authMessages[code]; ok {
		out.message = fixed
		// Azure explains authentication failures, not permission ones.
		if msg != "" && msg != fixed && (status == http.StatusUnauthorized || code == "AuthenticationFailed") {
			out.details = [][2]string{{"AuthenticationErrorDetail", msg}}
		}
	}
	if errors.Is(err, blob.ErrNotModified) {
		out.status = http.StatusNotModified
	}
	return out
}

// maxDrain is the most request body an error answer reads and discards; past it the
// connection is closed instead (a 5 GB body refused as too large is not worth reading).
// It covers the SDKs' largest single requests (Go's 256 MiB Put Blob, blocks of MiBs).
const maxDrain = 256 << 20

// unreadBody reports whether r may have a body left to read that maxDrain covers.
func unreadBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength > 0 && r.ContentLength <= maxDrain
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

// writeError answers with Azure's error shape. The message keeps literal newlines before
// RequestId and Time, as Azure writes them.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, rid string, err error) {
	e := describe(err)
	if e.status >= 500 && e != errTimedOut { // a slow client is not the server failing
		h.logger().Error("blobapi: request failed", "request_id", rid, "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		h.logger().Debug("blobapi: request refused", "request_id", rid, "method", r.Method, "path", r.URL.Path, "code", e.code, "err", err)
	}
	hdr := w.Header()
	hdr.Set("x-ms-error-code", e.code)
	if e.status == http.StatusUnauthorized && h.AuthorizationURI != "" {
		// Unquoted and space-separated: the only form both SDKs parse.
		hdr.Set("WWW-Authenticate", "Bearer authorization_uri="+h.AuthorizationURI+" resource_id="+h.resourceID())
	}
	if e.status == http.StatusNotModified || r.Method == http.MethodHead {
		w.WriteHeader(e.status)
		return
	}
	drain := unreadBody(r)
	if drain {
		// Answer first, then read the rest: the client gets the error as soon as it
		// looks, and one that reads only after sending everything still gets it,
		// where closing with unread bytes would reset the connection under it.
		drain = http.NewResponseController(w).EnableFullDuplex() == nil
	}
	defer func() {
		if drain {
			_ = http.NewResponseController(w).Flush()
			_, _ = io.Copy(io.Discard, r.Body) // bounded by the listener's body deadlines
		}
	}()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><Error><Code>`)
	b.WriteString(xmlEscaper.Replace(e.code))
	b.WriteString("</Code><Message>")
	b.WriteString(xmlEscaper.Replace(e.message))
	b.WriteString("\nRequestId:")
	b.WriteString(rid)
	b.WriteString("\nTime:")
	b.WriteString(time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z"))
	b.WriteString("</Message>")
	for _, d := range e.details {
		b.WriteString("<" + d[0] + ">")
		b.WriteString(xmlEscaper.Replace(d[1]))
		b.WriteString("</" + d[0] + ">")
	}
	b.WriteString("</Error>")
	hdr.Set("Content-Type", "application/xml")
	hdr.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(e.status)
	_, _ = w.Write([]byte(b.String()))
}
