package blob_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/crashtest"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
)

// The crash test re-executes the test binary as a writer that uploads blobs in a loop
// against the engine, kills it with SIGKILL at a random moment, reopens the directory,
// and checks that recovery left no partial blob, no blob mixing two versions, no lost
// acknowledged write and no orphaned content. Several rounds reuse one directory.
//
// The writer keeps a ledger: before an operation it appends an intent line with the MD5
// of the content the operation writes, after it returns it appends an ack line. A
// SIGKILL keeps what the process wrote to files (it does not test power loss; fsync
// ordering is covered by design and by the journal tests).

func TestCrashRecovery(t *testing.T) {
	crashtest.Worker("TestCrashRecovery", crashWriter)
	crashtest.Rounds(t, "TestCrashRecovery", 6, 200*time.Millisecond, 1000*time.Millisecond, func(dir string, _ []string) string {
		return fmt.Sprintf("%d ledger operations verified", verifyAfterCrash(t, dir))
	})
}

// ledger entries.
type intent struct {
	seq  int
	op   string // put, delete, stage
	name string
	md5  string // of the content the op leaves; "" for delete and stage
}

func readLedger(t *testing.T, path string) (intents []intent, acked map[int]bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	acked = map[int]bool{}
	lines := strings.Split(string(data), "\n")
	for _, line := range lines[:len(lines)-1] { // the last piece has no newline: incomplete
		f := strings.Split(line, " ")
		seq, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "I":
			it := intent{seq: seq, op: f[2], name: f[3]}
			if f[4] != "-" {
				it.md5 = f[4]
			}
			intents = append(intents, it)
		case "A":
			acked[seq] = true
		}
	}
	return intents, acked
}

