package blob_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
)

func setTier(t *testing.T, s *blob.Service, name, tier, prio string) (bool, error) {
	t.Helper()
	return s.SetBlobTier(t.Context(), blob.SetBlobTierInput{Key: key(name), Tier: tier, Priority: prio})
}

func props(t *testing.T, s *blob.Service, name string) blob.BlobProperties {
	t.Helper()
	p, err := s.GetBlobProperties(t.Context(), key(name), blob.Conditions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A tier change keeps ETag and Last-Modified; a never-set tier reads as inferred Hot.
func TestSetBlobTierOnline(t *testing.T) {
	s, clk := leaseService(t)
	put := putBlob(t, s, "b", []byte("one"))
	p := props(t, s, "b")
	if !p.Tier.Inferred() || p.Tier.Effective() != blob.TierHot || !p.Tier.ChangedAt.IsZero() {
		t.Fatalf("new blob tier %+v; want Hot inferred", p.Tier)
	}
	clk.advance(time.Minute)
	acc, err := setTier(t, s, "b", blob.TierCool, blob.RehydrateStandard)
	if err != nil || acc {
		t.Fatalf("Set Blob Tier Cool: accepted=%v err=%v; want 200", acc, err)
	}
	p = props(t, s, "b")
	if p.Tier.Tier != blob.TierCool || p.Tier.Inferred() || !p.Tier.ChangedAt.Equal(clk.now()) {
		t.Fatalf("tier %+v; want Cool set at %v", p.Tier, clk.now())
	}
	if p.ETag != put.ETag || !p.LastModified.Equal(put.LastModified) {
		t.Fatalf("Set Blob Tier changed ETag/Last-Modified: %s %v -> %s %v", put.ETag, put.LastModified, p.ETag, p.LastModified)
	}
	_, err = setTier(t, s, "missing", blob.TierCool, blob.RehydrateStandard)
	wantCode(t, err, blob.CodeBlobNotFound)
	_, err = setTier(t, s, "b", "Premium", blob.RehydrateStandard)
	wantCode(t, err, blob.CodeInvalidHeaderValue)
	// An upload with a tier sets it; one without resets it to inferred.
	if _, err := s.PutBlob(t.Context(), blob.PutBlobInput{Key: key("b"), Body: strings.NewReader("x"), Size: 1, Tier: blob.TierCold}); err != nil {
		t.Fatal(err)
	}
	if p := props(t, s, "b"); p.Tier.Tier != blob.TierCold {
		t.Fatalf("after Put Blob Cold the tier is %+v", p.Tier)
	}
	putBlob(t, s, "b", []byte("two"))
	if p := props(t, s, "b"); !p.Tier.Inferred() {
		t.Fatalf("after Put Blob without a tier the tier is %+v; want inferred", p.Tier)
	}
}

// An archived blob is offline until a rehydration, which completes by the clock.
func TestArchiveAndRehydrate(t *testing.T) {
	s, clk := leaseService(t)
	ctx := t.Context()
	putBlob(t, s, "b", []byte("data"))
	if acc, err := setTier(t, s, "b", blob.TierArchive, ""); err != nil || acc {
		t.Fatalf("archive: %v %v", acc, err)
	}
	_, err := s.GetBlob(ctx, key("b"), blob.GetBlobOptions{})
	wantCode(t, err, blob.CodeBlobArchived)
	_, err = s.SetBlobMetadata(ctx, key("b"), blob.Metadata{"a": "b"}, blob.Conditions{})
	wantCode(t, err, blob.CodeBlobArchived)
	_, err = s.SetBlobHTTPHeaders(ctx, key("b"), blob.HTTPHeaders{}, blob.Conditions{})
	wantCode(t, err, blob.CodeBlobArchived)
	// Archive again is a no-op.
	if acc, err := setTier(t, s, "b", blob.TierArchive, ""); err != nil || acc {
		t.Fatalf("archive twice: %v %v", acc, err)
	}
	archivedAt := props(t, s, "b").Tier.ChangedAt

	acc, err := setTier(t, s, "b", blob.TierCool, blob.RehydrateStandard)
	if err != nil || !acc {
		t.Fatalf("rehydrate: accepted=%v err=%v; want 202", acc, err)
	}
	p := props(t, s, "b")
	if p.Tier.Effective() != blob.TierArchive || p.Tier.ArchiveStatus() != "rehydrate-pending-to-cool" ||
		p.Tier.RehydratePriority != blob.RehydrateStandard || !p.Tier.ChangedAt.Equal(archivedAt) {
		t.Fatalf("pending rehydration reads %+v", p.Tier)
	}
	_, err = s.GetBlob(ctx, key("b"), blob.GetBlobOptions{})
	wantCode(t, err, blob.CodeBlobArchived)
	_, err = setTier(t, s, "b", blob.TierArchive, "")
	wantCode(t, err, blob.CodeBlobBeingRehydrated)
	_, err = setTier(t, s, "b", blob.TierHot, "")
	wantCode(t, err, blob.CodeBlobBeingRehydrated)
	// The same target again is accepted; it may raise the priority.
	if acc, err := setTier(t, s, "b", blob.TierCool, blob.RehydrateHigh); err != nil || !acc {
		t.Fatalf("raise priority: %v %v", acc, err)
	}
	if p := props(t, s, "b"); p.Tier.RehydratePriority != blob.RehydrateHigh {
		t.Fatalf("priority %q; want High", p.Tier.RehydratePriority)
	}

	clk.advance(blob.DefaultRehydrateDelay)
	p = props(t, s, "b")
	if p.Tier.Tier != blob.TierCool || p.Tier.ArchiveStatus() != "" || p.Tier.RehydratePriority != "" {
		t.Fatalf("after the delay the tier is %+v; want Cool", p.Tier)
	}
	r, err := s.GetBlob(ctx, key("b"), blob.GetBlobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r)
	r.Close()
	if string(body) != "data" {
		t.Fatalf("read %q after rehydration", body)
	}
	list, err := s.ListBlobs(ctx, acct, "ctr", blob.ListBlobsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Entries) != 1 || list.Entries[0].Blob.Tier.Tier != blob.TierCool {
		t.Fatalf("listed %+v; want b in Cool", list.Entries)
	}
	// Overwriting an archived blob is allowed and resets the tier.
	if _, err := setTier(t, s, "b", blob.TierArchive, ""); err != nil {
		t.Fatal(err)
	}
	putBlob(t, s, "b", []byte("new"))
	if p := props(t, s, "b"); !p.Tier.Inferred() {
		t.Fatalf("overwritten archived blob has tier %+v", p.Tier)
	}
}

// Only block blobs have a tier in a standard account.
func TestSetBlobTierRefusesOtherTypes(t *testing.T) {
	s, _ := leaseService(t)
	if _, err := s.CreateAppendBlob(t.Context(), blob.CreateBlobInput{Key: key("a")}); err != nil {
		t.Fatal(err)
	}
	_, err := setTier(t, s, "a", blob.TierCool, "")
	wantCode(t, err, blob.CodeInvalidBlobType)
}

func TestParseAccessTier(t *testing.T) {
	for in, want := range map[string]string{"hot": "Hot", "COOL": "Cool", "Cold": "Cold", "archive": "Archive", "P10": "", "": ""} {
		if got, ok := blob.ParseAccessTier(in); got != want || ok != (want != "") {
			t.Errorf("ParseAccessTier(%q) = %q, %v", in, got, ok)
		}
	}
}

// FuzzParseAccessTier: a tier or priority is accepted only as a case variant of a
// canonical name, which is what comes out.
func FuzzParseAccessTier(f *testing.F) {
	for _, s := range []string{"Hot", "cool", "ARCHIVE", "Cold", "P10", "", "High", "standard", "Höt"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, ok := blob.ParseAccessTier(s); ok != (got != "") || ok && !strings.EqualFold(got, s) ||
			ok && got != blob.TierHot && got != blob.TierCool && got != blob.TierCold && got != blob.TierArchive {
			t.Fatalf("ParseAccessTier(%q) = %q, %v", s, got, ok)
		}
		if got, ok := blob.ParseRehydratePriority(s); ok && (got != blob.RehydrateStandard && got != blob.RehydrateHigh ||
			s != "" && !strings.EqualFold(got, s)) || !ok && got != "" {
			t.Fatalf("ParseRehydratePriority(%q) = %q, %v", s, got, ok)
		}
	})
}
