package blobapi

import (
	"errors"
	"net/http"
	"testing"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// FuzzLeaseRequest: the lease headers either parse into a request the domain accepts as
// valid, or are refused with an apiError (400 with Azure's codes); never anything else.
func FuzzLeaseRequest(f *testing.F) {
	id := "0f8fad5b-d9cb-469f-a165-70867728950e"
	for _, s := range [][4]string{
		{"acquire", "15", "", id}, {"acquire", "-1", "", ""}, {"acquire", "61", "", ""}, {"renew", "", id, ""},
		{"change", "", id, "{" + id + "}"}, {"release", "", "x", ""}, {"break", "", "", ""}, {"steal", "1", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], "30")
	}
	f.Fuzz(func(t *testing.T, action, duration, leaseID, proposed, period string) {
		r, _ := http.NewRequest(http.MethodPut, "https://127.0.0.1/a/c/b?comp=lease", nil)
		for k, v := range map[string]string{"x-ms-lease-action": action, "x-ms-lease-duration": duration,
			"x-ms-lease-id": leaseID, "x-ms-proposed-lease-id": proposed, "x-ms-lease-break-period": period} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		req, err := leaseRequest(r)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != http.StatusBadRequest {
				t.Fatalf("refused with %v", err)
			}
			return
		}
		if _, ok := blob.ParseLeaseID(req.ID); req.ID != "" && !ok {
			t.Fatalf("lease id %q passed", req.ID)
		}
		switch req.Action {
		case blob.LeaseAcquire:
			if req.Duration != blob.LeaseInfinite && (req.Duration < blob.MinLeaseDuration || req.Duration > blob.MaxLeaseDuration) {
				t.Fatalf("duration %d passed", req.Duration)
			}
		case blob.LeaseBreak:
			if p := req.BreakPeriod; p != nil && (*p < 0 || *p > blob.MaxLeaseBreakPeriod) {
				t.Fatalf("break period %d passed", *p)
			}
		case blob.LeaseRenew, blob.LeaseRelease, blob.LeaseChange:
			if req.ID == "" {
				t.Fatalf("%s without a lease id passed", req.Action)
			}
		default:
			t.Fatalf("action %q passed", req.Action)
		}
	})
}
