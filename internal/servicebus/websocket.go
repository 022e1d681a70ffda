package servicebus

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/lanyard-id/lanyard/internal/amqp"
)

// WebSocketPath is where the SDKs' AMQP over WebSockets connects (wss://{namespace}/...).
const WebSocketPath = "/$servicebus/websocket"

// webSocketProtocols are the subprotocols accepted: Service Bus's, and the one the Go
// SDK's example dialer asks for.
var webSocketProtocols = []string{"AMQPWSB10", "amqp"}

// handshakeTimeout bounds TLS and the first bytes of a connection.
const handshakeTimeout = 20 * time.Second

// serveTLS serves one connection of a namespace's listener: after TLS, AMQP when the
// client starts with AMQP's protocol header, else HTTP for AMQP over WebSockets.
func (c *connection) serveTLS(nc net.Conn, cfg *tls.Config) error {
	tc := tls.Server(nc, cfg)
	c.mu.Lock()
	c.raw = tc
	c.mu.Unlock()
	_ = tc.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := tc.HandshakeContext(c.ctx); err != nil {
		_ = tc.Close()
		return err
	}
	br := bufio.NewReader(tc)
	head, err := br.Peek(4)
	if err != nil {
		_ = tc.Close()
		return err
	}
	_ = tc.SetDeadline(time.Time{})
	conn := &peekedConn{Conn: tc, r: br}
	if bytes.Equal(head, []byte("AMQP")) {
		return c.serveAMQP(conn)
	}
	return c.serveWebSocket(conn)
}

func (c *connection) serveAMQP(nc net.Conn) error {
	return amqp.Serve(c.ctx, nc, &amqp.ServerConfig{ContainerID: "lanyard-" + c.ns.Name, Handler: c,
		ChannelMax: 4095, MaxMessageSize: maxMessageSize})
}

// serveWebSocket answers the one HTTP request a WebSocket client makes, upgrades it and
// runs AMQP over its binary messages.
func (c *connection) serveWebSocket(nc net.Conn) error {
	done := make(chan error, 1)
	srv := &http.Server{
		ReadHeaderTimeout: handshakeTimeout,
		IdleTimeout:       handshakeTimeout,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != WebSocketPath {
				http.Error(w, "Lanyard serves AMQP over WebSockets at "+WebSocketPath, http.StatusNotFound)
				return
			}
			ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: webSocketProtocols})
			if err != nil {
				return // Accept answered the client
			}
			ws.SetReadLimit(maxMessageSize + 64<<10)
			done <- c.serveAMQP(websocket.NetConn(c.ctx, ws, websocket.MessageBinary))
		}),
	}
	l := &oneConnListener{conn: nc, closed: make(chan struct{})}
	go func() {
		_ = srv.Serve(l)
	}()
	var err error
	select {
	case err = <-done:
	case <-l.closed: // the request was not an upgrade, or the client went
	case <-c.ctx.Done():
	}
	_ = srv.Close()
	return err
}

// peekedConn is a connection whose first bytes were read ahead into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// oneConnListener hands http.Server one connection, then waits until it closes.
type oneConnListener struct {
	mu     sync.Mutex
	conn   net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	c := l.conn
	l.conn = nil
	l.mu.Unlock()
	if c != nil {
		return &notifyingConn{Conn: c, l: l}, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return &net.TCPAddr{} }

// notifyingConn closes its listener when http.Server closes it (not when a handler
// hijacks it: the upgraded connection outlives the HTTP exchange).
type notifyingConn struct {
	net.Conn
	l *oneConnListener
}

func (n *notifyingConn) Close() error {
	err := n.Conn.Close()
	_ = n.l.Close()
	return err
}
