package blob_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/crashtest"
)

// TestCrashTags is TestCrashRecovery for blob index tags: a writer sets tags (Set Blob
// Tags, and Put Blob with tags) and is killed with SIGKILL. Afterwards each blob's tags
// are those of its last acknowledged write or of a write begun after it, and the tag
// index agrees with the records: Find returns exactly the blobs whose tags match.
func TestCrashTags(t *testing.T) {
	crashtest.Worker("TestCrashTags", crashTagsWriter)
	crashtest.Rounds(t, "TestCrashTags", 4, 200*time.Millisecond, 800*time.Millisecond, func(dir string, _ []string) string {
		return fmt.Sprintf("%d ledger operations verified", verifyTagsAfterCrash(t, dir))
	})
}

func verifyTagsAfterCrash(t *testing.T, dir string) int {
	t.Helper()
	ctx := t.Context()
	s, err := openCrashService(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	intents, acked := readLedger(t, filepath.Join(dir, "ledger"))
	allowed := map[string]map[string]bool{} // blob -> seq tag values it may hold ("" none)
	for _, it := range intents {
		if allowed[it.name] == nil {
			allowed[it.name] = map[string]bool{"": true}
		}
		if acked[it.seq] {
			allowed[it.name] = map[string]bool{}
		}
		allowed[it.name][strconv.Itoa(it.seq)] = true
	}
	all, err := s.FindBlobsByTags(ctx, "acct", mustQuery(t, `seq >= '0'`), blob.FindBlobsOptions{})
	if err != nil && blob.CodeOf(err) != blob.CodeContainerNotFound {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, b := range all.Blobs {
		found[b.Name] = b.Tags["seq"]
	}
	for name, ok := range allowed {
		tags, err := s.GetBlobTags(ctx, blob.BlobKey{Account: "acct", Container: "crash", Name: name}, blob.Conditions{})
		if err != nil && blob.CodeOf(err) != blob.CodeBlobNotFound {
			t.Fatal(err)
		}
		if !ok[tags["seq"]] {
			t.Errorf("blob %s has seq tag %q, allowed %v", name, tags["seq"], ok)
		}
		if found[name] != tags["seq"] {
			t.Errorf("blob %s: the index finds seq %q, the record holds %q", name, found[name], tags["seq"])
		}
		if v := tags["seq"]; v != "" {
			one, err := s.FindBlobsByTags(ctx, "acct", mustQuery(t, "seq = '"+v+"'"), blob.FindBlobsOptions{})
			if err != nil || len(one.Blobs) != 1 || one.Blobs[0].Name != name {
				t.Errorf("Find seq = %s: %+v, %v", v, one.Blobs, err)
			}
		}
	}
	return len(intents)
}

func mustQuery(t *testing.T, where string) *blob.TagQuery {
	t.Helper()
	q, err := blob.ParseFindQuery(where, "")
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// crashTagsWriter runs until killed.
func crashTagsWriter(dir string, seed uint64) error {
	ctx := context.Background()
	s, ledger, err := openCrashWriter(ctx, dir, "ledger")
	if err != nil {
		return err
	}
	seq := int(seed) * 1_000_000
	rng := rand.New(rand.NewPCG(seed, 43))
	fmt.Println("READY")
	for {
		seq++
		name := fmt.Sprintf("tagged-%02d", rng.IntN(12))
		k := blob.BlobKey{Account: "acct", Container: "crash", Name: name}
		tags := blob.Tags{"seq": strconv.Itoa(seq), "parity": strconv.Itoa(seq % 2)}
		if _, err := fmt.Fprintf(ledger, "I %d tags %s -\n", seq, name); err != nil {
			return err
		}
		err := s.SetBlobTags(ctx, k, tags, blob.Conditions{})
		if blob.CodeOf(err) == blob.CodeBlobNotFound || rng.IntN(4) == 0 {
			_, err = s.PutBlob(ctx, blob.PutBlobInput{Key: k, Body: bytes.NewReader([]byte(name)), Size: int64(len(name)), Tags: tags})
		}
		if err != nil {
			return fmt.Errorf("tags %s: %w", name, err)
		}
		if _, err := fmt.Fprintf(ledger, "A %d\n", seq); err != nil {
			return err
		}
	}
}
