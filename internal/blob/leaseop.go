package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// LeaseAction is what a Lease Blob or Lease Container request does (x-ms-lease-action).
type LeaseAction string

// Lease actions.
const (
	LeaseAcquire LeaseAction = "acquire"
	LeaseRenew   LeaseAction = "renew"
	LeaseChange  LeaseAction = "change"
	LeaseRelease LeaseAction = "release"
	LeaseBreak   LeaseAction = "break"
)

// LeaseRequest is one lease operation.
type LeaseRequest struct {
	Action LeaseAction
	// ID is the current lease id (x-ms-lease-id): required to renew, change and release.
	ID string
	// ProposedID is the new lease id (x-ms-proposed-lease-id): optional to acquire (the
	// service then makes one up), required to change.
	ProposedID string
	// Duration is an acquired lease's length in seconds: LeaseInfinite, or between
	// MinLeaseDuration and MaxLeaseDuration.
	Duration int
	// BreakPeriod is how long a broken lease goes on holding, at most MaxLeaseBreakPeriod
	// seconds; nil lets a fixed lease run out and breaks an infinite one at once.
	BreakPeriod *int
	Conditions  Conditions
}

// LeaseResult is what a lease operation answers.
type LeaseResult struct {
	ETag         string
	LastModified time.Time
	// ID is the lease id after acquire, renew and change.
	ID string
	// BreakSeconds is, after break, how long until the lease is broken.
	BreakSeconds int
}

// LeaseBlob runs a lease operation on a blob. It changes neither the blob's ETag nor its
// Last-Modified time, as in Azure.
func (s *Service) LeaseBlob(ctx context.Context, key BlobKey, req LeaseRequest) (LeaseResult, error) {
	if err := s.validateKey(key); err != nil {
		return LeaseResult{}, notFoundForRead(err)
	}
	newID, err := req.validate()
	if err != nil {
		return LeaseResult{}, err
	}
	var out LeaseResult
	_, err = s.updateBlob(ctx, key, false, func(st BlobState) (BlobWrite, error) {
		cur := st.Blob
		if cur == nil {
			return BlobWrite{}, errBlobNotFound()
		}
		if err := req.Conditions.checkWrite(true, cur.ETag, cur.LastModified); err != nil {
			return BlobWrite{}, err
		}
		if err := req.Conditions.checkTags(cur); err != nil {
			return BlobWrite{}, err
		}
		l, res, err := cur.Lease.apply(req, s.timestamp(), newID)
		if err != nil {
			return BlobWrite{}, err
		}
		n := *cur
		n.Lease = l
		res.ETag, res.LastModified = cur.ETag, cur.LastModified
		out = res
		return BlobWrite{Blob: &n}, nil
	})
	if err != nil {
		return LeaseResult{}, err
	}
	return out, nil
}

// LeaseContainer runs a lease operation on a container. Like LeaseBlob, it leaves the
// container's ETag and Last-Modified time as they are.
func (s *Service) LeaseContainer(ctx context.Context, account, name string, req LeaseRequest) (LeaseResult, error) {
	if err := ValidateContainerName(name); err != nil {
		return LeaseResult{}, errContainerNotFound()
	}
	newID, err := req.validate()
	if err != nil {
		return LeaseResult{}, err
	}
	var out LeaseResult
	_, err = s.meta.UpdateContainer(ctx, account, name, func(c Container) (Container, error) {
		if err := req.Conditions.checkWrite(true, c.ETag, c.LastModified); err != nil {
			return Container{}, err
		}
		l, res, err := c.Lease.apply(req, s.timestamp(), newID)
		if err != nil {
			return Container{}, err
		}
		c.Lease = l
		res.ETag, res.LastModified = c.ETag, c.LastModified
		out = res
		return c, nil
	})
	if err != nil {
		return LeaseResult{}, err
	}
	return out, nil
}

