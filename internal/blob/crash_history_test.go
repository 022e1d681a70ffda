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

// crashPolicy is the account of TestCrashHistory: versions, and soft delete.
var crashPolicy = blob.Policy{Versioning: true, RetentionDays: 7}

// TestCrashHistory is TestCrashRecovery for versions, soft delete and Undelete Blob: a
// writer overwrites blobs (each write a version), deletes blobs (leaving their versions)
// and versions (soft-deleting them), undeletes blobs (restoring their versions), tags
// versions, and is killed with SIGKILL. Afterwards every acknowledged version whose deletion was not
// started, or was followed by an acknowledged undelete, reads its data; one whose
// deletion was started and not undone is either gone or reads its data; a blob whose
// last acknowledged operation was its deletion, with no write started after, is gone;
// a version read has the tags last acknowledged for it, or ones a later started tagging
// gave it.
func TestCrashHistory(t *testing.T) {
	crashtest.Worker("TestCrashHistory", crashHistoryWriter)
	crashtest.Rounds(t, "TestCrashHistory", 4, 200*time.Millisecond, 800*time.Millisecond, func(dir string, _ []string) string {
		return fmt.Sprintf("%d versions verified", verifyHistoryAfterCrash(t, dir))
	})
}

func verifyHistoryAfterCrash(t *testing.T, dir string) int {
	t.Helper()
	ctx := t.Context()
	s, err := openProtectedCrashService(ctx, dir, crashPolicy)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := os.Open(filepath.Join(dir, "historyledger"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The ledger: "w name" (a write started), "W name version seq" (acknowledged),
	// "D name" (Delete Blob acknowledged), "q name version" (a version's deletion
	// started), "U name" (Undelete Blob acknowledged).
	type version struct {
		name string
		seq  int
		sure bool            // no deletion started since it was last known to be there
		tags map[string]bool // the values its "n" tag may have: acknowledged, or started after
	}
	versions := map[string]*version{} // by name+"/"+id
	gone := map[string]bool{}         // the blob's last acknowledged operation is its deletion
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) == 2 && fields[0] == "w":
			delete(gone, fields[1])
		case len(fields) == 4 && fields[0] == "W":
			var seq int
			if _, err := fmt.Sscan(fields[3], &seq); err != nil {
				continue // a line the kill cut short
			}
			versions[fields[1]+"/"+fields[2]] = &version{name: fields[1], seq: seq, sure: true, tags: map[string]bool{"": true}}
		case len(fields) == 4 && fields[0] == "t":
			if v := versions[fields[1]+"/"+fields[2]]; v != nil {
				v.tags[fields[3]] = true
			}
		case len(fields) == 4 && fields[0] == "T":
			if v := versions[fields[1]+"/"+fields[2]]; v != nil {
				v.tags = map[string]bool{fields[3]: true}
			}
		case len(fields) == 2 && fields[0] == "D":
			gone[fields[1]] = true
		case len(fields) == 3 && fields[0] == "q":
			if v := versions[fields[1]+"/"+fields[2]]; v != nil {
				v.sure = false
			}
		case len(fields) == 2 && fields[0] == "U":
			for _, v := range versions {
				if v.name == fields[1] {
					v.sure = true
				}
			}
		}
	}
	n := 0
	for id, v := range versions {
		k := blob.BlobKey{Account: "acct", Container: "crash", Name: v.name}
		r, err := s.GetBlob(ctx, k, blob.GetBlobOptions{Version: strings.TrimPrefix(id, v.name+"/")})
		if !v.sure && blob.CodeOf(err) == blob.CodeBlobNotFound {
			continue
		}
		if err != nil {
			t.Errorf("version %s: %v", id, err)
			continue
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, snapshotPayload(v.name, v.seq)) {
			t.Errorf("version %s: read %d bytes (%v), not write %d", id, len(got), err, v.seq)
		}
		if tag := r.Properties.Tags["n"]; !v.tags[tag] {
			t.Errorf("version %s: tag %q, want one of %v", id, tag, v.tags)
		}
		n++
	}
	for name := range gone {
		if _, err := s.GetBlobProperties(ctx, blob.BlobKey{Account: "acct", Container: "crash", Name: name}, blob.Conditions{}); blob.CodeOf(err) != blob.CodeBlobNotFound {
			t.Errorf("blob %s, deleted: %v", name, err)
		}
	}
	return n
}

