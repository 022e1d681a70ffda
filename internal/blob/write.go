package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// written is a content file that has been made durable, with its digests.
type written struct {
	id    ContentID // "" for an empty body, which needs no file
	size  int64
	md5   []byte
	crc64 uint64
	// data holds the bytes instead of a content file, when they were only received
	// (receiveContent), to be written with those of other writes (see combine).
	data []byte
}

// smallWrite is the largest append or page write whose bytes are received into memory
// and written to disk together with those of the writes combined with it.
const smallWrite = 256 << 10

// receiveContent is writeContent into memory: it reads exactly size bytes of body and
// checks the digests, leaving the writing to the caller.
func (s *Service) receiveContent(ctx context.Context, body io.Reader, size int64, wantMD5, wantCRC64 []byte) (written, error) {
	buf := bytes.NewBuffer(make([]byte, 0, size))
	w, err := s.transfer(ctx, body, size, wantMD5, wantCRC64, buf)
	w.data = buf.Bytes()
	return w, err
}

// writeContent streams exactly size bytes of body into a new content file, checks the
// transactional digests the client sent, and commits the file. On any error nothing is
// left behind (except, after a crash, a file recovery removes).
func (s *Service) writeContent(ctx context.Context, body io.Reader, size int64, wantMD5, wantCRC64 []byte) (written, error) {
	return s.transfer(ctx, body, size, wantMD5, wantCRC64, nil)
}

// transfer copies body into a new content file, or into mem when it is not nil.
func (s *Service) transfer(ctx context.Context, body io.Reader, size int64, wantMD5, wantCRC64 []byte, mem io.Writer) (written, error) {
	w := written{size: size}
	h := md5.New() // always: Put Blob stores it, Put Block returns it
	sinks := []io.Writer{h}
	var c hash.Hash64
	if len(wantCRC64) > 0 {
		c = NewCRC64()
		sinks = append(sinks, c)
	}
	var cw ContentWriter
	if mem != nil {
		sinks = append(sinks, mem)
	} else if size > 0 {
		var err error
		if cw, err = s.content.Create(ctx); err != nil {
			return written{}, fmt.Errorf("blob: creating content: %w", err)
		}
		sinks = append(sinks, cw)
		w.id = cw.ID()
	}
	fail := func(err error) (written, error) {
		if cw != nil {
			if aerr := cw.Abort(); aerr != nil {
				s.log.Warn("blob: discarding content", "content", w.id, "err", aerr)
			}
		}
		return written{}, err
	}
	n, err := copyContent(io.MultiWriter(sinks...), io.LimitReader(body, size), size)
	if err == nil && n < size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fail(errInvalid(CodeIncompleteBody, "The request body is incomplete: %d of %d bytes received.", n, size))
		}
		var le *lanyard.Error
		if errors.As(err, &le) {
			return fail(err)
		}
		return fail(fmt.Errorf("blob: writing content: %w", err))
	}
	w.md5 = h.Sum(nil)
	if len(wantMD5) > 0 && !bytes.Equal(wantMD5, w.md5) {
		return fail(errInvalid(CodeMd5Mismatch, "The MD5 value specified in the request did not match with the MD5 value calculated by the server."))
	}
	if c != nil {
		w.crc64 = c.Sum64()
		if !bytes.Equal(wantCRC64, CRC64Bytes(w.crc64)) {
			return fail(errInvalid(CodeCrc64Mismatch, "The CRC64 value specified in the request did not match with the CRC64 value calculated by the server."))
		}
	}
	if cw != nil {
		if err := cw.Commit(ctx); err != nil {
			return fail(fmt.Errorf("blob: committing content: %w", err))
		}
	}
	return w, nil
}

// pipelineFrom is the body size from which copyContent overlaps receiving with hashing
// and writing; below it a goroutine and channels cost more than they save.
const pipelineFrom = 4 << 20

// copyContent copies src to dst. A large body is copied by two goroutines: one reads (for
// an HTTPS request that is where TLS decryption happens) while the other hashes and
// writes the chunk before, so the two cores work on one upload together.
func copyContent(dst io.Writer, src io.Reader, size int64) (int64, error) {
	if size < pipelineFrom {
		buf := copyBuffers.Get().(*[]byte)
		defer copyBuffers.Put(buf)
		return io.CopyBuffer(dst, src, *buf)
	}
	const depth = 4
	type chunk struct {
		buf *[]byte
		n   int
	}
	full := make(chan chunk, depth)
	free := make(chan *[]byte, depth)
	for range depth {
		free <- copyBuffers.Get().(*[]byte)
	}
	var (
		written int64
		werr    error
		stop    = make(chan struct{}) // closed when the writer fails
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		for c := range full {
			if werr == nil {
				var n int
				n, werr = dst.Write((*c.buf)[:c.n])
				written += int64(n)
				if werr == nil && n < c.n {
					werr = io.ErrShortWrite
				}
				if werr != nil {
					close(stop)
				}
			}
			free <- c.buf
		}
	}()
	var rerr error
read:
	for {
		var b *[]byte
		select {
		case b = <-free:
		case <-stop:
			break read
		}
		n, err := src.Read(*b)
		if n > 0 {
			full <- chunk{b, n}
		} else {
			free <- b
		}
		if err != nil {
			if err != io.EOF {
				rerr = err
			}
			break
		}
	}
	close(full)
	<-done
	for range depth {
		copyBuffers.Put(<-free)
	}
	if werr != nil {
		return written, werr
	}
	return written, rerr
}

// copyBuffers serve uploads: large writes cut syscalls, and pooling them spares
// allocating and zeroing one per request.
// refused reports whether a MetaStore error certainly changed nothing: a domain refusal
// (not found, conflict, invalid, ...), as opposed to a failure of the store itself.
func refused(err error) bool {
	if errors.Is(err, ErrUnchanged) {
		return true
	}
	switch lanyard.KindOf(err) {
	case lanyard.KindInternal, lanyard.KindUnavailable:
		return false
	}
	return true
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// discard removes a committed content file after a metadata commit that would have
// referenced it failed. When the failure leaves open whether the commit happened (a
// journal or database error), the file stays: deleting content a durable record might
// reference would corrupt a blob, while an unreferenced file only waits for recovery.
func (s *Service) discard(id ContentID, cause error) {
	if id == "" || !refused(cause) {
		return
	}
	if err := s.content.Remove(context.Background(), id); err != nil {
		s.log.Warn("blob: discarding content", "content", id, "err", err)
	}
}