func verifyAfterCrash(t *testing.T, dir string) int {
	t.Helper()
	ctx := t.Context()
	meta, err := fsmeta.Open(filepath.Join(dir, "meta"), fsmeta.Options{CompactBytes: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	content, err := fscontent.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := blob.Open(ctx, blob.Config{Meta: meta, Content: content, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// No orphans: the files on disk are exactly the referenced ones.
	live := map[blob.ContentID]bool{}
	meta.Contents(ctx, func(id blob.ContentID) error { live[id] = true; return nil })
	onDisk := map[blob.ContentID]bool{}
	content.Walk(ctx, func(id blob.ContentID) error { onDisk[id] = true; return nil })
	for id := range onDisk {
		if !live[id] {
			t.Errorf("orphaned content %s after recovery", id)
		}
	}
	for id := range live {
		if !onDisk[id] {
			t.Errorf("referenced content %s is missing", id)
		}
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, "meta", "*.tmp")); len(tmps) > 0 {
		t.Errorf("temp files after recovery: %v", tmps)
	}

	intents, acked := readLedger(t, filepath.Join(dir, "ledger"))
	// What each blob may hold: the outcome of its last acknowledged content operation,
	// or of any operation begun after it.
	type outcome struct{ md5 string } // "" = absent
	allowed := map[string]map[outcome]bool{}
	for _, it := range intents {
		if it.op == "stage" {
			continue
		}
		if allowed[it.name] == nil {
			allowed[it.name] = map[outcome]bool{{""}: true}
		}
		if acked[it.seq] {
			allowed[it.name] = map[outcome]bool{}
		}
		allowed[it.name][outcome{it.md5}] = true
	}
	actual := map[string]string{}
	res, err := s.ListBlobs(ctx, "acct", "crash", blob.ListBlobsOptions{})
	if err != nil && blob.CodeOf(err) != blob.CodeContainerNotFound {
		t.Fatal(err)
	}
	for _, e := range res.Entries {
		r, err := s.GetBlob(ctx, blob.BlobKey{Account: "acct", Container: "crash", Name: e.Blob.Name}, blob.GetBlobOptions{})
		if err != nil {
			t.Fatalf("listed blob %s: %v", e.Blob.Name, err)
		}
		h := md5.New()
		n, err := io.Copy(h, r)
		r.Close()
		if err != nil || n != e.Blob.Size {
			t.Fatalf("reading %s: %d of %d bytes, %v", e.Blob.Name, n, e.Blob.Size, err)
		}
		sum := hex.EncodeToString(h.Sum(nil))
		actual[e.Blob.Name] = sum
		// Metadata and content come from the same commit.
		if seq := e.Blob.Metadata["seq"]; seq != "" {
			var match bool
			for _, it := range intents {
				if strconv.Itoa(it.seq) == seq && it.name == e.Blob.Name && it.md5 == sum {
					match = true
				}
			}
			if !match {
				t.Errorf("blob %s: metadata seq %s does not belong to its content %s", e.Blob.Name, seq, sum)
			}
		}
	}
	for name, ok := range allowed {
		if !ok[outcome{actual[name]}] {
			t.Errorf("blob %s holds %q, allowed %v", name, actual[name], ok)
		}
	}
	for name := range actual {
		if allowed[name] == nil {
			t.Errorf("blob %s exists but was never written", name)
		}
	}
	return len(intents)
}

// crashWriter runs until killed.
func crashWriter(dir string, seed uint64) error {
	ctx := context.Background()
	meta, err := fsmeta.Open(filepath.Join(dir, "meta"), fsmeta.Options{CompactBytes: 256 << 10})
	if err != nil {
		return err
	}
	content, err := fscontent.Open(filepath.Join(dir, "data"))
	if err != nil {
		return err
	}
	s, err := blob.Open(ctx, blob.Config{Meta: meta, Content: content, GCInterval: -1})
	if err != nil {
		return err
	}
	if _, err := s.CreateContainer(ctx, "acct", "crash", nil); err != nil && blob.CodeOf(err) != blob.CodeContainerAlreadyExists {
		return err
	}
	ledger, err := os.OpenFile(filepath.Join(dir, "ledger"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	seq := int(seed) * 1_000_000 // rounds never reuse sequence numbers
	rng := rand.New(rand.NewPCG(seed, 42))
	logf := func(format string, args ...any) error {
		_, err := fmt.Fprintf(ledger, format+"\n", args...)
		return err
	}
	fmt.Println("READY")
	for {
		seq++
		name := fmt.Sprintf("blob-%02d", rng.IntN(12))
		if rng.IntN(3) == 0 {
			name = "dir/" + name
		}
		k := blob.BlobKey{Account: "acct", Container: "crash", Name: name}
		md := blob.Metadata{"seq": strconv.Itoa(seq)}
		var size int
		switch p := rng.IntN(100); {
		case p < 10:
			size = 0
		case p < 70:
			size = rng.IntN(64 << 10)
		default:
			size = 512<<10 + rng.IntN(3<<20)
		}
		data := make([]byte, size)
		var cs [32]byte
		binary.LittleEndian.PutUint64(cs[:], uint64(seq))
		rand.NewChaCha8(cs).Read(data)
		sum := md5.Sum(data)
		sumHex := hex.EncodeToString(sum[:])

		switch op := rng.IntN(100); {
		case op < 45: // Put Blob
			if err := logf("I %d put %s %s", seq, name, sumHex); err != nil {
				return err
			}
			if _, err := s.PutBlob(ctx, blob.PutBlobInput{Key: k, Body: bytes.NewReader(data), Size: int64(size), Metadata: md, ContentMD5: sum[:]}); err != nil {
				return fmt.Errorf("put %s: %w", name, err)
			}
		case op < 80: // Put Block x n + Put Block List
			if err := logf("I %d put %s %s", seq, name, sumHex); err != nil {
				return err
			}
			var items []blob.BlockListItem
			parts := 1 + rng.IntN(5)
			for i := range parts {
				lo, hi := size*i/parts, size*(i+1)/parts
				id := blockIDFor(seq, i)
				if _, err := s.PutBlock(ctx, k, id, bytes.NewReader(data[lo:hi]), int64(hi-lo), nil, nil); err != nil {
					return fmt.Errorf("put block %s: %w", name, err)
				}
				items = append(items, blob.BlockListItem{ID: id, Kind: blob.BlockLatest})
			}
			if _, err := s.PutBlockList(ctx, blob.PutBlockListInput{Key: k, Blocks: items, Metadata: md}); err != nil {
				return fmt.Errorf("put block list %s: %w", name, err)
			}
		case op < 90: // Delete
			if err := logf("I %d delete %s -", seq, name); err != nil {
				return err
			}
			if err := s.DeleteBlob(ctx, k, blob.Conditions{}); err != nil && blob.CodeOf(err) != blob.CodeBlobNotFound {
				return fmt.Errorf("delete %s: %w", name, err)
			}
		default: // stage blocks and never commit them
			if err := logf("I %d stage %s -", seq, name); err != nil {
				return err
			}
			if _, err := s.PutBlock(ctx, k, blockIDFor(seq, 0), bytes.NewReader(data), int64(size), nil, nil); err != nil {
				return fmt.Errorf("stage %s: %w", name, err)
			}
		}
		if err := logf("A %d", seq); err != nil {
			return err
		}
	}
}

// blockIDFor returns ids of one length, so that blocks of different uploads mix.
func blockIDFor(seq, i int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%012d%04d", seq, i))
}
