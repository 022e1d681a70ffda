package blob

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

type failingWriter struct {
	w     io.Writer
	after int64
	n     int64
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n+int64(len(p)) > f.after {
		return 0, errors.New("disk full")
	}
	f.n += int64(len(p))
	return f.w.Write(p)
}

func TestCopyContent(t *testing.T) {
	data := make([]byte, 3*pipelineFrom+12345)
	_, _ = rand.Read(data)
	for _, size := range []int{100, pipelineFrom - 1, len(data)} {
		var got bytes.Buffer
		// HalfReader makes short reads, as a network connection does.
		for _, src := range []io.Reader{bytes.NewReader(data[:size]), iotest.HalfReader(bytes.NewReader(data[:size]))} {
			got.Reset()
			n, err := copyContent(&got, src, int64(size))
			if err != nil || n != int64(size) || !bytes.Equal(got.Bytes(), data[:size]) {
				t.Fatalf("size %d: n=%d err=%v equal=%v", size, n, err, bytes.Equal(got.Bytes(), data[:size]))
			}
		}
	}
	// A read error mid-way is returned.
	src := io.MultiReader(bytes.NewReader(data[:2*pipelineFrom]), iotest.ErrReader(io.ErrUnexpectedEOF))
	if _, err := copyContent(io.Discard, src, int64(len(data))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read error: %v", err)
	}
	// A write error stops the copy and is returned.
	fw := &failingWriter{w: io.Discard, after: pipelineFrom}
	if _, err := copyContent(fw, bytes.NewReader(data), int64(len(data))); err == nil || err.Error() != "disk full" {
		t.Fatalf("write error: %v", err)
	}
}
