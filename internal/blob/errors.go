package blob

import (
	"errors"
	"fmt"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Azure Storage error codes this package returns, as lanyard.Error codes. The messages
// are Azure's, so that logs and tools read the same as against Azure.
const (
	CodeContainerNotFound      = "ContainerNotFound"
	CodeContainerAlreadyExists = "ContainerAlreadyExists"
	CodeBlobNotFound           = "BlobNotFound"
	CodeBlobAlreadyExists      = "BlobAlreadyExists"
	CodeConditionNotMet        = "ConditionNotMet"
	CodeInvalidRange           = "InvalidRange"
	CodeMd5Mismatch            = "Md5Mismatch"
	CodeCrc64Mismatch          = "Crc64Mismatch"
	CodeInvalidBlockID         = "InvalidBlockId"
	CodeInvalidBlockList       = "InvalidBlockList"
	CodeInvalidBlobOrBlock     = "InvalidBlobOrBlock"
	CodeBlockCountExceeds      = "BlockCountExceedsLimit"
	CodeBlockListTooLong       = "BlockListTooLong"
	CodeInvalidResourceName    = "InvalidResourceName"
	CodeOutOfRangeInput        = "OutOfRangeInput"
	CodeInvalidMetadata        = "InvalidMetadata"
	CodeMetadataTooLarge       = "MetadataTooLarge"
	CodeRequestBodyTooLarge    = "RequestBodyTooLarge"
	CodeInvalidInput           = "InvalidInput"
	CodeInvalidXMLDocument     = "InvalidXmlDocument"
	CodeInvalidHeaderValue     = "InvalidHeaderValue"
	CodeInvalidQueryValue      = "InvalidQueryParameterValue"
	CodeIncompleteBody         = "IncompleteBody"
	CodeServerBusy             = "ServerBusy"
	CodeUnsatisfiableCondition = "UnsatisfiableCondition"

	CodeInvalidBlobType                 = "InvalidBlobType"
	CodeBlobIsSealed                    = "BlobIsSealed"
	CodeMaxBlobSizeConditionNotMet      = "MaxBlobSizeConditionNotMet"
	CodeAppendPositionConditionNotMet   = "AppendPositionConditionNotMet"
	CodeInvalidPageRange                = "InvalidPageRange"
	CodeSequenceNumberConditionNotMet   = "SequenceNumberConditionNotMet"
	CodeSequenceNumberIncrementTooLarge = "SequenceNumberIncrementTooLarge"
)

// ErrNotModified is wrapped by the ConditionNotMet errors of read operations whose
// If-None-Match or If-Modified-Since failed; HTTP answers those with 304, not 412.
var ErrNotModified = errors.New("not modified")

func errContainerNotFound() error {
	return lanyard.Errorf(lanyard.KindNotFound, "The specified container does not exist.").WithCode(CodeContainerNotFound)
}

func errContainerExists() error {
	return lanyard.Errorf(lanyard.KindConflict, "The specified container already exists.").WithCode(CodeContainerAlreadyExists)
}

func errBlobNotFound() error {
	return lanyard.Errorf(lanyard.KindNotFound, "The specified blob does not exist.").WithCode(CodeBlobNotFound)
}

func errBlobExists() error {
	return lanyard.Errorf(lanyard.KindConflict, "The specified blob already exists.").WithCode(CodeBlobAlreadyExists)
}

func errConditionNotMet() error {
	return lanyard.Errorf(lanyard.KindConflict, "The condition specified using HTTP conditional header(s) is not met.").WithCode(CodeConditionNotMet)
}

func errNotModified() error {
	e := lanyard.Errorf(lanyard.KindConflict, "The condition specified using HTTP conditional header(s) is not met.").WithCode(CodeConditionNotMet)
	e.Err = ErrNotModified
	return e
}

func errInvalidRange() error {
	return lanyard.Errorf(lanyard.KindInvalid, "The range specified is invalid for the current size of the resource.").WithCode(CodeInvalidRange)
}

func errInvalid(code, format string, args ...any) error {
	return lanyard.Errorf(lanyard.KindInvalid, format, args...).WithCode(code)
}

func errTooLarge(code, format string, args ...any) error {
	return lanyard.Errorf(lanyard.KindTooLarge, format, args...).WithCode(code)
}

// ErrContainerNotFound, ErrContainerExists and ErrBlobNotFound build the errors a
// MetaStore returns, so that every implementation returns the same kinds and codes.
func ErrContainerNotFound() error { return errContainerNotFound() }

// ErrContainerExists: see ErrContainerNotFound.
func ErrContainerExists() error { return errContainerExists() }

// ErrBlobNotFound: see ErrContainerNotFound.
func ErrBlobNotFound() error { return errBlobNotFound() }

// ErrUnchanged is wrapped by store errors that certainly changed nothing even though
// their kind (KindUnavailable, KindInternal) would otherwise leave it open; callers may
// then release what the change would have referenced.
var ErrUnchanged = errors.New("nothing was changed")

// NoSpaceMessage is what a client is told when the server's disk is full.
const NoSpaceMessage = "The server has no space left to store the data. Retry once space has been freed."

// ErrNoSpace builds the error a store returns when its disk is full: 503 ServerBusy,
// which the SDKs retry with backoff, since deleting data (or an operator) can free space
// without a restart. unchanged says whether the store certainly wrote nothing.
func ErrNoSpace(cause error, unchanged bool) error {
	if unchanged {
		cause = fmt.Errorf("%w: %w", ErrUnchanged, cause)
	}
	return &lanyard.Error{Kind: lanyard.KindUnavailable, Code: CodeServerBusy, Message: NoSpaceMessage, Err: cause}
}

// CodeOf returns the Azure error code of err, "" when it has none.
func CodeOf(err error) string { return lanyard.CodeOf(err) }

func lanyardConflict(code, msg string) error {
	return lanyard.Errorf(lanyard.KindConflict, "%s", msg).WithCode(code)
}

func errInvalidBlobType() error {
	return lanyardConflict(CodeInvalidBlobType, "The blob type is invalid for this operation.")
}

func errInvalidPageRange() error {
	return lanyard.Errorf(lanyard.KindInvalid, "The page range specified is invalid.").WithCode(CodeInvalidPageRange)
}

// errPrecondition builds the 412 answers of the append and page conditions, which
// Azure reports with codes of their own rather than ConditionNotMet.
func errPrecondition(code, msg string) error {
	return lanyard.Errorf(lanyard.KindConflict, "%s", msg).WithCode(code)
}
