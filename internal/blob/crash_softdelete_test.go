package blob_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/crashtest"
)

// TestCrashContainerSoftDelete is TestCrashRecovery for container soft delete and
// restore: a worker writes a blob into containers of a few names, soft-deletes them,
// restores deleted versions or creates the name afresh, and is killed with SIGKILL.
// Afterwards every name is as the acknowledged operations left it (its live container
// with the blob last written, and its deleted versions, each restoring to the blob it
// held), except that the one operation started and not acknowledged happened entirely
// or not at all.
func TestCrashContainerSoftDelete(t *testing.T) {
	crashtest.Worker("TestCrashContainerSoftDelete", crashSoftDeleteWriter)
	crashtest.Rounds(t, "TestCrashContainerSoftDelete", 4, 200*time.Millisecond, 800*time.Millisecond, func(dir string, lines []string) string {
		return verifySoftDeleteAfterCrash(t, dir, lines)
	})
}

const softDeleteRetention = 24 * time.Hour

func softDeletePayload(name string, seq int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("%s@%d;", name, seq)), 512)
}

// nameState is what one container name holds: a live container and its blob's write
// (live; seq 0: no blob yet), and deleted versions with theirs.
type nameState struct {
	live    bool
	seq     int
	deleted map[string]int
}

func (s nameState) clone() nameState {
	s.deleted = maps.Clone(s.deleted)
	return s
}

// crashSoftDeleteWriter runs until killed. Its lines (after READY), one per step:
// "W name seq" and "w name seq" around writing the blob (creating the container when
// there is none), "D name" and "d name version" around a soft delete, "R name version"
// and "r name version" around a restore. The names are the round's own.
func crashSoftDeleteWriter(dir string, seed uint64) error {
	ctx := context.Background()
	s, err := openCrashService(ctx, dir)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 53))
	states := map[string]*nameState{}
	fmt.Println("READY")
	for seq := 1; ; seq++ {
		name := fmt.Sprintf("r%d-%d", seed, rng.IntN(4))
		st := states[name]
		if st == nil {
			st = &nameState{deleted: map[string]int{}}
			states[name] = st
		}
		switch op := rng.IntN(3); {
		case st.live && op == 0, !st.live && (op == 0 || len(st.deleted) == 0):
			fmt.Printf("W %s %d\n", name, seq)
			if !st.live {
				if _, err := s.CreateContainer(ctx, "acct", name, nil); err != nil {
					return fmt.Errorf("create %s: %w", name, err)
				}
			}
			data := softDeletePayload(name, seq)
			k := blob.BlobKey{Account: "acct", Container: name, Name: "b"}
			if _, err := s.PutBlob(ctx, blob.PutBlobInput{Key: k, Body: bytes.NewReader(data), Size: int64(len(data))}); err != nil {
				return fmt.Errorf("put %s: %w", name, err)
			}
			st.live, st.seq = true, seq
			fmt.Printf("w %s %d\n", name, seq)
		case st.live:
			fmt.Printf("D %s\n", name)
			c, err := s.SoftDeleteContainer(ctx, "acct", name, blob.Conditions{}, softDeleteRetention)
			if err != nil {
				return fmt.Errorf("soft delete %s: %w", name, err)
			}
			st.live, st.deleted[c.Version] = false, st.seq
			fmt.Printf("d %s %s\n", name, c.Version)
		default:
			versions := slices.Sorted(maps.Keys(st.deleted))
			v := versions[rng.IntN(len(versions))]
			fmt.Printf("R %s %s\n", name, v)
			if _, err := s.RestoreContainer(ctx, "acct", name, v); err != nil {
				return fmt.Errorf("restore %s %s: %w", name, v, err)
			}
			st.live, st.seq = true, st.deleted[v]
			delete(st.deleted, v)
			fmt.Printf("r %s %s\n", name, v)
		}
	}
}

