// Package listenset keeps one TCP listener per resource that a surface serves on its own
// port (a PostgreSQL server, a Service Bus namespace): it binds the address each resource
// asks for, rebinds after a failure, follows the set as resources come, go and move, and
// hands each accepted connection to the surface.
package listenset

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Config is a Set's behaviour. T is what Prepare makes for each bind (a TLS
// configuration with a certificate for the address, say) and Serve receives.
type Config[T any] struct {
	// What names the served resources in logs, e.g. "PostgreSQL server".
	What string
	// Prepare is called before each bind of key's address.
	Prepare func(key, addr string) (T, error)
	// Serve takes one accepted connection of key, and owns it. It is called on the
	// accepting goroutine: it must hand long work to a goroutine of its own.
	Serve func(key string, prepared T, c net.Conn)
	// RebindInterval is how often an address that could not be bound is tried again;
	// 2s when zero.
	RebindInterval time.Duration
	Logger         *slog.Logger
}

// Set is the listeners of a surface, by key.
type Set[T any] struct {
	cfg Config[T]
	log *slog.Logger

	mu        sync.Mutex
	closed    bool
	listeners map[string]*listener
	wg        sync.WaitGroup
}

// New returns a Set with no listener.
func New[T any](cfg Config[T]) *Set[T] {
	if cfg.RebindInterval <= 0 {
		cfg.RebindInterval = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Set[T]{cfg: cfg, log: cfg.Logger, listeners: map[string]*listener{}}
}

// Sync makes the listeners match want (key → host:port): it starts listeners for new
// keys, stops those of keys gone, and rebinds keys whose address changed. It returns the
// keys whose listeners it stopped (gone or moved), so the surface can end their
// connections if it wants to.
func (s *Set[T]) Sync(want map[string]string) (stopped []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	for key, l := range s.listeners {
		if addr, ok := want[key]; ok && addr == l.addr {
			continue
		}
		l.stop()
		delete(s.listeners, key)
		stopped = append(stopped, key)
	}
	for key, addr := range want {
		if _, ok := s.listeners[key]; ok {
			continue
		}
		l := &listener{key: key, addr: addr, done: make(chan struct{})}
		s.listeners[key] = l
		s.wg.Go(func() { s.run(l) })
	}
	return stopped
}

// Addr returns the address key's listener is bound to, or nil while it is not bound.
func (s *Set[T]) Addr(key string) net.Addr {
	s.mu.Lock()
	l := s.listeners[key]
	s.mu.Unlock()
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln == nil {
		return nil
	}
	return l.ln.Addr()
}

// Close stops every listener and waits for the accepting goroutines. Connections already
// handed to Serve are the surface's to end.
func (s *Set[T]) Close() {
	s.mu.Lock()
	s.closed = true
	for key, l := range s.listeners {
		l.stop()
		delete(s.listeners, key)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// listener is one key's socket, bound (and re-bound after failures) until stop.
type listener struct {
	key  string
	addr string
	done chan struct{} // closed by stop

	mu      sync.Mutex
	ln      net.Listener
	stopped bool
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

// install keeps ln; false (and ln closed) when the listener was stopped meanwhile.
func (l *listener) install(ln net.Listener) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		_ = ln.Close()
		return false
	}
	l.ln = ln
	return true
}

func (s *Set[T]) run(l *listener) {
	for {
		prepared, ln, err := s.bind(l)
		if err != nil {
			s.log.Warn("cannot listen for a "+s.cfg.What+"; retrying", "key", l.key, "listen", l.addr, "err", err)
			select {
			case <-l.done:
				return
			case <-time.After(s.cfg.RebindInterval):
				continue
			}
		}
		if !l.install(ln) {
			return
		}
		s.log.Info("listening for a "+s.cfg.What, "key", l.key, "listen", ln.Addr().String())
		s.accept(l, ln, prepared)
		_ = ln.Close()
		select {
		case <-l.done:
			return
		default: // the socket failed under us: bind again
		}
	}
}

func (s *Set[T]) bind(l *listener) (T, net.Listener, error) {
	var prepared T
	if s.cfg.Prepare != nil {
		var err error
		if prepared, err = s.cfg.Prepare(l.key, l.addr); err != nil {
			return prepared, nil, err
		}
	}
	ln, err := net.Listen("tcp", l.addr)
	return prepared, ln, err
}

func (s *Set[T]) accept(l *listener, ln net.Listener, prepared T) {
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
				s.log.Warn("accepting connections failed", "key", l.key, "listen", l.addr, "err", err)
				time.Sleep(100 * time.Millisecond)
			}
			return
		}
		s.cfg.Serve(l.key, prepared, c)
	}
}
