package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

func testKeys(t *testing.T, s store.Store) {
	ctx := t.Context()

	keys, err := s.ListKeys(ctx)
	must(t, "ListKeys on an empty store", err)
	if len(keys) != 0 {
		t.Fatalf("ListKeys on an empty store = %d keys", len(keys))
	}

	oldest := newKey(0)
	oldest.RetiredAt, oldest.RemoveAfter = ptr(at(time.Hour)), ptr(at(25*time.Hour))
	newest := newKey(2 * time.Hour) // active
	middle := newKey(time.Hour)
	middle.RetiredAt = ptr(at(2 * time.Hour)) // retired, removal not yet scheduled
	// Created out of order, so that insertion order cannot pass for age.
	for _, k := range []lanyard.SigningKey{middle, oldest, newest} {
		must(t, "CreateKey", s.CreateKey(ctx, k))
	}
	wantKeys := func(what string, want ...lanyard.SigningKey) {
		t.Helper()
		got, err := s.ListKeys(ctx)
		must(t, "ListKeys", err)
		if len(got) != len(want) {
			t.Errorf("%s: ListKeys returned %d keys, want %d", what, len(got), len(want))
			return
		}
		for i := range want {
			same(t, what, got[i], want[i], normKey)
		}
	}
	wantKeys("ListKeys", newest, middle, oldest)

	dup := newKey(3 * time.Hour)
	dup.ID = middle.ID
	wantConflict(t, "CreateKey with a taken id", s.CreateKey(ctx, dup))
	wantKeys("ListKeys after a refused create", newest, middle, oldest)

	var seen lanyard.SigningKey
	retired, err := s.UpdateKey(ctx, newest.ID, func(k lanyard.SigningKey) (lanyard.SigningKey, error) {
		seen = k
		k.RetiredAt, k.RemoveAfter = ptr(at(3*time.Hour)), ptr(at(27*time.Hour))
		return k, nil
	})
	must(t, "UpdateKey", err)
	same(t, "the value UpdateKey passes its updater", seen, newest, normKey)
	newest.RetiredAt, newest.RemoveAfter = ptr(at(3*time.Hour)), ptr(at(27*time.Hour))
	same(t, "UpdateKey result", retired, newest, normKey)
	wantKeys("ListKeys after retiring", newest, middle, oldest)

	// Back to nil, both of them.
	_, err = s.UpdateKey(ctx, oldest.ID, func(k lanyard.SigningKey) (lanyard.SigningKey, error) {
		k.RetiredAt, k.RemoveAfter = nil, nil
		return k, nil
	})
	must(t, "UpdateKey clearing times", err)
	oldest.RetiredAt, oldest.RemoveAfter = nil, nil
	wantKeys("ListKeys after clearing", newest, middle, oldest)

	_, err = s.UpdateKey(ctx, guid(), func(k lanyard.SigningKey) (lanyard.SigningKey, error) { return k, nil })
	wantNotFound(t, "UpdateKey of a missing key", err)

	must(t, "DeleteKey", s.DeleteKey(ctx, middle.ID))
	wantNotFound(t, "DeleteKey twice", s.DeleteKey(ctx, middle.ID))
	wantKeys("ListKeys after delete", newest, oldest)

	// Keys never share bytes by accident: each round-trips its own.
	got, err := s.ListKeys(ctx)
	must(t, "ListKeys", err)
	if len(got) == 2 && reflect.DeepEqual(got[0].SealedKey, got[1].SealedKey) {
		t.Error("two keys came back with the same sealed key")
	}
}
