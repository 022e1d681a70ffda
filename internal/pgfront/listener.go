package pgfront

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// listener is one server's listening socket, bound (and re-bound after failures) by
// runListener until stop.
type listener struct {
	server atomic.Pointer[lanyard.PostgresServer] // replaced by Sync; read per connection
	addr   string
	done   chan struct{} // closed by stop

	mu      sync.Mutex
	ln      net.Listener
	stopped bool
}

func newListener(s lanyard.PostgresServer, addr string) *listener {
	l := &listener{addr: addr, done: make(chan struct{})}
	l.server.Store(&s)
	return l
}

func (l *listener) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	l.stopped = true
	close(l.done)
	if l.ln != nil {
		_ = l.ln.Close()
	}
}

func (l *listener) boundAddr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln == nil {
		return nil
	}
	return l.ln.Addr()
}

// setListener installs ln; false (and ln closed) when the listener was stopped meanwhile.
func (l *listener) setListener(ln net.Listener) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		_ = ln.Close()
		return false
	}
	l.ln = ln
	return true
}

// runListener binds l and accepts connections until l is stopped, retrying a bind that
// fails every RebindInterval.
func (f *Frontend) runListener(l *listener) {
	for {
		ln, cfg, err := f.bind(l)
		if err != nil {
			f.log.Warn("cannot serve a PostgreSQL server; retrying", "server", l.server.Load().ResourceID, "listen", l.addr, "err", err)
			select {
			case <-l.done:
				return
			case <-time.After(f.cfg.RebindInterval):
				continue
			}
		}
		if !l.setListener(ln) {
			return
		}
		f.log.Info("serving PostgreSQL", "server", l.server.Load().ResourceID, "listen", ln.Addr().String())
		f.accept(l, ln, cfg)
		_ = ln.Close()
		select {
		case <-l.done:
			return
		default: // the socket failed under us: bind again
		}
	}
}

// bind listens on l's address, with a TLS certificate for the listen host and localhost.
func (f *Frontend) bind(l *listener) (net.Listener, *tls.Config, error) {
	s := l.server.Load()
	names := []string{"localhost"}
	for _, a := range []string{s.Listen, l.addr} {
		if host, _, err := net.SplitHostPort(a); err == nil && host != "" {
			names = append(names, host)
		}
	}
	cert, err := f.cfg.Certificates.ServerCertificate(names, f.cfg.Now())
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		return nil, nil, err
	}
	return ln, tlsConfigFor(cert), nil
}

// tlsConfigFor is the listeners' TLS configuration: ALPN "postgresql" is offered to the
// clients that negotiate TLS after an SSLRequest and required of direct TLS clients.
func tlsConfigFor(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{alpnPostgres},
	}
}

func (f *Frontend) accept(l *listener, ln net.Listener, cfg *tls.Config) {
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			select {
			case <-l.done:
			default:
				f.log.Warn("accepting PostgreSQL connections failed", "listen", l.addr, "err", err)
				time.Sleep(100 * time.Millisecond)
			}
			return
		}
		if !f.track(c) {
			_ = c.Close()
			return
		}
		s := l.server.Load()
		n := f.open.Add(1)
		if n > 2*int64(f.cfg.MaxConnections) {
			// Far over the cap: not even a handshake to say so.
			f.open.Add(-1)
			f.untrack(c)
			_ = c.Close()
			continue
		}
		full := n > int64(f.cfg.MaxConnections)
		if full {
			f.log.Warn("too many PostgreSQL connections; refusing one", "server", s.ResourceID, "max", f.cfg.MaxConnections)
		}
		f.wg.Go(func() {
			defer f.open.Add(-1)
			f.serve(c, *s, cfg, full)
		})
	}
}
