package audit

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// OpenSink returns the sink named by spec: "" for none, "stdout" (or "-") for standard
// output, anything else a file appended to.
func OpenSink(spec string) (io.WriteCloser, error) {
	switch spec {
	case "":
		return nil, nil
	case "stdout", "-":
		return nopCloser{os.Stdout}, nil
	}
	return &FileSink{Path: spec}, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// FileSink appends to a file, created with mode 0600. It opens the file on first use, again
// after a failure, and again when the path no longer names the file it has open (log
// rotation moved it away): a sink that cannot be written (a missing directory, a full
// disk) starts working once the cause is fixed, without a restart, and one whose path
// goes away fails rather than writing into a file nobody will read. A write that fails
// part-way is cut back off the file, so that it holds only whole lines.
type FileSink struct {
	Path string

	mu   sync.Mutex
	f    *os.File
	size int64
}

// Write appends p.
func (s *FileSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil && !s.current() {
		s.f.Close()
		s.f = nil
	}
	if s.f == nil {
		f, err := os.OpenFile(s.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return 0, fmt.Errorf("open %s: %w", s.Path, err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return 0, fmt.Errorf("open %s: %w", s.Path, err)
		}
		s.f, s.size = f, fi.Size()
	}
	n, err := s.f.Write(p)
	if err != nil {
		if n > 0 && s.f.Truncate(s.size) == nil {
			n = 0
		}
		s.f.Close()
		s.f = nil
		return n, fmt.Errorf("write %s: %w", s.Path, err)
	}
	s.size += int64(n)
	return n, nil
}

// current reports whether the path still names the open file.
func (s *FileSink) current() bool {
	open, err := s.f.Stat()
	if err != nil {
		return false
	}
	now, err := os.Stat(s.Path)
	return err == nil && os.SameFile(open, now)
}

// Close closes the file.
func (s *FileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