// verifySoftDeleteAfterCrash replays the worker's lines into the acknowledged state of
// each name and, for the operation in flight at the kill, the state it would have left;
// what the store holds must be one of the two.
func verifySoftDeleteAfterCrash(t *testing.T, dir string, lines []string) string {
	t.Helper()
	ctx := t.Context()
	acked := map[string]*nameState{}
	state := func(name string) *nameState {
		if acked[name] == nil {
			acked[name] = &nameState{deleted: map[string]int{}}
		}
		return acked[name]
	}
	var pending []string // the last started step, until its acknowledgement
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue // cut short by the kill
		}
		st := state(f[1])
		switch {
		case f[0] == "W" || f[0] == "D" || f[0] == "R":
			pending = f
		case f[0] == "w" && len(f) == 3:
			var seq int
			fmt.Sscan(f[2], &seq)
			st.live, st.seq, pending = true, seq, nil
		case f[0] == "d" && len(f) == 3:
			st.live, st.deleted[f[2]], pending = false, st.seq, nil
		case f[0] == "r" && len(f) == 3:
			st.live, st.seq, pending = true, st.deleted[f[2]], nil
			delete(st.deleted, f[2])
		}
	}
	// after is the state the pending step would have left; "?" stands for the version
	// a soft delete in flight would have made.
	var after nameState
	if pending != nil {
		before := state(pending[1]).clone()
		after = before.clone()
		switch pending[0] {
		case "W":
			fmt.Sscan(pending[2], &after.seq)
			after.live = true
		case "D":
			after.live, after.deleted["?"] = false, before.seq
		case "R":
			after.live, after.seq = true, before.deleted[pending[2]]
			delete(after.deleted, pending[2])
		}
	}

	s, err := openCrashService(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checked := 0
	for _, name := range slices.Sorted(maps.Keys(acked)) {
		got := readNameState(t, s, name)
		want := *acked[name]
		if pending != nil && pending[1] == name {
			if matchNameState(got, want) || matchNameState(got, after) {
				checked++
				continue
			}
			// A write in flight that created the container may have stopped before the blob.
			if pending[0] == "W" && !want.live && got.live && got.seq == 0 && matchNameState(nameState{deleted: got.deleted}, nameState{deleted: want.deleted}) {
				checked++
				continue
			}
			t.Errorf("%s: holds %+v; want %+v, or %+v had %q completed", name, got, want, after, strings.Join(pending, " "))
			continue
		}
		if !matchNameState(got, want) {
			t.Errorf("%s: holds %+v, want %+v", name, got, want)
		}
		checked++
	}
	return fmt.Sprintf("%d names verified, %d lines", checked, len(lines))
}

// matchNameState compares what a name holds with what it should; a "?" version in want
// matches any one version got has and want does not name.
func matchNameState(got, want nameState) bool {
	if got.live != want.live || (got.live && got.seq != want.seq) || len(got.deleted) != len(want.deleted) {
		return false
	}
	unknown, hasUnknown := want.deleted["?"]
	for v, seq := range got.deleted {
		if w, ok := want.deleted[v]; ok {
			if w != seq {
				return false
			}
			continue
		}
		if !hasUnknown || seq != unknown {
			return false
		}
		hasUnknown = false
	}
	return true
}

// readNameState reads what a name holds: the live container's blob, then each deleted
// version's, by restoring it (the live container deleted for good first: the names are
// the round's own, so the verification may change them).
func readNameState(t *testing.T, s *blob.Service, name string) nameState {
	t.Helper()
	ctx := t.Context()
	got := nameState{deleted: map[string]int{}}
	readSeq := func() int {
		r, err := s.GetBlob(ctx, blob.BlobKey{Account: "acct", Container: name, Name: "b"}, blob.GetBlobOptions{})
		if blob.CodeOf(err) == blob.CodeBlobNotFound {
			return 0
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer r.Close()
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var seq int
		head, _, _ := bytes.Cut(data, []byte(";"))
		if _, err := fmt.Sscanf(string(head), name+"@%d", &seq); err != nil || !bytes.Equal(data, softDeletePayload(name, seq)) {
			t.Fatalf("%s: the blob holds %d bytes that are no write of it", name, len(data))
		}
		return seq
	}
	if _, err := s.GetContainer(ctx, "acct", name); err == nil {
		got.live, got.seq = true, readSeq()
	} else if blob.CodeOf(err) != blob.CodeContainerNotFound {
		t.Fatal(err)
	}
	page, err := s.ListContainers(ctx, "acct", blob.ListContainersOptions{Prefix: name, Deleted: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range page.Containers {
		if c.Name != name || c.Version == "" {
			continue
		}
		if err := s.DeleteContainer(ctx, "acct", name, blob.Conditions{}); err != nil && blob.CodeOf(err) != blob.CodeContainerNotFound {
			t.Fatal(err)
		}
		if _, err := s.RestoreContainer(ctx, "acct", name, c.Version); err != nil {
			t.Fatalf("%s: restoring %s: %v", name, c.Version, err)
		}
		got.deleted[c.Version] = readSeq()
	}
	return got
}
