package blobapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// Lease Blob and Lease Container: authorized as writes of what they lease, as in Azure.
var (
	opLeaseBlob      = &operation{"LeaseBlob", ActionBlobsWrite, true, (*Handler).leaseBlob}
	opLeaseContainer = &operation{"LeaseContainer", ActionContainersWrite, false, (*Handler).leaseContainer}
)

// leaseStatusByCode are the statuses of the lease codes: 409 for a lease operation the
// lease's state refuses, 412 for another operation refused because of a lease.
var leaseStatusByCode = map[string]int{
	blob.CodeLeaseAlreadyPresent:                http.StatusConflict,
	blob.CodeLeaseIDMismatchWithLeaseOperation:  http.StatusConflict,
	blob.CodeLeaseNotPresentWithLeaseOperation:  http.StatusConflict,
	blob.CodeLeaseIsBrokenAndCannotBeRenewed:    http.StatusConflict,
	blob.CodeLeaseIsBreakingAndCannotBeAcquired: http.StatusConflict,
	blob.CodeLeaseIsBreakingAndCannotBeChanged:  http.StatusConflict,
	blob.CodeLeaseIDMissing:                     http.StatusPreconditionFailed,
	blob.CodeLeaseLost:                          http.StatusPreconditionFailed,
	blob.CodeLeaseIDMismatchWithBlobOperation:   http.StatusPreconditionFailed,
	blob.CodeLeaseNotPresentWithBlobOperation:   http.StatusPreconditionFailed,
	blob.CodeLeaseIDMismatchWithContainerOp:     http.StatusPreconditionFailed,
	blob.CodeLeaseNotPresentWithContainerOp:     http.StatusPreconditionFailed,
	blob.CodeMissingRequiredHeader:              http.StatusBadRequest,
}

// leaseIDHeader reads a lease id header, refusing one that is not a GUID.
func leaseIDHeader(h http.Header, name string) (string, error) {
	v := h.Get(name)
	if v == "" {
		return "", nil
	}
	id, ok := blob.ParseLeaseID(v)
	if !ok {
		return "", errInvalidHeader(name, v)
	}
	return id, nil
}

// leaseRequest reads the x-ms-lease-* headers of a lease operation.
func leaseRequest(r *http.Request) (blob.LeaseRequest, error) {
	cond, err := conditions(r)
	if err != nil {
		return blob.LeaseRequest{}, err
	}
	req := blob.LeaseRequest{Conditions: cond, ID: cond.LeaseID}
	// The lease id is the operation's argument here, not a condition on it.
	req.Conditions.LeaseID = ""
	if req.ProposedID, err = leaseIDHeader(r.Header, "x-ms-proposed-lease-id"); err != nil {
		return req, err
	}
	action := r.Header.Get("x-ms-lease-action")
	switch req.Action = blob.LeaseAction(action); req.Action {
	case "":
		return req, errMissingHeader("x-ms-lease-action")
	case blob.LeaseAcquire:
		v := r.Header.Get("x-ms-lease-duration")
		if v == "" {
			return req, errMissingHeader("x-ms-lease-duration")
		}
		d, err := strconv.Atoi(v)
		if err != nil || (d != blob.LeaseInfinite && (d < blob.MinLeaseDuration || d > blob.MaxLeaseDuration)) {
			return req, errInvalidHeader("x-ms-lease-duration", v)
		}
		req.Duration = d
	case blob.LeaseRenew, blob.LeaseRelease:
		if req.ID == "" {
			return req, errMissingHeader("x-ms-lease-id")
		}
	case blob.LeaseChange:
		switch {
		case req.ID == "":
			return req, errMissingHeader("x-ms-lease-id")
		case req.ProposedID == "":
			return req, errMissingHeader("x-ms-proposed-lease-id")
		}
	case blob.LeaseBreak:
		if v := r.Header.Get("x-ms-lease-break-period"); v != "" {
			p, err := strconv.Atoi(v)
			if err != nil || p < 0 || p > blob.MaxLeaseBreakPeriod {
				return req, errInvalidHeader("x-ms-lease-break-period", v)
			}
			req.BreakPeriod = &p
		}
	default:
		return req, errInvalidHeader("x-ms-lease-action", action)
	}
	return req, nil
}

func (h *Handler) leaseBlob(w http.ResponseWriter, r *http.Request, t *target) error {
	req, err := leaseRequest(r)
	if err != nil {
		return err
	}
	res, err := h.Service.LeaseBlob(r.Context(), t.key(), req)
	if err != nil {
		return err
	}
	return leaseAnswer(w, req.Action, res)
}

func (h *Handler) leaseContainer(w http.ResponseWriter, r *http.Request, t *target) error {
	req, err := leaseRequest(r)
	if err != nil {
		return err
	}
	res, err := h.Service.LeaseContainer(r.Context(), t.account, t.container, req)
	if err != nil {
		return err
	}
	return leaseAnswer(w, req.Action, res)
}

// leaseAnswer writes a lease operation's answer: 201 for acquire, 202 for break, 200
// otherwise, with the lease id, or for break the seconds until the lease is broken.
func leaseAnswer(w http.ResponseWriter, action blob.LeaseAction, res blob.LeaseResult) error {
	hdr := w.Header()
	setWritten(hdr, res.ETag, res.LastModified)
	status := http.StatusOK
	switch action {
	case blob.LeaseAcquire:
		status = http.StatusCreated
	case blob.LeaseBreak:
		status = http.StatusAccepted
		hdr.Set("x-ms-lease-time", strconv.Itoa(res.BreakSeconds))
	}
	if res.ID != "" {
		hdr.Set("x-ms-lease-id", res.ID)
	}
	return noContent(w, status)
}

// leaseView is how a lease shows in properties and listings.
type leaseView struct {
	status, state, duration string // duration "" unless leased
}

func viewLease(l blob.Lease, now time.Time) leaseView {
	v := leaseView{status: "unlocked", state: string(l.State(now))}
	if l.Locked(now) {
		v.status = "locked"
	}
	if l.State(now) == blob.LeaseLeased {
		v.duration = "fixed"
		if l.Infinite() {
			v.duration = "infinite"
		}
	}
	return v
}

// setLeaseHeaders writes x-ms-lease-status, -state and -duration.
func setLeaseHeaders(h http.Header, l blob.Lease, now time.Time) {
	v := viewLease(l, now)
	h.Set("x-ms-lease-status", v.status)
	h.Set("x-ms-lease-state", v.state)
	if v.duration != "" {
		h.Set("x-ms-lease-duration", v.duration)
	}
}
