package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

func testTransactions(t *testing.T, s store.Store) {
	ctx := t.Context()
	exists := func(name string) bool {
		t.Helper()
		_, err := s.GetGroup(ctx, name)
		if err != nil && !lanyard.IsNotFound(err) {
			t.Fatalf("GetGroup %s: %v", name, err)
		}
		return err == nil
	}
	boom := errors.New("boom")

	t.Run("CommitOnNil", func(t *testing.T) {
		id := newIdentity(lanyard.UserAssigned, "rg-tx-commit", "id")
		err := s.InTx(ctx, func(tx store.Store) error {
			if err := tx.CreateGroup(ctx, newGroup("rg-tx-commit")); err != nil {
				return err
			}
			if err := tx.CreateIdentity(ctx, id); err != nil {
				return err
			}
			// The transaction sees its own writes.
			if _, err := tx.GetGroup(ctx, "RG-TX-COMMIT"); err != nil {
				return err
			}
			_, err := tx.UpdateIdentity(ctx, id.PrincipalID, func(i lanyard.Identity) (lanyard.Identity, error) {
				i.Location = "in-tx"
				return i, nil
			})
			if err != nil {
				return err
			}
			return tx.PutSetting(ctx, "tx", []byte("committed"))
		})
		must(t, "InTx", err)
		if !exists("rg-tx-commit") {
			t.Error("group written in a committed transaction is missing")
		}
		if got, err := s.GetIdentity(ctx, id.PrincipalID); err != nil || got.Location != "in-tx" {
			t.Errorf("identity written in a committed transaction = %+v, %v", got, err)
		}
		if v, err := s.GetSetting(ctx, "tx"); err != nil || string(v) != "committed" {
			t.Errorf("setting written in a committed transaction = %q, %v", v, err)
		}
	})

	t.Run("RollbackOnError", func(t *testing.T) {
		must(t, "PutSetting", s.PutSetting(ctx, "rb", []byte("before")))
		key := newKey(time.Hour)
		err := s.InTx(ctx, func(tx store.Store) error {
			if err := tx.CreateGroup(ctx, newGroup("rg-tx-rollback")); err != nil {
				return err
			}
			if err := tx.CreateKey(ctx, key); err != nil {
				return err
			}
			if err := tx.PutSetting(ctx, "rb", []byte("after")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("InTx returned %v, want fn's error", err)
		}
		if exists("rg-tx-rollback") {
			t.Error("group written in a rolled-back transaction exists")
		}
		keys, err := s.ListKeys(ctx)
		must(t, "ListKeys", err)
		for _, k := range keys {
			if k.ID == key.ID {
				t.Error("key written in a rolled-back transaction exists")
			}
		}
		if v, err := s.GetSetting(ctx, "rb"); err != nil || string(v) != "before" {
			t.Errorf("setting after rollback = %q, %v; want %q", v, err, "before")
		}
	})

	t.Run("Nested", func(t *testing.T) {
		// Inner work commits with the outer transaction...
		err := s.InTx(ctx, func(tx store.Store) error {
			if err := tx.CreateGroup(ctx, newGroup("rg-outer-1")); err != nil {
				return err
			}
			return tx.InTx(ctx, func(inner store.Store) error {
				// ...and sees the outer one's writes.
				if _, err := inner.GetGroup(ctx, "rg-outer-1"); err != nil {
					return err
				}
				return inner.CreateGroup(ctx, newGroup("rg-inner-1"))
			})
		})
		must(t, "nested InTx", err)
		if !exists("rg-outer-1") || !exists("rg-inner-1") {
			t.Error("nested transaction did not commit both writes")
		}

		// ...and rolls back with it, even when the inner call succeeded.
		err = s.InTx(ctx, func(tx store.Store) error {
			if err := tx.CreateGroup(ctx, newGroup("rg-outer-2")); err != nil {
				return err
			}
			if err := tx.InTx(ctx, func(inner store.Store) error {
				return inner.CreateGroup(ctx, newGroup("rg-inner-2"))
			}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("InTx returned %v, want fn's error", err)
		}
		if exists("rg-outer-2") || exists("rg-inner-2") {
			t.Error("writes of a rolled-back transaction with a nested InTx exist")
		}

		// An inner failure returned by the outer fn rolls everything back.
		err = s.InTx(ctx, func(tx store.Store) error {
			if err := tx.CreateGroup(ctx, newGroup("rg-outer-3")); err != nil {
				return err
			}
			return tx.InTx(ctx, func(inner store.Store) error {
				if err := inner.CreateGroup(ctx, newGroup("rg-inner-3")); err != nil {
					return err
				}
				return boom
			})
		})
		if !errors.Is(err, boom) {
			t.Errorf("InTx returned %v, want the inner fn's error", err)
		}
		if exists("rg-outer-3") || exists("rg-inner-3") {
			t.Error("writes survived an inner failure the outer fn returned")
		}
	})

	// A refused call inside a transaction leaves the transaction usable: the caller may
	// handle the conflict and go on.
	t.Run("UsableAfterFailedCall", func(t *testing.T) {
		must(t, "CreateGroup", s.CreateGroup(ctx, newGroup("rg-taken")))
		err := s.InTx(ctx, func(tx store.Store) error {
			if err := tx.CreateGroup(ctx, newGroup("rg-before")); err != nil {
				return err
			}
			if err := tx.CreateGroup(ctx, newGroup("RG-TAKEN")); !lanyard.IsConflict(err) {
				return errors.Join(errors.New("duplicate CreateGroup in a transaction did not conflict"), err)
			}
			if _, err := tx.GetGroup(ctx, "rg-missing"); !lanyard.IsNotFound(err) {
				return errors.Join(errors.New("GetGroup of a missing group in a transaction"), err)
			}
			return tx.CreateGroup(ctx, newGroup("rg-after"))
		})
		must(t, "InTx", err)
		if !exists("rg-before") || !exists("rg-after") {
			t.Error("writes around a refused call were lost")
		}
	})

	t.Run("PanicRollsBack", func(t *testing.T) {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("the panic did not propagate out of InTx")
				}
			}()
			_ = s.InTx(ctx, func(tx store.Store) error {
				if err := tx.CreateGroup(ctx, newGroup("rg-panic")); err != nil {
					return err
				}
				panic("boom")
			})
		}()
		if exists("rg-panic") {
			t.Error("the write of a panicking transaction exists")
		}
		// The store is still usable for writes (no lock or connection left behind).
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		must(t, "CreateGroup after a panic", s.CreateGroup(wctx, newGroup("rg-after-panic")))
	})
}
