package blob_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/crashtest"
)

// TestCrashSmallPuts is TestCrashRecovery for the benchmark's workload: 16 writers at
// once, each Put Blob small (up to 4 KiB), so that the content file pool runs dry and is
// refilled while the process is killed, and files come from the pool and from the
// on-demand path alike. Every acknowledged Put must survive, and no file the pool made
// ahead must stay behind.
func TestCrashSmallPuts(t *testing.T) {
	crashtest.Worker("TestCrashSmallPuts", smallPutWriter)
	crashtest.Rounds(t, "TestCrashSmallPuts", 6, 200*time.Millisecond, 800*time.Millisecond, func(dir string, _ []string) string {
		return fmt.Sprintf("%d ledger operations verified", verifyAfterCrash(t, dir))
	})
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
				data := make([]byte, rng.IntN(4<<10))
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
