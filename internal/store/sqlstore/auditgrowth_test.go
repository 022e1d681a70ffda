package sqlstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/audit"
)

// TestAuditGrowth measures how much the store grows per audit event (the README states
// the figure). It writes typical events, a token issued then four blob decisions with it,
// through a recorder with the default batching, at two rates: busy (full batches) and
// quiet (ten events a batch). Run with LANYARD_MEASURE_AUDIT_GROWTH=1 and -v; PostgreSQL
// too when LANYARD_TEST_POSTGRES is set.
func TestAuditGrowth(t *testing.T) {
	if os.Getenv("LANYARD_MEASURE_AUDIT_GROWTH") == "" {
		t.Skip("a measurement: set LANYARD_MEASURE_AUDIT_GROWTH=1 to run it")
	}
	const n = 10000
	for _, rate := range []struct {
		name  string
		batch int
	}{{"busy", 2000}, {"quiet", 10}} {
		t.Run("SQLite/"+rate.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lanyard.db")
			s, err := OpenSQLite(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			size := func() int64 {
				if _, err := s.db.ExecContext(t.Context(), "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
					t.Fatal(err)
				}
				var total int64
				for _, f := range []string{path, path + "-wal"} {
					if fi, err := os.Stat(f); err == nil {
						total += fi.Size()
					}
				}
				return total
			}
			before := size()
			recordTypical(t, s, n, rate.batch)
			t.Logf("SQLite, %s: %.0f bytes per event", rate.name, float64(size()-before)/n)
		})
		t.Run("PostgreSQL/"+rate.name, func(t *testing.T) {
			s := openPostgres(t, postgresDSN(t))
			size := func() int64 {
				var total int64
				if _, err := s.db.ExecContext(t.Context(), "VACUUM (ANALYZE) audit_segments"); err != nil {
					t.Fatal(err)
				}
				if _, err := s.db.ExecContext(t.Context(), "VACUUM (ANALYZE) audit_keys"); err != nil {
					t.Fatal(err)
				}
				err := s.db.QueryRowContext(t.Context(), `SELECT pg_total_relation_size('audit_segments') + pg_total_relation_size('audit_keys')
					+ pg_total_relation_size('audit_head')`).Scan(&total)
				if err != nil {
					t.Fatal(err)
				}
				return total
			}
			before := size()
			recordTypical(t, s, n, rate.batch)
			t.Logf("PostgreSQL, %s: %.0f bytes per event", rate.name, float64(size()-before)/n)
		})
	}
}

// recordTypical records n events, flushing every batch events.
func recordTypical(t *testing.T, s *Store, n, batch int) {
	ctx := context.Background()
	var sink countingWriter
	r := audit.New(audit.Options{Store: s, Sink: &sink})
	defer r.Close()
	sub := "5f1c2a8e-7c4b-4e0a-9a57-0c8a2f3d9b11"
	scope := "/subscriptions/" + sub + "/resourceGroups/demo/providers/Microsoft.Storage/storageAccounts/acct1"
	var uti, principal, client string
	for i := range n {
		if i%5 == 0 {
			principal, client = fmt.Sprintf("7d3e0c6a-1b2f-4c5d-8e9f-%012d", i%40), fmt.Sprintf("1a2b3c4d-5e6f-4a1b-9c2d-%012d", i%40)
			uti = fmt.Sprintf("Qm9uZ2lvcm5vLXRva2VuLWlk%08d", i)
			now := time.Now().UTC()
			_ = r.Record(ctx, audit.Issued(audit.TokenIssued{Protocol: "imds", PrincipalID: principal, ClientID: client,
				IdentityResourceID: "/subscriptions/" + sub + "/resourceGroups/demo/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1",
				Resource:           "https://storage.azure.com/", TokenID: uti, IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour), CallerAddress: "127.0.0.1"}))
		} else {
			_ = r.Record(ctx, audit.Decided(audit.Decision{Service: "blob", Operation: "PutBlob", PrincipalID: principal, ClientID: client,
				TokenID: uti, Action: "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", DataAction: true,
				Scope: scope + fmt.Sprintf("/blobServices/default/containers/c1/blobs/file-%d.txt", i), Allowed: true,
				AssignmentID:    scope + "/providers/Microsoft.Authorization/roleAssignments/0b6f8a36-2c8d-4f55-9a1e-3e2b1f5c7d90",
				AssignmentScope: scope, RoleDefinitionID: "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe",
				RoleName: "Storage Blob Data Contributor", Explanation: "allowed by Storage Blob Data Contributor at acct1", CallerAddress: "127.0.0.1"}))
		}
		if (i+1)%batch == 0 {
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Written != uint64(n) {
		t.Fatalf("stats %+v, want %d written", st, n)
	}
	t.Logf("the audit file: %.0f bytes per event", float64(sink)/float64(n))
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
