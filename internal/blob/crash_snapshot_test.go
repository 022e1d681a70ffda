package blob_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/crashtest"
)

// TestCrashSnapshots is TestCrashRecovery for snapshots: a writer overwrites blobs, takes
// snapshots of them and now and then deletes their snapshots, and is killed with
// SIGKILL. Afterwards (recovery having removed the content it found unreferenced) every
// acknowledged snapshot whose deletion was not started still reads the data the blob
// held when it was taken; one whose deletion was started but not acknowledged (the kill
// came in between) is either gone or reads that data.
func TestCrashSnapshots(t *testing.T) {
	crashtest.Worker("TestCrashSnapshots", crashSnapshotWriter)
	crashtest.Rounds(t, "TestCrashSnapshots", 4, 200*time.Millisecond, 800*time.Millisecond, func(dir string, _ []string) string {
		return fmt.Sprintf("%d snapshots verified", verifySnapshotsAfterCrash(t, dir))
	})
}

// snapshotPayload is what blob name holds at write seq: large enough for a content
// file of its own.
func snapshotPayload(name string, seq int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("%s@%d;", name, seq)), 512)
}

func verifySnapshotsAfterCrash(t *testing.T, dir string) int {
	t.Helper()
	ctx := t.Context()
	s, err := openCrashService(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := os.Open(filepath.Join(dir, "snapledger"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The ledger lists acknowledged operations, "S name id seq" and "D name", and the
	// deletions started, "P name".
	live := map[string]map[string]int{}
	maybeDeleted := map[string]map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) == 4 && fields[0] == "S":
			var seq int
			if _, err := fmt.Sscan(fields[3], &seq); err != nil {
				continue // a line the kill cut short
			}
			if live[fields[1]] == nil {
				live[fields[1]] = map[string]int{}
			}
			live[fields[1]][fields[2]] = seq
		case len(fields) == 2 && fields[0] == "P":
			maybeDeleted[fields[1]] = live[fields[1]]
			delete(live, fields[1])
		case len(fields) == 2 && fields[0] == "D":
			delete(maybeDeleted, fields[1])
		}
	}
	n := 0
	for name, snaps := range maybeDeleted {
		k := blob.BlobKey{Account: "acct", Container: "crash", Name: name}
		for id, seq := range snaps {
			r, err := s.GetBlob(ctx, k, blob.GetBlobOptions{Snapshot: id})
			if blob.CodeOf(err) == blob.CodeBlobNotFound {
				continue
			}
			if err != nil {
				t.Errorf("snapshot %s of %s, deleted or not: %v", id, name, err)
				continue
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, snapshotPayload(name, seq)) {
				t.Errorf("snapshot %s of %s, deleted or not: read %d bytes (%v), not write %d", id, name, len(got), err, seq)
			}
		}
	}
	for name, snaps := range live {
		k := blob.BlobKey{Account: "acct", Container: "crash", Name: name}
		for id, seq := range snaps {
			r, err := s.GetBlob(ctx, k, blob.GetBlobOptions{Snapshot: id})
			if err != nil {
				t.Errorf("snapshot %s of %s: %v", id, name, err)
				continue
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, snapshotPayload(name, seq)) {
				t.Errorf("snapshot %s of %s: read %d bytes (%v), not write %d", id, name, len(got), err, seq)
			}
			n++
		}
	}
	return n
}

// crashSnapshotWriter runs until killed.
func crashSnapshotWriter(dir string, seed uint64) error {
	ctx := context.Background()
	s, ledger, err := openCrashWriter(ctx, dir, "snapledger")
	if err != nil {
		return err
	}
	seq := int(seed) * 1_000_000
	rng := rand.New(rand.NewPCG(seed, 47))
	fmt.Println("READY")
	for {
		seq++
		name := fmt.Sprintf("snapped-%02d", rng.IntN(8))
		k := blob.BlobKey{Account: "acct", Container: "crash", Name: name}
		data := snapshotPayload(name, seq)
		if _, err := s.PutBlob(ctx, blob.PutBlobInput{Key: k, Body: bytes.NewReader(data), Size: int64(len(data))}); err != nil {
			return fmt.Errorf("put %s: %w", name, err)
		}
		if rng.IntN(10) == 0 {
			if _, err := fmt.Fprintf(ledger, "P %s\n", name); err != nil {
				return err
			}
			if err := s.DeleteBlobWith(ctx, k, blob.DeleteBlobOptions{Snapshots: blob.DeleteSnapshotsOnly}); err != nil {
				return fmt.Errorf("delete snapshots of %s: %w", name, err)
			}
			if _, err := fmt.Fprintf(ledger, "D %s\n", name); err != nil {
				return err
			}
			continue
		}
		id, _, err := s.SnapshotBlob(ctx, k, blob.SnapshotBlobOptions{})
		if blob.CodeOf(err) == blob.CodeSnapshotCountExceeded {
			continue
		}
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", name, err)
		}
		if _, err := fmt.Fprintf(ledger, "S %s %s %d\n", name, id, seq); err != nil {
			return err
		}
	}
}