// validate checks the request's values and returns the id an acquire without a proposed
// one gets (made up here, once: the store's callback may run more than once).
func (r *LeaseRequest) validate() (string, error) {
	canon := func(id *string, header string, required bool) error {
		if *id == "" {
			if required {
				return errInvalid(CodeMissingRequiredHeader, "An HTTP header that's mandatory for this request is not specified: %s.", header)
			}
			return nil
		}
		c, ok := ParseLeaseID(*id)
		if !ok {
			return errInvalid(CodeInvalidHeaderValue, "The value for one of the HTTP headers is not in the correct format. Header: %s.", header)
		}
		*id = c
		return nil
	}
	var err error
	switch r.Action {
	case LeaseAcquire:
		if r.Duration != LeaseInfinite && (r.Duration < MinLeaseDuration || r.Duration > MaxLeaseDuration) {
			return "", errInvalid(CodeInvalidHeaderValue, "The value for one of the HTTP headers is not in the correct format. Header: x-ms-lease-duration.")
		}
		err = canon(&r.ProposedID, "x-ms-proposed-lease-id", false)
	case LeaseRenew, LeaseRelease:
		err = canon(&r.ID, "x-ms-lease-id", true)
	case LeaseChange:
		if err = canon(&r.ID, "x-ms-lease-id", true); err == nil {
			err = canon(&r.ProposedID, "x-ms-proposed-lease-id", true)
		}
	case LeaseBreak:
		if p := r.BreakPeriod; p != nil && (*p < 0 || *p > MaxLeaseBreakPeriod) {
			return "", errInvalid(CodeInvalidHeaderValue, "The value for one of the HTTP headers is not in the correct format. Header: x-ms-lease-break-period.")
		}
	default:
		return "", errInvalid(CodeInvalidHeaderValue, "The value for one of the HTTP headers is not in the correct format. Header: x-ms-lease-action.")
	}
	if err != nil {
		return "", err
	}
	if r.Action == LeaseAcquire && r.ProposedID == "" {
		return newLeaseID(), nil
	}
	return r.ProposedID, nil
}

// newLeaseID returns a random (version 4) GUID.
func newLeaseID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	id, _ := ParseLeaseID(hex.EncodeToString(b[:]))
	return id
}

// apply runs a validated lease request on l at now, following Azure's table of lease
// operations by lease state. newID is the id an acquire takes.
func (l Lease) apply(req LeaseRequest, now time.Time, newID string) (Lease, LeaseResult, error) {
	state := l.State(now)
	same := func(id string) bool { return id != "" && SameLeaseID(id, l.ID) }
	if state == LeaseAvailable && req.Action != LeaseAcquire {
		return l, LeaseResult{}, errLease(CodeLeaseNotPresentWithLeaseOperation, "There is currently no lease on the resource.")
	}
	switch req.Action {
	case LeaseAcquire:
		switch {
		case state == LeaseLeased && !same(newID):
			return l, LeaseResult{}, errLeaseAlreadyPresent()
		case state == LeaseBreaking && same(newID):
			return l, LeaseResult{}, errLease(CodeLeaseIsBreakingAndCannotBeAcquired, "There is already a breaking lease on the resource, so a new lease cannot be acquired.")
		case state == LeaseBreaking:
			return l, LeaseResult{}, errLeaseAlreadyPresent()
		}
		n := fixedLease(newID, req.Duration, now)
		return n, LeaseResult{ID: n.ID}, nil
	case LeaseRenew:
		switch {
		case !same(req.ID):
			return l, LeaseResult{}, errLeaseMismatch()
		case state == LeaseBreaking || state == LeaseBroken:
			return l, LeaseResult{}, errLease(CodeLeaseIsBrokenAndCannotBeRenewed, "The lease ID matched, but the lease has been broken explicitly and cannot be renewed.")
		}
		n := fixedLease(l.ID, l.Duration, now)
		return n, LeaseResult{ID: n.ID}, nil
	case LeaseChange:
		if !same(req.ID) && !same(req.ProposedID) {
			return l, LeaseResult{}, errLeaseMismatch()
		}
		switch state {
		case LeaseBreaking:
			return l, LeaseResult{}, errLease(CodeLeaseIsBreakingAndCannotBeChanged, "The lease ID matched, but the lease is currently in breaking state and cannot be changed.")
		case LeaseExpired, LeaseBroken:
			return l, LeaseResult{}, errLease(CodeLeaseNotPresentWithLeaseOperation, "There is currently no lease on the resource.")
		}
		n := l
		n.ID = req.ProposedID
		return n, LeaseResult{ID: n.ID}, nil
	case LeaseRelease:
		if !same(req.ID) {
			return l, LeaseResult{}, errLeaseMismatch()
		}
		return Lease{}, LeaseResult{}, nil
	}
	// Break.
	until := now
	switch state {
	case LeaseLeased:
		switch {
		case req.BreakPeriod != nil:
			until = now.Add(time.Duration(*req.BreakPeriod) * time.Second)
			if !l.Infinite() && l.Until.Before(until) {
				until = l.Until
			}
		case !l.Infinite():
			until = l.Until
		}
	case LeaseBreaking:
		until = l.Until
		if p := req.BreakPeriod; p != nil {
			until = minTime(until, now.Add(time.Duration(*p)*time.Second))
		}
	}
	if !until.After(now) {
		return Lease{ID: l.ID, Phase: LeasePhaseBroken}, LeaseResult{}, nil
	}
	// Azure's x-ms-lease-time is approximate: rounded, so that a client polling until it
	// reads 0 does not find the lease broken while it still reads 1.
	secs := int((until.Sub(now) + time.Second/2) / time.Second)
	return Lease{ID: l.ID, Phase: LeasePhaseBreaking, Until: until}, LeaseResult{BreakSeconds: secs}, nil
}