// crashHistoryWriter runs until killed.
func crashHistoryWriter(dir string, seed uint64) error {
	ctx := context.Background()
	s, ledger, err := openProtectedCrashWriter(ctx, dir, "historyledger", crashPolicy)
	if err != nil {
		return err
	}
	seq := int(seed) * 1_000_000
	rng := rand.New(rand.NewPCG(seed, 53))
	written := map[string][]string{} // this run's version ids, by blob
	log := func(format string, args ...any) error {
		_, err := fmt.Fprintf(ledger, format+"\n", args...)
		return err
	}
	fmt.Println("READY")
	for {
		seq++
		name := fmt.Sprintf("versioned-%02d", rng.IntN(6))
		k := blob.BlobKey{Account: "acct", Container: "crash", Name: name}
		switch op := rng.IntN(10); {
		case op < 6:
			if err := log("w %s", name); err != nil {
				return err
			}
			data := snapshotPayload(name, seq)
			res, err := s.PutBlob(ctx, blob.PutBlobInput{Key: k, Body: bytes.NewReader(data), Size: int64(len(data))})
			if blob.CodeOf(err) == blob.CodeTooManyStates {
				continue
			}
			if err != nil {
				return fmt.Errorf("put %s: %w", name, err)
			}
			written[name] = append(written[name], res.VersionID)
			if err := log("W %s %s %d", name, res.VersionID, seq); err != nil {
				return err
			}
		case op < 7:
			err := s.DeleteBlob(ctx, k, blob.Conditions{})
			if blob.CodeOf(err) == blob.CodeBlobNotFound {
				continue
			}
			if err != nil {
				return fmt.Errorf("delete %s: %w", name, err)
			}
			if err := log("D %s", name); err != nil {
				return err
			}
		case op < 9 && len(written[name]) > 1:
			// Any version but the newest, which may be the current one.
			ids := written[name][:len(written[name])-1]
			id := ids[rng.IntN(len(ids))]
			if err := log("q %s %s", name, id); err != nil {
				return err
			}
			if err := s.DeleteBlobWith(ctx, k, blob.DeleteBlobOptions{Version: id}); err != nil && blob.CodeOf(err) != blob.CodeBlobNotFound {
				return fmt.Errorf("delete version %s of %s: %w", id, name, err)
			}
		case op < 9:
			continue
		case op == 9 && rng.IntN(2) == 0 && len(written[name]) > 0:
			id := written[name][rng.IntN(len(written[name]))]
			tag := fmt.Sprint(seq)
			if err := log("t %s %s %s", name, id, tag); err != nil {
				return err
			}
			err := s.SetBlobTagsAt(ctx, k, blob.At{Version: id}, blob.Tags{"n": tag}, blob.Conditions{})
			if blob.CodeOf(err) == blob.CodeBlobNotFound {
				continue // deleted meanwhile
			}
			if err != nil {
				return fmt.Errorf("tag version %s of %s: %w", id, name, err)
			}
			if err := log("T %s %s %s", name, id, tag); err != nil {
				return err
			}
		case op == 9:
			err := s.UndeleteBlob(ctx, k)
			if blob.CodeOf(err) == blob.CodeBlobNotFound {
				continue
			}
			if err != nil {
				return fmt.Errorf("undelete %s: %w", name, err)
			}
			if err := log("U %s", name); err != nil {
				return err
			}
		}
	}
}
