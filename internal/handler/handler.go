// Package handler is the one shape every HTTP surface's handlers have: a Func that writes
// its success and returns its failure, and one Encoder per surface that renders failures
// in that surface's protocol (Storage XML, OAuth JSON, ARM JSON, managed-identity JSON).
// Writer is the one response writer that remembers what was sent.
package handler

import (
	"bytes"
	"net/http"
)

// Func serves a request. It writes the response when it succeeds; when it fails it
// returns the error, which the surface's Encoder answers.
type Func func(w http.ResponseWriter, r *http.Request) error

// Encoder writes err as the surface's error response. It is called only while nothing
// of the response has been sent.
type Encoder func(w http.ResponseWriter, r *http.Request, err error)

// Serve adapts fn, with enc for its errors, to an http.Handler.
func Serve(fn Func, enc Encoder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { Run(w, r, fn, enc) })
}

// Run calls fn and has enc answer the error it returns. An error that comes after the
// status line was sent can no longer be answered: the response is cut short instead
// (http.ErrAbortHandler), so that the client cannot mistake it for a complete one.
func Run(w http.ResponseWriter, r *http.Request, fn Func, enc Encoder) {
	sw := Wrap(w)
	if err := fn(sw, r); err != nil {
		if sw.Written() {
			panic(http.ErrAbortHandler)
		}
		enc(sw, r, err)
	}
}

// Writer passes a response through and remembers its status, and when asked the start
// of its body. It flushes and unwraps (for http.ResponseController), so Blob downloads
// still stream. It has no ReadFrom, on purpose: io.CopyBuffer then copies through the
// caller's buffer (Blob's pooled 256 KiB ones) rather than net/http's 32 KiB one, at one
// allocation less per download; sendfile is out of reach behind TLS anyway.
type Writer struct {
	http.ResponseWriter
	status  int
	capture *bytes.Buffer
	room    int
}

// Wrap returns w as a Writer: w itself when it is one already, so that the request log
// and the surface under it share one.
func Wrap(w http.ResponseWriter) *Writer {
	if sw, ok := w.(*Writer); ok {
		return sw
	}
	return &Writer{ResponseWriter: w}
}

// Status returns the status sent, or 0 while none has been.
func (w *Writer) Status() int { return w.status }

// Written reports whether the status line was sent, after which an error can no longer
// be answered with a status of its own.
func (w *Writer) Written() bool { return w.status != 0 }

// Capture keeps the first max bytes of the body written from now on, for Captured.
func (w *Writer) Capture(max int) {
	w.capture, w.room = new(bytes.Buffer), max
}

// Captured returns what Capture kept.
func (w *Writer) Captured() []byte {
	if w.capture == nil {
		return nil
	}
	return w.capture.Bytes()
}

func (w *Writer) WriteHeader(code int) {
	// 1xx answers are interim; the status is the final one.
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *Writer) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.capture != nil && w.room > 0 {
		n := min(len(p), w.room)
		w.capture.Write(p[:n])
		w.room -= n
	}
	return w.ResponseWriter.Write(p)
}

func (w *Writer) Flush() { _ = w.FlushError() }

// FlushError is what http.ResponseController calls to flush; it reports the error that
// Flush cannot.
func (w *Writer) FlushError() error {
	if w.status == 0 {
		w.status = http.StatusOK // a flush sends the header, with 200 if none was set
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
