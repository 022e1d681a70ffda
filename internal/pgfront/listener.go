package pgfront

import (
	"crypto/tls"
	"net"
)

// prepare issues the certificate of a server's listener: the listen host and localhost.
func (f *Frontend) prepare(serverID, addr string) (*tls.Config, error) {
	names := []string{"localhost"}
	f.mu.Lock()
	s := f.servers[serverID]
	f.mu.Unlock()
	for _, a := range []string{s.Listen, addr} {
		if host, _, err := net.SplitHostPort(a); err == nil && host != "" {
			names = append(names, host)
		}
	}
	cert, err := f.cfg.Certificates.ServerCertificate(names, f.cfg.Now())
	if err != nil {
		return nil, err
	}
	return tlsConfigFor(cert), nil
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

// accept takes one connection of a server's listener: beyond MaxConnections it is
// refused in the protocol, far beyond it closed at once.
func (f *Frontend) accept(serverID string, cfg *tls.Config, c net.Conn) {
	f.mu.Lock()
	s, ok := f.servers[serverID]
	f.mu.Unlock()
	if !ok || !f.track(c) {
		_ = c.Close()
		return
	}
	n := f.open.Add(1)
	if n > 2*int64(f.cfg.MaxConnections) {
		// Far over the cap: not even a handshake to say so.
		f.open.Add(-1)
		f.untrack(c)
		_ = c.Close()
		return
	}
	full := n > int64(f.cfg.MaxConnections)
	if full {
		f.log.Warn("too many PostgreSQL connections; refusing one", "server", s.ResourceID, "max", f.cfg.MaxConnections)
	}
	f.wg.Go(func() {
		defer f.open.Add(-1)
		f.serve(c, s, cfg, full)
	})
}