func fixedLease(id string, duration int, now time.Time) Lease {
	n := Lease{ID: id, Phase: LeasePhaseLeased, Duration: duration}
	if duration != LeaseInfinite {
		n.Until = now.Add(time.Duration(duration) * time.Second)
	}
	return n
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Lease error codes.
const (
	CodeMissingRequiredHeader              = "MissingRequiredHeader"
	CodeLeaseIDMissing                     = "LeaseIdMissing"
	CodeLeaseLost                          = "LeaseLost"
	CodeLeaseAlreadyPresent                = "LeaseAlreadyPresent"
	CodeLeaseIDMismatchWithLeaseOperation  = "LeaseIdMismatchWithLeaseOperation"
	CodeLeaseNotPresentWithLeaseOperation  = "LeaseNotPresentWithLeaseOperation"
	CodeLeaseIsBrokenAndCannotBeRenewed    = "LeaseIsBrokenAndCannotBeRenewed"
	CodeLeaseIsBreakingAndCannotBeAcquired = "LeaseIsBreakingAndCannotBeAcquired"
	CodeLeaseIsBreakingAndCannotBeChanged  = "LeaseIsBreakingAndCannotBeChanged"
	CodeLeaseIDMismatchWithBlobOperation   = "LeaseIdMismatchWithBlobOperation"
	CodeLeaseNotPresentWithBlobOperation   = "LeaseNotPresentWithBlobOperation"
	CodeLeaseIDMismatchWithContainerOp     = "LeaseIdMismatchWithContainerOperation"
	CodeLeaseNotPresentWithContainerOp     = "LeaseNotPresentWithContainerOperation"
)

// errLease builds a lease refusal; the HTTP layer gives each code its status (409 for
// lease operations, 412 for other operations on a leased resource).
func errLease(code, msg string) error {
	return lanyard.Errorf(lanyard.KindConflict, "%s", msg).WithCode(code)
}

func errLeaseAlreadyPresent() error {
	return errLease(CodeLeaseAlreadyPresent, "There is already a lease present.")
}

func errLeaseMismatch() error {
	return errLease(CodeLeaseIDMismatchWithLeaseOperation, "The lease ID specified did not match the lease ID for the resource.")
}
