package server

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/keys"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/mint"
	"github.com/lanyard-id/lanyard/internal/seal"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
	"github.com/lanyard-id/lanyard/internal/token"
)

type recordedEvents struct {
	got []audit.Event
	err error
}

func (r *recordedEvents) Record(_ context.Context, e audit.Event) error {
	r.got = append(r.got, e)
	return r.err
}

// TestFederationMinterRecords: a federated token goes through the minter's checks and is
// recorded before it is handed out; one that cannot be recorded is not.
func TestFederationMinterRecords(t *testing.T) {
	st, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sealer, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keys.New(t.Context(), st, sealer, keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordedEvents{}
	base := &mint.Minter{Issuer: &token.Issuer{Keys: ring}, TenantID: "tid", IssuerURL: "https://127.0.0.1:1/tid/"}
	fm := federationMinter{base.For("federation", rec, nil)}
	id := lanyard.Identity{PrincipalID: "00000000-0000-4000-8000-000000000001", ClientID: "00000000-0000-4000-8000-000000000002", Enabled: true}
	tok, err := fm.MintToken(t.Context(), id, "https://storage.azure.com/")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.got) != 1 || rec.got[0].TokenID != tok.UTI || rec.got[0].Kind != audit.KindTokenIssued {
		t.Fatalf("recorded %+v, want the federated token", rec.got)
	}
	rec.err = audit.ErrUnavailable
	if tok, err := fm.MintToken(t.Context(), id, "https://storage.azure.com/"); !errors.Is(err, audit.ErrUnavailable) || tok.Raw != "" {
		t.Fatalf("unrecorded token: %v %q, want refused", err, tok.Raw)
	}
}
