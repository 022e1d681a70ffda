package revocation

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
)

func TestRevocations(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2032, 1, 1, 12, 0, 0, 500_000_000, time.UTC)
	clock := func() time.Time { return now }
	set, err := Open(ctx, st, 24*time.Hour, clock)
	if err != nil {
		t.Fatal(err)
	}
	var told []lanyard.Revocation
	set.OnRevoke = func(r lanyard.Revocation) { told = append(told, r) }

	if err := set.Check("p", "u1", now.Add(-time.Hour)); err != nil {
		t.Fatalf("nothing revoked yet: %v", err)
	}
	if _, err := set.RevokeToken(ctx, "u1", "p", time.Time{}, "leaked", "admin"); err != nil {
		t.Fatal(err)
	}
	if err := set.Check("p", "u1", now.Add(-time.Hour)); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked token: %v, want ErrRevoked", err)
	}
	if err := set.Check("p", "u2", now.Add(-time.Hour)); err != nil {
		t.Fatalf("another token of the same principal: %v", err)
	}
	if _, err := set.RevokePrincipal(ctx, "PRINCIPAL-A", time.Time{}, "", "admin"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		iat  time.Time
		want error
	}{
		{now.Truncate(time.Second), ErrRevoked}, // issued in the same second, before the revocation
		{now.Add(-time.Minute), ErrRevoked},
		{now.Truncate(time.Second).Add(time.Second), nil},
	} {
		if err := set.Check("principal-a", "x", tc.iat); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("token issued at %v: %v, want %v", tc.iat, err, tc.want)
		}
	}
	if _, err := set.RevokePrincipal(ctx, "p", now.Add(time.Hour), "", "admin"); lanyard.KindOf(err) != lanyard.KindInvalid {
		t.Errorf("revocation in the future: %v, want Invalid", err)
	}
	if len(told) != 2 {
		t.Errorf("OnRevoke told %d times, want 2", len(told))
	}

	// A new Set (a restart, another node) loads the same state.
	again, err := Open(ctx, st, 24*time.Hour, clock)
	if err != nil {
		t.Fatal(err)
	}
	if again.Len() != 2 || !errors.Is(again.Check("p", "u1", now), ErrRevoked) || !errors.Is(again.Check("principal-a", "", now.Add(-time.Second)), ErrRevoked) {
		t.Fatalf("reloaded set does not hold the revocations")
	}

	// Entries go once every token they name has expired (plus skew).
	now = now.Add(24*time.Hour + skew + time.Second)
	n, err := set.Prune(ctx)
	if err != nil || n != 2 || set.Len() != 0 {
		t.Fatalf("Prune: %d, %v, len %d; want both gone", n, err, set.Len())
	}
}

func TestWaitIssuable(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	set, err := Open(ctx, st, 24*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.RevokePrincipal(ctx, "p", time.Time{}, "", "admin"); err != nil {
		t.Fatal(err)
	}
	if err := set.WaitIssuable(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	iat := time.Now().Truncate(time.Second)
	if err := set.Check("p", "", iat); err != nil {
		t.Fatalf("a token issued after WaitIssuable is refused: %v", err)
	}
}
