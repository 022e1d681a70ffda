package storetest

import (
	"bytes"
	"testing"

	"github.com/lanyard-id/lanyard/internal/store"
)

func testSettings(t *testing.T, s store.Store) {
	ctx := t.Context()

	_, err := s.GetSetting(ctx, "tenant")
	wantNotFound(t, "GetSetting before any put", err)

	// Bytes that a text column or a careless driver would mangle.
	v1 := []byte{0, 1, 2, 0xff, 0xfe, '\n', 0}
	must(t, "PutSetting", s.PutSetting(ctx, "tenant", v1))
	got, err := s.GetSetting(ctx, "tenant")
	must(t, "GetSetting", err)
	if !bytes.Equal(got, v1) {
		t.Errorf("GetSetting = %x, want %x", got, v1)
	}

	v2 := randomBytes(4096)
	must(t, "PutSetting over an existing value", s.PutSetting(ctx, "tenant", v2))
	if got, err = s.GetSetting(ctx, "tenant"); err != nil || !bytes.Equal(got, v2) {
		t.Errorf("GetSetting after replace = %x, %v; want %x", got, err, v2)
	}

	wantConflict(t, "CreateSetting of an existing name", s.CreateSetting(ctx, "tenant", []byte("other")))
	if got, err = s.GetSetting(ctx, "tenant"); err != nil || !bytes.Equal(got, v2) {
		t.Errorf("a refused CreateSetting changed the value: got %x, %v", got, err)
	}

	must(t, "CreateSetting", s.CreateSetting(ctx, "kek", []byte("sealed")))
	if got, err = s.GetSetting(ctx, "kek"); err != nil || string(got) != "sealed" {
		t.Errorf("GetSetting(kek) = %q, %v; want %q", got, err, "sealed")
	}
	// Settings are independent of each other.
	if got, err = s.GetSetting(ctx, "tenant"); err != nil || !bytes.Equal(got, v2) {
		t.Errorf("CreateSetting(kek) changed tenant: got %x, %v", got, err)
	}

	must(t, "PutSetting of an empty value", s.PutSetting(ctx, "empty", nil))
	if got, err = s.GetSetting(ctx, "empty"); err != nil || len(got) != 0 {
		t.Errorf("GetSetting(empty) = %x, %v; want an empty value", got, err)
	}
}
