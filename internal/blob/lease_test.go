package blob_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// clock is a settable clock for lease expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func leaseService(t *testing.T) (*blob.Service, *clock) {
	clk := &clock{t: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)}
	s := openService(t, t.TempDir(), clk.now)
	t.Cleanup(func() { s.Close() })
	if _, err := s.CreateContainer(t.Context(), acct, "ctr", nil); err != nil {
		t.Fatal(err)
	}
	return s, clk
}

const (
	idA = "0f8fad5b-d9cb-469f-a165-70867728950e"
	idB = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
)

func intp(n int) *int { return &n }

// Each step is a lease operation at a time (seconds after the start) and what it must
// answer: an error code, or the state the lease is in afterwards.
type leaseStep struct {
	at        int
	req       blob.LeaseRequest
	code      string
	state     blob.LeaseState
	breakSecs int
}

func runLeaseSteps(t *testing.T, steps []leaseStep) {
	t.Helper()
	s, clk := leaseService(t)
	putBlob(t, s, "b", []byte("data"))
	start := clk.now()
	for i, st := range steps {
		clk.t = start.Add(time.Duration(st.at) * time.Second)
		res, err := s.LeaseBlob(t.Context(), key("b"), st.req)
		if got := blob.CodeOf(err); got != st.code {
			t.Fatalf("step %d (%s at %ds): code %q (%v), want %q", i, st.req.Action, st.at, got, err, st.code)
		}
		p, err := s.GetBlobProperties(t.Context(), key("b"), blob.Conditions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Lease.State(clk.now()); st.state != "" && got != st.state {
			t.Fatalf("step %d (%s at %ds): state %s, want %s", i, st.req.Action, st.at, got, st.state)
		}
		if st.req.Action == blob.LeaseBreak && st.code == "" && res.BreakSeconds != st.breakSecs {
			t.Fatalf("step %d: break answers %ds, want %d", i, res.BreakSeconds, st.breakSecs)
		}
	}
}

func acquire(id string, d int) blob.LeaseRequest {
	return blob.LeaseRequest{Action: blob.LeaseAcquire, ProposedID: id, Duration: d}
}

func op(a blob.LeaseAction, id string) blob.LeaseRequest { return blob.LeaseRequest{Action: a, ID: id} }

func brk(p *int) blob.LeaseRequest { return blob.LeaseRequest{Action: blob.LeaseBreak, BreakPeriod: p} }

// Azure's table of lease operations by lease state (Lease Blob, "Outcomes of lease
// operations on blobs by lease state").
func TestLeaseStateMachine(t *testing.T) {
	cases := map[string][]leaseStep{
		"available": {
			{req: op(blob.LeaseRenew, idA), code: blob.CodeLeaseNotPresentWithLeaseOperation, state: blob.LeaseAvailable},
			{req: op(blob.LeaseRelease, idA), code: blob.CodeLeaseNotPresentWithLeaseOperation},
			{req: brk(nil), code: blob.CodeLeaseNotPresentWithLeaseOperation},
			{req: blob.LeaseRequest{Action: blob.LeaseChange, ID: idA, ProposedID: idB}, code: blob.CodeLeaseNotPresentWithLeaseOperation},
			{req: acquire(idA, 15), state: blob.LeaseLeased},
		},
		"leased": {
			{req: acquire(idA, 15), state: blob.LeaseLeased},
			{req: acquire(idB, 15), code: blob.CodeLeaseAlreadyPresent},
			{req: acquire("", 15), code: blob.CodeLeaseAlreadyPresent},
			{at: 10, req: acquire(strings.ToUpper(idA), -1), state: blob.LeaseLeased}, // same id, new duration
			{at: 100, req: op(blob.LeaseRenew, idA), state: blob.LeaseLeased},         // infinite: never expired
			{at: 100, req: op(blob.LeaseRenew, idB), code: blob.CodeLeaseIDMismatchWithLeaseOperation},
			{at: 100, req: op(blob.LeaseRelease, idB), code: blob.CodeLeaseIDMismatchWithLeaseOperation},
			{at: 100, req: blob.LeaseRequest{Action: blob.LeaseChange, ID: idA, ProposedID: idB}, state: blob.LeaseLeased},
			{at: 100, req: blob.LeaseRequest{Action: blob.LeaseChange, ID: idA, ProposedID: idB}, state: blob.LeaseLeased}, // repeated: idempotent
			{at: 100, req: op(blob.LeaseRelease, idA), code: blob.CodeLeaseIDMismatchWithLeaseOperation},
			{at: 100, req: op(blob.LeaseRelease, idB), state: blob.LeaseAvailable},
		},
		"expired": {
			{req: acquire(idA, 15), state: blob.LeaseLeased},
			{at: 14, req: op(blob.LeaseRenew, idA), state: blob.LeaseLeased}, // now ends at 29
			{at: 29, req: op(blob.LeaseRenew, idB), code: blob.CodeLeaseIDMismatchWithLeaseOperation, state: blob.LeaseExpired},
			{at: 30, req: op(blob.LeaseRenew, idA), state: blob.LeaseLeased},
			{at: 50, req: acquire(idB, 20), state: blob.LeaseLeased}, // expired at 45: anyone may acquire
			{at: 80, req: blob.LeaseRequest{Action: blob.LeaseChange, ID: idB, ProposedID: idA}, code: blob.CodeLeaseNotPresentWithLeaseOperation},
			{at: 80, req: brk(intp(10)), state: blob.LeaseBroken, breakSecs: 0},
		},
		"breaking": {
			{req: acquire(idA, 60), state: blob.LeaseLeased},
			{at: 10, req: brk(intp(30)), state: blob.LeaseBreaking, breakSecs: 30},
			{at: 11, req: brk(intp(40)), state: blob.LeaseBreaking, breakSecs: 29}, // never longer
			{at: 12, req: brk(nil), state: blob.LeaseBreaking, breakSecs: 28},
			{at: 12, req: acquire(idA, 15), code: blob.CodeLeaseIsBreakingAndCannotBeAcquired},
			{at: 12, req: acquire(idB, 15), code: blob.CodeLeaseAlreadyPresent},
			{at: 12, req: op(blob.LeaseRenew, idA), code: blob.CodeLeaseIsBrokenAndCannotBeRenewed},
			{at: 12, req: blob.LeaseRequest{Action: blob.LeaseChange, ID: idA, ProposedID: idB}, code: blob.CodeLeaseIsBreakingAndCannotBeChanged},
			{at: 39, req: brk(intp(60)), state: blob.LeaseBreaking, breakSecs: 1},
			{at: 40, req: op(blob.LeaseRenew, idA), code: blob.CodeLeaseIsBrokenAndCannotBeRenewed, state: blob.LeaseBroken},
			{at: 40, req: acquire(idB, -1), state: blob.LeaseLeased},
		},
		"break fixed lease": {
			{req: acquire(idA, 20), state: blob.LeaseLeased},
			{at: 5, req: brk(nil), state: blob.LeaseBreaking, breakSecs: 15}, // runs out
			{at: 20, req: op(blob.LeaseRelease, idA), state: blob.LeaseAvailable},
		},
		"break infinite lease": {
			{req: acquire(idA, -1), state: blob.LeaseLeased},
			{at: 5, req: brk(nil), state: blob.LeaseBroken}, // at once
			{at: 5, req: brk(intp(30)), state: blob.LeaseBroken},
			{at: 5, req: op(blob.LeaseRelease, idA), state: blob.LeaseAvailable},
		},
		"break period zero": {
			{req: acquire(idA, 60), state: blob.LeaseLeased},
			{req: brk(intp(0)), state: blob.LeaseBroken},
		},
		"invalid values": {
			{req: acquire(idA, 14), code: blob.CodeInvalidHeaderValue},
			{req: acquire(idA, 61), code: blob.CodeInvalidHeaderValue},
			{req: acquire("not-a-guid", 15), code: blob.CodeInvalidHeaderValue},
			{req: op(blob.LeaseRenew, ""), code: blob.CodeMissingRequiredHeader},
			{req: blob.LeaseRequest{Action: blob.LeaseChange, ID: idA}, code: blob.CodeMissingRequiredHeader},
			{req: brk(intp(61)), code: blob.CodeInvalidHeaderValue},
			{req: brk(intp(-1)), code: blob.CodeInvalidHeaderValue},
			{req: blob.LeaseRequest{Action: "steal"}, code: blob.CodeInvalidHeaderValue, state: blob.LeaseAvailable},
		},
	}
	for name, steps := range cases {
		t.Run(name, func(t *testing.T) { runLeaseSteps(t, steps) })
	}
}

// A lease does not change the blob's ETag or Last-Modified time, and a write that
// replaces the blob keeps the lease.
func TestLeaseKeepsETagAndSurvivesOverwrite(t *testing.T) {
	s, _ := leaseService(t)
	ctx := t.Context()
	put := putBlob(t, s, "b", []byte("one"))
	res, err := s.LeaseBlob(ctx, key("b"), acquire("", blob.LeaseInfinite))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := blob.ParseLeaseID(res.ID); !ok || res.ETag != put.ETag || !res.LastModified.Equal(put.LastModified) {
		t.Fatalf("acquire answered %+v; want a GUID and the blob's ETag %s", res, put.ETag)
	}
	if _, err := s.PutBlob(ctx, blob.PutBlobInput{Key: key("b"), Body: strings.NewReader("two"), Size: 3,
		Conditions: blob.Conditions{LeaseID: res.ID}}); err != nil {
		t.Fatal(err)
	}
	p, err := s.GetBlobProperties(ctx, key("b"), blob.Conditions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Lease.ID != res.ID || p.Lease.State(s.Now()) != blob.LeaseLeased {
		t.Fatalf("after Put Blob the lease is %+v; want %s kept", p.Lease, res.ID)
	}
}

// Every write of a leased blob needs its lease id; the codes are Azure's.
func TestLeaseGuardsBlobWrites(t *testing.T) {
	s, clk := leaseService(t)
	ctx := t.Context()
	putBlob(t, s, "b", []byte("data"))
	writes := map[string]func(cond blob.Conditions) error{
		"put blob": func(c blob.Conditions) error {
			_, err := s.PutBlob(ctx, blob.PutBlobInput{Key: key("b"), Body: bytes.NewReader(nil), Conditions: c})
			return err
		},
		"put block list": func(c blob.Conditions) error {
			_, err := s.PutBlockList(ctx, blob.PutBlockListInput{Key: key("b"), Conditions: c})
			return err
		},
		"set metadata": func(c blob.Conditions) error {
			_, err := s.SetBlobMetadata(ctx, key("b"), blob.Metadata{"k": "v"}, c)
			return err
		},
		"set properties": func(c blob.Conditions) error {
			_, err := s.SetBlobHTTPHeaders(ctx, key("b"), blob.HTTPHeaders{ContentType: "text/plain"}, c)
			return err
		},
		"read": func(c blob.Conditions) error {
			if c.LeaseID == "" {
				return nil // reads need no lease id
			}
			_, err := s.GetBlobProperties(ctx, key("b"), c)
			return err
		},
	}
	check := func(when, id, want string) {
		t.Helper()
		for name, w := range writes {
			code := blob.CodeOf(w(blob.Conditions{LeaseID: id}))
			if name == "read" && id == "" {
				code = want // nothing to check
			}
			if code != want {
				t.Errorf("%s, %s with lease id %q: code %q, want %q", when, name, id, code, want)
			}
		}
	}
	check("no lease", idA, blob.CodeLeaseNotPresentWithBlobOperation)
	check("no lease", "", "")
	if _, err := s.LeaseBlob(ctx, key("b"), acquire(idA, 15)); err != nil {
		t.Fatal(err)
	}
	check("leased", "", blob.CodeLeaseIDMissing)
	check("leased", idB, blob.CodeLeaseIDMismatchWithBlobOperation)
	check("leased", strings.ToUpper(idA), "")
	clk.advance(16 * time.Second)
	check("expired", idA, blob.CodeLeaseLost)
	check("expired", "", "")
	// Delete last: it removes the blob, and its lease with it.
	if _, err := s.LeaseBlob(ctx, key("b"), acquire(idA, 15)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBlob(ctx, key("b"), blob.Conditions{}); blob.CodeOf(err) != blob.CodeLeaseIDMissing {
		t.Fatalf("delete without the lease id: %v", err)
	}
	if err := s.DeleteBlob(ctx, key("b"), blob.Conditions{LeaseID: idA}); err != nil {
		t.Fatal(err)
	}
	putBlob(t, s, "b", []byte("again"))
	if p, err := s.GetBlobProperties(ctx, key("b"), blob.Conditions{}); err != nil || !p.Lease.IsZero() {
		t.Fatalf("a blob created after a delete has lease %+v (%v)", p.Lease, err)
	}
}

// A leased container can only be deleted with its lease id; Set Container Metadata checks
// the id only when given.
func TestContainerLease(t *testing.T) {
	s, _ := leaseService(t)
	ctx := t.Context()
	if _, err := s.LeaseContainer(ctx, acct, "ctr", acquire(idA, blob.LeaseInfinite)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LeaseContainer(ctx, acct, "ctr", acquire(idB, 15)); blob.CodeOf(err) != blob.CodeLeaseAlreadyPresent {
		t.Fatalf("second acquire: %v", err)
	}
	if _, err := s.SetContainerMetadata(ctx, acct, "ctr", nil, blob.Conditions{}); err != nil {
		t.Fatalf("set metadata without a lease id: %v", err)
	}
	if _, err := s.SetContainerMetadata(ctx, acct, "ctr", nil, blob.Conditions{LeaseID: idB}); blob.CodeOf(err) != blob.CodeLeaseIDMismatchWithContainerOp {
		t.Fatalf("set metadata with another lease id: %v", err)
	}
	if err := s.DeleteContainer(ctx, acct, "ctr", blob.Conditions{}); blob.CodeOf(err) != blob.CodeLeaseIDMissing {
		t.Fatalf("delete without the lease id: %v", err)
	}
	c, err := s.GetContainer(ctx, acct, "ctr")
	if err != nil || c.Lease.State(s.Now()) != blob.LeaseLeased || !c.Lease.Infinite() {
		t.Fatalf("container lease %+v (%v)", c.Lease, err)
	}
	if err := s.DeleteContainer(ctx, acct, "ctr", blob.Conditions{LeaseID: idA}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LeaseContainer(ctx, acct, "ctr", acquire(idA, 15)); blob.CodeOf(err) != blob.CodeContainerNotFound {
		t.Fatalf("lease of a deleted container: %v", err)
	}
}

func TestParseLeaseID(t *testing.T) {
	for in, want := range map[string]string{
		idA:                                    idA,
		strings.ToUpper(idA):                   idA,
		strings.ReplaceAll(idA, "-", ""):       idA,
		"{" + idA + "}":                        idA,
		"(" + strings.ToUpper(idA) + ")":       idA,
		"":                                     "",
		"0f8fad5b-d9cb-469f-a165-70867728950":  "",
		"0f8fad5bd-9cb-469f-a165-70867728950e": "",
		"{" + idA + ")":                        "",
		"0f8fad5b-d9cb-469f-a165-70867728950g": "",
	} {
		got, ok := blob.ParseLeaseID(in)
		if got != want || ok != (want != "") {
			t.Errorf("ParseLeaseID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// FuzzParseLeaseID: whatever parses has one canonical form, which parses to itself, and
// compares equal to what it came from.
func FuzzParseLeaseID(f *testing.F) {
	for _, s := range []string{idA, "{" + idB + "}", strings.ReplaceAll(idA, "-", ""), "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := blob.ParseLeaseID(s)
		if !ok {
			if blob.SameLeaseID(s, s) {
				t.Fatalf("%q does not parse but compares equal to itself", s)
			}
			return
		}
		again, ok := blob.ParseLeaseID(c)
		if !ok || again != c || len(c) != 36 || strings.ToLower(c) != c {
			t.Fatalf("%q parses to %q, which parses to %q, %v", s, c, again, ok)
		}
		if !blob.SameLeaseID(s, c) {
			t.Fatalf("%q and its canonical form %q differ", s, c)
		}
	})
}

// A break answers the time left rounded (Azure's x-ms-lease-time is approximate): a
// client that polls until it reads 0 never reads 1 from a lease about to be broken.
func TestLeaseBreakTimeRounded(t *testing.T) {
	s, clk := leaseService(t)
	putBlob(t, s, "b", []byte("data"))
	if _, err := s.LeaseBlob(t.Context(), key("b"), acquire(idA, 60)); err != nil {
		t.Fatal(err)
	}
	if res, err := s.LeaseBlob(t.Context(), key("b"), brk(intp(3))); err != nil || res.BreakSeconds != 3 {
		t.Fatalf("break: %+v %v", res, err)
	}
	for _, c := range []struct {
		after time.Duration
		want  int
	}{{1400 * time.Millisecond, 2}, {1200 * time.Millisecond, 0}} {
		clk.advance(c.after)
		res, err := s.LeaseBlob(t.Context(), key("b"), brk(nil))
		if err != nil || res.BreakSeconds != c.want {
			t.Fatalf("break again after %v more: %+v %v, want %ds", c.after, res, err, c.want)
		}
	}
}
