package blob

import (
	"strings"
	"time"
)

// Conditions are the HTTP conditional headers of a request. ETags are compared without
// quotes, since Azure accepts both forms. Times are compared at second precision because
// that is all Last-Modified shows.
type Conditions struct {
	IfMatch           []string // "*" matches any existing resource
	IfNoneMatch       []string
	IfModifiedSince   time.Time // zero when absent
	IfUnmodifiedSince time.Time
	// IfTags is x-ms-if-tags: the blob's tags must satisfy it; nil when absent.
	IfTags *TagQuery
	// LeaseID is the request's x-ms-lease-id: a write of a leased resource must name its
	// lease (see Lease.checkUse).
	LeaseID string
}

// IsZero reports whether no condition is set.
func (c Conditions) IsZero() bool {
	return len(c.IfMatch) == 0 && len(c.IfNoneMatch) == 0 && c.IfModifiedSince.IsZero() && c.IfUnmodifiedSince.IsZero() &&
		c.IfTags == nil && c.LeaseID == ""
}

// noneMatchAny reports whether the request is If-None-Match: *, "create only".
func (c Conditions) noneMatchAny() bool {
	for _, t := range c.IfNoneMatch {
		if unquote(t) == "*" {
			return true
		}
	}
	return false
}

// checkRead evaluates conditions for Get Blob and Get Blob Properties on an existing
// blob the way Azure does since 2013-08-15:
// If-Match && If-Unmodified-Since && (If-None-Match || If-Modified-Since).
// Failures of the last group are "not modified" (304), the others ConditionNotMet (412).
func (c Conditions) checkRead(etag string, lastModified time.Time) error {
	if c.noneMatchAny() {
		// Nothing can be read that does not exist: Azure refuses the request.
		return errInvalid(CodeUnsatisfiableCondition, "The request includes an unsatisfiable condition for this operation.")
	}
	lm := lastModified.Truncate(time.Second)
	if len(c.IfMatch) > 0 && !matchAny(c.IfMatch, etag) {
		return errConditionNotMet()
	}
	if !c.IfUnmodifiedSince.IsZero() && lm.After(c.IfUnmodifiedSince) {
		return errConditionNotMet()
	}
	hasINM, hasIMS := len(c.IfNoneMatch) > 0, !c.IfModifiedSince.IsZero()
	if !hasINM && !hasIMS {
		return nil
	}
	inmPass := hasINM && !matchAny(c.IfNoneMatch, etag)
	imsPass := hasIMS && lm.After(c.IfModifiedSince)
	if inmPass || imsPass {
		return nil
	}
	return errNotModified()
}

// checkWrite evaluates conditions for an operation that changes a resource; exists says
// whether the resource exists. Every condition must hold; If-Match (even *) fails on a
// resource that does not exist.
func (c Conditions) checkWrite(exists bool, etag string, lastModified time.Time) error {
	if !exists {
		if len(c.IfMatch) > 0 {
			return errConditionNotMet()
		}
		return nil
	}
	lm := lastModified.Truncate(time.Second)
	if len(c.IfMatch) > 0 && !matchAny(c.IfMatch, etag) {
		return errConditionNotMet()
	}
	if len(c.IfNoneMatch) > 0 && matchAny(c.IfNoneMatch, etag) {
		return errConditionNotMet()
	}
	if !c.IfModifiedSince.IsZero() && !lm.After(c.IfModifiedSince) {
		return errConditionNotMet()
	}
	if !c.IfUnmodifiedSince.IsZero() && lm.After(c.IfUnmodifiedSince) {
		return errConditionNotMet()
	}
	return nil
}

// checkCreate is checkWrite for operations that create or replace a blob: there,
// If-None-Match: * on an existing blob means "create only" and fails with
// BlobAlreadyExists (409), as Azure answers Put Blob.
func (c Conditions) checkCreate(exists bool, etag string, lastModified time.Time) error {
	if exists && c.noneMatchAny() {
		return errBlobExists()
	}
	return c.checkWrite(exists, etag, lastModified)
}

func matchAny(tags []string, etag string) bool {
	for _, t := range tags {
		t = unquote(t)
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func unquote(t string) string {
	t = strings.TrimSpace(t)
	t = strings.TrimPrefix(t, "W/")
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		t = t[1 : len(t)-1]
	}
	return t
}

// checkReadBlob, checkWriteBlob and checkCreateBlob are checkRead, checkWrite and
// checkCreate of a blob (nil when there is none), after its lease (a write must name an
// active lease; a read need not, but one that does must name the blob's), with
// x-ms-if-tags: a blob's tags are not modification state, so a false tag condition is 412
// even on a read.
func (c Conditions) checkReadBlob(r *BlobRecord, now time.Time) error {
	if err := r.Lease.checkUse(c.LeaseID, false, now, onBlob); err != nil {
		return err
	}
	if err := c.checkTags(r); err != nil {
		return err
	}
	return c.checkRead(r.ETag, r.LastModified)
}

func (c Conditions) checkWriteBlob(r *BlobRecord, now time.Time) error {
	if r != nil {
		if err := r.Lease.checkUse(c.LeaseID, true, now, onBlob); err != nil {
			return err
		}
	}
	if err := c.checkWrite(r != nil, etagOf(r), lastModifiedOf(r)); err != nil {
		return err
	}
	return c.checkTags(r)
}

func (c Conditions) checkCreateBlob(r *BlobRecord, now time.Time) error {
	if err := leaseOf(r).checkUse(c.LeaseID, true, now, onBlob); err != nil {
		return err
	}
	if err := c.checkCreate(r != nil, etagOf(r), lastModifiedOf(r)); err != nil {
		return err
	}
	return c.checkTags(r)
}

// checkTags evaluates x-ms-if-tags; a blob that does not exist has no tags.
func (c Conditions) checkTags(r *BlobRecord) error {
	if c.IfTags == nil {
		return nil
	}
	var t Tags
	if r != nil {
		t = r.Tags
	}
	if !c.IfTags.Match(t) {
		return errConditionNotMet()
	}
	return nil
}
