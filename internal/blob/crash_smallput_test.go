package blob_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
	"github.com/lanyard-id/lanyard/internal/crashtest"
)

// TestCrashSmallPuts is TestCrashRecovery for the benchmark's workload: 16 writers at
// once, each Put Blob small (up to twice blob.InlineMax): half of them keep their bytes
// inline in the metadata journal's records, the others make content files, from the
// pool (which runs dry and is refilled while the process is killed) and from the
// on-demand path alike. Every acknowledged Put must survive, inline bytes included; no
// file the pool made ahead must stay behind, and an inline blob references no file.
func TestCrashSmallPuts(t *testing.T) {
	crashtest.Worker("TestCrashSmallPuts", smallPutWriter)
	crashtest.Rounds(t, "TestCrashSmallPuts", 6, 200*time.Millisecond, 800*time.Millisecond, func(dir string, _ []string) string {
		n := verifyAfterCrash(t, dir)
		inline, files := checkInlineAfterCrash(t, dir)
		return fmt.Sprintf("%d ledger operations verified; %d blobs inline, %d in files", n, inline, files)
	})
}

// checkInlineAfterCrash checks the records the crash left: a blob of up to
// blob.InlineMax bytes holds them inline and references no file, a larger one has one
// content file, and the files on disk are exactly those (verifyAfterCrash checked that
// recovery left no other). It returns how many blobs are of each kind.
func checkInlineAfterCrash(t *testing.T, dir string) (inline, files int) {
	t.Helper()
	ctx := t.Context()
	meta, err := fsmeta.Open(filepath.Join(dir, "meta"), fsmeta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	recs, err := meta.ListBlobs(ctx, "acct", "crash", "", "", 1<<20)
	if err != nil && blob.CodeOf(err) != blob.CodeContainerNotFound {
		t.Fatal(err)
	}
	for _, r := range recs {
		switch {
		case r.Size == 0:
		case r.Size <= blob.InlineMax:
			if len(r.Extents) != 1 || r.Extents[0].Content != "" || int64(len(r.Extents[0].Inline)) != r.Size {
				t.Errorf("blob %s of %d bytes is not inline: %+v", r.Name, r.Size, r.Extents)
			}
			inline++
		default:
			if len(r.Extents) != 1 || r.Extents[0].Content == "" || r.Extents[0].Inline != "" {
				t.Errorf("blob %s of %d bytes has no content file: %d extents", r.Name, r.Size, len(r.Extents))
			}
			files++
		}
	}
	content, err := fscontent.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer content.Close()
	onDisk := 0
	if err := content.Walk(ctx, func(blob.ContentID) error { onDisk++; return nil }); err != nil {
		t.Fatal(err)
	}
	if onDisk != files {
		t.Errorf("%d content files on disk for %d blobs over the inline size", onDisk, files)
	}
	return inline, files
}

// smallPutWriter runs 16 writers until killed; each writes blobs of its own, one Put at a
// time, and keeps the ledger as crashWriter does (one write per line, so that lines of
// different writers do not mix).
func smallPutWriter(dir string, seed uint64) error {
	ctx := context.Background()
	s, ledger, err := openCrashWriter(ctx, dir, "ledger")
	if err != nil {
		return err
	}
	var seq atomic.Int64
	seq.Store(int64(seed) * 1_000_000) // rounds never reuse sequence numbers
	logf := func(format string, args ...any) error {
		_, err := fmt.Fprintf(ledger, format+"\n", args...)
		return err
	}
	fmt.Println("READY")
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for {
				n := int(seq.Add(1))
				name := fmt.Sprintf("small-%02d-%d", w, rng.IntN(4))
				data := make([]byte, rng.IntN(2*blob.InlineMax))
				var cs [32]byte
				binary.LittleEndian.PutUint64(cs[:], uint64(n))
				rand.NewChaCha8(cs).Read(data)
				sum := md5.Sum(data)
				if err := logf("I %d put %s %s", n, name, hex.EncodeToString(sum[:])); err != nil {
					errs <- err
					return
				}
				k := blob.BlobKey{Account: "acct", Container: "crash", Name: name}
				md := blob.Metadata{"seq": strconv.Itoa(n)}
				if _, err := s.PutBlob(ctx, blob.PutBlobInput{Key: k, Body: bytes.NewReader(data), Size: int64(len(data)), Metadata: md, ContentMD5: sum[:]}); err != nil {
					errs <- fmt.Errorf("put %s: %w", name, err)
					return
				}
				if err := logf("A %d", n); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	return <-errs
}
