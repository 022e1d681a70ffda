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
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/crashtest"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
)

// TestCrashAppendAndPages is TestCrashRecovery for append and page blobs: a writer runs
// concurrent appenders on one append blob and page writes (and clears) on one page
// blob, and is killed with SIGKILL. Afterwards every acknowledged block is in the append
// blob exactly once, the blob holds nothing but whole blocks, and every page holds its
// last acknowledged write or a write that was in flight.
func TestCrashAppendAndPages(t *testing.T) {
	crashtest.Worker("TestCrashAppendAndPages", crashAppendWriter)
	crashtest.Rounds(t, "TestCrashAppendAndPages", 4, 300*time.Millisecond, 1000*time.Millisecond, func(dir string, _ []string) string {
		blocks, pageWrites := verifyAppendAfterCrash(t, dir)
		return fmt.Sprintf("%d acknowledged blocks, %d acknowledged page writes verified", blocks, pageWrites)
	})
}

const (
	crashPages     = 64
	crashAppenders = 4
)

var crashBlock = regexp.MustCompile(`^\[(\d+)-(\d+)/([a-z]*)\]`)

// crashBlockData is an append block: its id and padding of a length that varies, so
// that blocks do not fall on regular offsets.
func crashBlockData(id string, rng *rand.Rand) []byte {
	return fmt.Appendf(nil, "[%s/%s]", id, strings.Repeat("x", rng.IntN(3000)))
}

// crashPageData fills n pages with the write's sequence number.
func crashPageData(seq, n int) []byte {
	return bytes.Repeat(fmt.Appendf(nil, "%0*d", blob.PageSize, seq), n)
}

func crashAppendWriter(dir string, seed uint64) error {
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
	logKey := blob.BlobKey{Account: "acct", Container: "crash", Name: "log"}
	diskKey := blob.BlobKey{Account: "acct", Container: "crash", Name: "disk"}
	if seed == 1 {
		if _, err := s.CreateAppendBlob(ctx, blob.CreateBlobInput{Key: logKey}); err != nil {
			return err
		}
		if _, err := s.CreatePageBlob(ctx, blob.CreateBlobInput{Key: diskKey, Size: crashPages * blob.PageSize}); err != nil {
			return err
		}
	}
	ledger, err := os.OpenFile(filepath.Join(dir, "ledger"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	logf := func(format string, args ...any) error {
		mu.Lock()
		defer mu.Unlock()
		_, err := fmt.Fprintf(ledger, format+"\n", args...)
		return err
	}
	fmt.Println("READY")
	errs := make(chan error, crashAppenders+1)
	for w := range crashAppenders {
		go func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := 0; ; i++ {
				id := fmt.Sprintf("%d-%d", seed*100+uint64(w), i)
				data := crashBlockData(id, rng)
				if _, err := s.AppendBlock(ctx, blob.AppendBlockInput{Key: logKey, Body: bytes.NewReader(data), Size: int64(len(data))}); err != nil {
					errs <- fmt.Errorf("append: %w", err)
					return
				}
				if err := logf("B %s", id); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	go func() {
		rng := rand.New(rand.NewPCG(seed, 99))
		for seq := int(seed) * 1_000_000; ; seq++ {
			page, n := rng.IntN(crashPages), 1+rng.IntN(8)
			n = min(n, crashPages-page)
			clear := rng.IntN(10) == 0
			in := blob.PutPagesInput{Key: diskKey, Start: int64(page) * blob.PageSize, End: int64(page+n)*blob.PageSize - 1, Clear: clear}
			if !clear {
				in.Body = bytes.NewReader(crashPageData(seq, n))
			}
			if err := logf("I %d %d %d %t", seq, page, n, clear); err != nil {
				errs <- err
				return
			}
			if _, err := s.PutPages(ctx, in); err != nil {
				errs <- fmt.Errorf("put pages: %w", err)
				return
			}
			if err := logf("A %d", seq); err != nil {
				errs <- err
				return
			}
		}
	}()
	return <-errs
}

func verifyAppendAfterCrash(t *testing.T, dir string) (blocks, pageWrites int) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "ledger"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ackedBlocks := map[string]bool{}
	// Per page: the last acknowledged value ("" for zeros), and values written after it
	// without an acknowledgement.
	type pageState struct {
		acked   string
		pending []string
	}
	state := make([]pageState, crashPages)
	type write struct {
		page, n int
		value   string
	}
	intents := map[int]write{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) == 2 && fields[0] == "B":
			ackedBlocks[fields[1]] = true
		case len(fields) == 5 && fields[0] == "I":
			seq, _ := strconv.Atoi(fields[1])
			page, _ := strconv.Atoi(fields[2])
			n, _ := strconv.Atoi(fields[3])
			w := write{page, n, fields[1]}
			if fields[4] == "true" {
				w.value = ""
			}
			intents[seq] = w
			for p := page; p < page+n; p++ {
				state[p].pending = append(state[p].pending, w.value)
			}
		case len(fields) == 2 && fields[0] == "A":
			seq, _ := strconv.Atoi(fields[1])
			w := intents[seq]
			for p := w.page; p < w.page+w.n; p++ {
				state[p] = pageState{acked: w.value}
			}
			pageWrites++
		}
	}
	s := openService(t, dir, nil)
	defer s.Close()

	data, r := readKey(t, s, blob.BlobKey{Account: "acct", Container: "crash", Name: "log"})
	seen := map[string]bool{}
	for len(data) > 0 {
		m := crashBlock.FindSubmatch(data)
		if m == nil {
			t.Fatalf("append blob holds a damaged block at %q", data[:min(len(data), 40)])
		}
		id := string(m[1]) + "-" + string(m[2])
		if seen[id] {
			t.Fatalf("block %s is in the append blob twice", id)
		}
		seen[id] = true
		data = data[len(m[0]):]
	}
	for id := range ackedBlocks {
		if !seen[id] {
			t.Fatalf("acknowledged block %s is missing", id)
		}
	}
	if r.Properties.CommittedBlockCount != len(seen) {
		t.Fatalf("committed block count %d, %d blocks found", r.Properties.CommittedBlockCount, len(seen))
	}

	pagesData, _ := readKey(t, s, blob.BlobKey{Account: "acct", Container: "crash", Name: "disk"})
	if len(pagesData) != crashPages*blob.PageSize {
		t.Fatalf("page blob of %d bytes", len(pagesData))
	}
	for p := range crashPages {
		pg := pagesData[p*blob.PageSize : (p+1)*blob.PageSize]
		got := ""
		if !bytes.Equal(pg, make([]byte, blob.PageSize)) {
			v, err := strconv.Atoi(string(pg))
			if err != nil {
				t.Fatalf("page %d is damaged: %q", p, pg[:32])
			}
			got = strconv.Itoa(v)
		}
		ok := got == state[p].acked
		for _, v := range state[p].pending {
			ok = ok || got == v
		}
		if !ok {
			t.Fatalf("page %d holds %q; acknowledged %q, in flight %q", p, got, state[p].acked, state[p].pending)
		}
	}
	return len(ackedBlocks), pageWrites
}

func readKey(t *testing.T, s *blob.Service, k blob.BlobKey) ([]byte, *blob.BlobReader) {
	t.Helper()
	r, err := s.GetBlob(t.Context(), k, blob.GetBlobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data, r
}
