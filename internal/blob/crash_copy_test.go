package blob_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/crashtest"
)

// TestCrashCopy is TestCrashRecovery for Copy Blob: a writer replaces a source blob and
// copies it over one of a few destinations, and is killed with SIGKILL. Afterwards each
// destination is the copy of its last acknowledged write or of one begun after it,
// whole: its copy id names that write and its bytes are that write's source bytes
// (none of its content files was lost to recovery or to the source's replacement).
func TestCrashCopy(t *testing.T) {
	crashtest.Worker("TestCrashCopy", crashCopyWriter)
	crashtest.Rounds(t, "TestCrashCopy", 4, 200*time.Millisecond, 800*time.Millisecond, func(dir string, _ []string) string {
		return fmt.Sprintf("%d ledger operations verified", verifyCopiesAfterCrash(t, dir))
	})
}

// copyPayload is the source content of write seq: a few KiB that name it.
func copyPayload(seq int) []byte {
	return bytes.Repeat([]byte(strconv.Itoa(seq)+","), 1+seq%700)
}

func verifyCopiesAfterCrash(t *testing.T, dir string) int {
	t.Helper()
	ctx := t.Context()
	s, err := openCrashService(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	intents, acked := readLedger(t, filepath.Join(dir, "ledger"))
	allowed := map[string]map[string]bool{} // destination -> copy ids it may hold ("" none)
	for _, it := range intents {
		if allowed[it.name] == nil {
			allowed[it.name] = map[string]bool{"": true}
		}
		if acked[it.seq] {
			allowed[it.name] = map[string]bool{}
		}
		allowed[it.name][strconv.Itoa(it.seq)] = true
	}
	for name, ok := range allowed {
		r, err := s.GetBlob(ctx, blob.BlobKey{Account: "acct", Container: "crash", Name: name}, blob.GetBlobOptions{})
		if blob.CodeOf(err) == blob.CodeBlobNotFound {
			if !ok[""] {
				t.Errorf("copy %s lost; allowed %v", name, ok)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatalf("reading copy %s: %v", name, err)
		}
		c := r.Properties.Copy
		if c == nil || !ok[c.ID] {
			t.Errorf("copy %s holds copy %+v, allowed %v", name, c, ok)
			continue
		}
		seq, _ := strconv.Atoi(c.ID)
		if !bytes.Equal(data, copyPayload(seq)) {
			t.Errorf("copy %s (copy id %s) holds %d bytes not its source's", name, c.ID, len(data))
		}
	}
	return len(intents)
}

// crashCopyWriter runs until killed.
func crashCopyWriter(dir string, seed uint64) error {
	ctx := context.Background()
	s, ledger, err := openCrashWriter(ctx, dir, "ledger")
	if err != nil {
		return err
	}
	seq := int(seed) * 1_000_000
	rng := rand.New(rand.NewPCG(seed, 44))
	src := blob.BlobKey{Account: "acct", Container: "crash", Name: "source"}
	fmt.Println("READY")
	for {
		seq++
		data := copyPayload(seq)
		if _, err := s.PutBlob(ctx, blob.PutBlobInput{Key: src, Body: bytes.NewReader(data), Size: int64(len(data))}); err != nil {
			return fmt.Errorf("put source: %w", err)
		}
		name := fmt.Sprintf("copy-%02d", rng.IntN(8))
		if _, err := fmt.Fprintf(ledger, "I %d copy %s -\n", seq, name); err != nil {
			return err
		}
		_, err := s.CopyBlob(ctx, blob.CopyBlobInput{Source: src, Dest: blob.BlobKey{Account: "acct", Container: "crash", Name: name},
			Copy: &blob.CopyInfo{ID: strconv.Itoa(seq), Source: "https://127.0.0.1/acct/crash/source"}})
		if err != nil {
			return fmt.Errorf("copy %s: %w", name, err)
		}
		if _, err := fmt.Fprintf(ledger, "A %d\n", seq); err != nil {
			return err
		}
	}
}
