// Package httplimit bounds what one client can hold of a listener: a connection slot,
// and the time a request body or a response may stall. Without it a client that sends
// Content-Length and withholds the body, or stops reading a response, holds its
// connection (and the goroutine and memory behind it) for ever.
package httplimit

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Limits of one listener. A zero field is no limit.
type Limits struct {
	// MaxConns caps the connections served at once; further ones wait in the kernel's
	// backlog until one closes.
	MaxConns int
	// BodyStall is how long a request body may go without a byte arriving. It is a
	// progress deadline, not a rate: every read that returns bytes starts it anew.
	BodyStall time.Duration
	// BodyTimeout caps the time from the request's headers to the end of its body,
	// however steadily it trickles in.
	BodyTimeout time.Duration
	// WriteStall is how long one write to the connection may wait for the peer to
	// take bytes. Each write starts it anew, so a long download that keeps moving is
	// never cut.
	WriteStall time.Duration
}

// ErrBodyTimeout is wrapped, with os.ErrDeadlineExceeded, by a body read that failed
// because the body stalled or took longer than BodyTimeout.
var ErrBodyTimeout = errors.New("httplimit: the request body did not arrive in time")

// Listener caps ln's connections at l.MaxConns and applies l.WriteStall to each.
//
// The write deadline is set on the connection rather than through
// http.ResponseController: net/http never resets a write deadline between requests
// when Server.WriteTimeout is zero, so one set by a handler would linger into the next
// request on the connection (and into the final flush after the handler returns).
// Per write, the deadline is always fresh.
func (l Limits) Listener(ln net.Listener) net.Listener {
	if l.MaxConns <= 0 && l.WriteStall <= 0 {
		return ln
	}
	out := &listener{Listener: ln, stall: l.WriteStall, done: make(chan struct{})}
	if l.MaxConns > 0 {
		out.slots = make(chan struct{}, l.MaxConns)
	}
	return out
}

type listener struct {
	net.Listener
	slots     chan struct{} // nil: no cap
	stall     time.Duration
	done      chan struct{}
	closeOnce sync.Once
}

func (l *listener) Accept() (net.Conn, error) {
	if l.slots != nil {
		select {
		case l.slots <- struct{}{}:
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		l.release()
		return nil, err
	}
	return &conn{Conn: c, stall: l.stall, release: sync.OnceFunc(l.release)}, nil
}

func (l *listener) release() {
	if l.slots != nil {
		<-l.slots
	}
}

// Close unblocks an Accept waiting for a slot, so that Server.Shutdown returns.
func (l *listener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type conn struct {
	net.Conn
	stall   time.Duration
	release func()
}

func (c *conn) Write(p []byte) (int, error) {
	if c.stall > 0 {
		if err := c.Conn.SetWriteDeadline(time.Now().Add(c.stall)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(p)
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// Handler applies l.BodyStall and l.BodyTimeout to the bodies of the requests h
// serves. It must wrap h directly on the http.Server, where the ResponseWriter can set
// the connection's read deadline.
func (l Limits) Handler(h http.Handler) http.Handler {
	if l.BodyStall <= 0 && l.BodyTimeout <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A request without a body must get no read deadline: net/http is already
		// reading its connection in the background (to notice the client leaving), and
		// a deadline firing there cancels the request's context mid-response.
		if r.Body == nil || r.Body == http.NoBody {
			h.ServeHTTP(w, r)
			return
		}
		b := &body{ReadCloser: r.Body, rc: http.NewResponseController(w), stall: l.BodyStall}
		if l.BodyTimeout > 0 {
			b.end = time.Now().Add(l.BodyTimeout)
		}
		if err := b.extend(); err != nil {
			// The writer cannot set deadlines (not a net/http server's): serve unguarded.
			h.ServeHTTP(w, r)
			return
		}
		r.Body = b
		h.ServeHTTP(w, r)
	})
}

// body moves the connection's read deadline forward as bytes arrive.
type body struct {
	io.ReadCloser
	rc    *http.ResponseController
	stall time.Duration
	end   time.Time // zero: no overall cap
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	// Only while more is to come: at the body's end net/http clears the deadline and
	// starts its background read, which a deadline set again would cut.
	if n > 0 && err == nil {
		if derr := b.extend(); derr != nil {
			return n, fmt.Errorf("httplimit: extending the body's deadline: %w", derr)
		}
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("%w: %w", ErrBodyTimeout, err)
	}
	return n, err
}

func (b *body) extend() error {
	var d time.Time
	if b.stall > 0 {
		d = time.Now().Add(b.stall)
	}
	if !b.end.IsZero() && (d.IsZero() || b.end.Before(d)) {
		d = b.end
	}
	return b.rc.SetReadDeadline(d)
}
