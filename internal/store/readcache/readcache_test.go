package readcache

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
	"github.com/lanyard-id/lanyard/internal/store/storetest"
)

func sqlite(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance: the decorated store keeps every promise of the contract.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return New(sqlite(t)) })
}

// down is a store whose identity reads fail as if the database were unreachable.
type down struct {
	store.Store
	failing bool
}

func (d *down) GetIdentity(ctx context.Context, p string) (lanyard.Identity, error) {
	if d.failing {
		return lanyard.Identity{}, lanyard.Errorf(lanyard.KindUnavailable, "down")
	}
	return d.Store.GetIdentity(ctx, p)
}

func TestServesFromMemoryAndForgetsOnChange(t *testing.T) {
	ctx := t.Context()
	under := &down{Store: sqlite(t)}
	c := New(under)
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := c.CreateGroup(ctx, lanyard.ResourceGroup{Name: "g", Location: "l", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	id := lanyard.Identity{PrincipalID: "p1", ClientID: "c1", Kind: lanyard.SystemAssigned, ResourceID: "/x", ResourceGroup: "g", Name: "n", Enabled: true, CreatedAt: now, UpdatedAt: now}
	if err := c.CreateIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetIdentity(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	// The database goes away: the cached identity is still served.
	under.failing = true
	if got, err := c.GetIdentity(ctx, "p1"); err != nil || !got.Enabled {
		t.Fatalf("cached read while down: %+v %v", got, err)
	}
	// A flush (another node changed identities) drops it: the outage shows again.
	c.Flush()
	if _, err := c.GetIdentity(ctx, "p1"); lanyard.KindOf(err) != lanyard.KindUnavailable {
		t.Fatalf("after Flush: %v", err)
	}
	under.failing = false
	// A change through the cache is seen by the next read.
	if _, err := c.GetIdentity(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateIdentity(ctx, "p1", func(old lanyard.Identity) (lanyard.Identity, error) { old.Enabled = false; return old, nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetIdentity(ctx, "p1"); got.Enabled {
		t.Fatal("a disabled identity is still served as enabled")
	}
	if err := c.InTx(ctx, func(tx store.Store) error { return tx.DeleteIdentity(ctx, "p1") }); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetIdentity(ctx, "p1"); !lanyard.IsNotFound(err) {
		t.Fatalf("an identity deleted in a transaction is still served: %v", err)
	}
	if !Invalidates("identities") || Invalidates("audit_segments") {
		t.Fatal("Invalidates")
	}
}
