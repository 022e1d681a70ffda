package pgfront

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// upstreamConfig parses a server's upstream connection string.
func upstreamConfig(s lanyard.PostgresServer) (*pgconn.Config, error) {
	cfg, err := pgconn.ParseConfig(s.Upstream)
	if err != nil {
		return nil, fmt.Errorf("pgfront: the upstream connection string of %s: %w", s.ResourceID, err)
	}
	return cfg, nil
}

// withClientCertificate makes every attempt of cfg present cert, and drops the
// unencrypted ones (a certificate login needs TLS).
func withClientCertificate(cfg *pgconn.Config, cert tls.Certificate) error {
	if cfg.TLSConfig == nil {
		return errors.New("pgfront: certificate logins need TLS: set sslmode=require (or verify-ca, verify-full) in the upstream connection string")
	}
	cfg.TLSConfig = cfg.TLSConfig.Clone()
	cfg.TLSConfig.Certificates = []tls.Certificate{cert}
	fallbacks := cfg.Fallbacks[:0]
	for _, fb := range cfg.Fallbacks {
		if fb.TLSConfig == nil {
			continue
		}
		fb.TLSConfig = fb.TLSConfig.Clone()
		fb.TLSConfig.Certificates = []tls.Certificate{cert}
		fallbacks = append(fallbacks, fb)
	}
	cfg.Fallbacks = fallbacks
	return nil
}

// connectUpstream logs in to the upstream as p's role itself, with the client's startup
// parameters, and hijacks the connection.
func (f *Frontend) connectUpstream(ctx context.Context, s lanyard.PostgresServer, p lanyard.PostgresPrincipal, database string, params map[string]string) (*pgconn.HijackedConn, error) {
	cfg, err := upstreamConfig(s)
	if err != nil {
		return nil, err
	}
	cfg.User, cfg.Database = p.Role, database
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	for k, v := range params {
		if k == "user" || k == "database" || strings.HasPrefix(k, "_pq_.") {
			continue
		}
		cfg.RuntimeParams[k] = v
	}
	switch s.UpstreamAuth {
	case lanyard.UpstreamPassword:
		if len(p.SealedPassword) == 0 {
			return nil, fmt.Errorf("pgfront: role %q of %s has no upstream password", p.Role, s.ResourceID)
		}
		pw, err := f.cfg.Directory.Unseal(ctx, p.SealedPassword)
		if err != nil {
			return nil, fmt.Errorf("pgfront: unsealing the upstream password of role %q: %w", p.Role, err)
		}
		cfg.Password = string(pw)
	default:
		cert, err := f.cfg.Certificates.ClientCertificate(p.Role, f.cfg.Now())
		if err != nil {
			return nil, err
		}
		if err := withClientCertificate(cfg, cert); err != nil {
			return nil, err
		}
		cfg.Password = ""
	}
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	hj, err := pc.Hijack()
	if err != nil {
		_ = pc.Close(ctx)
		return nil, fmt.Errorf("pgfront: taking over the upstream connection: %w", err)
	}
	if err := quiesce(hj.Conn); err != nil {
		_ = hj.Conn.Close()
		return nil, fmt.Errorf("pgfront: taking over the upstream connection: %w", err)
	}
	return hj, nil
}

// quiesce makes sure no Read of pgconn's is still pending on c. pgconn starts a background
// reader when a write is slow (a loaded machine), and may hand c over with that reader
// still blocked in a Read: it would then take the upstream's answer to the client's first
// query, and the session would hang. A read deadline in the past ends that Read; our own
// Read, which the connection serializes after it, returns once it has. The upstream says
// nothing between ReadyForQuery and the first query, so there is nothing to lose.
func quiesce(c net.Conn) error {
	if err := c.SetReadDeadline(time.Unix(1, 0)); err != nil {
		return err
	}
	var b [1]byte
	n, err := c.Read(b[:])
	if n > 0 {
		return errors.New("the upstream sent data after ReadyForQuery")
	}
	var ne net.Error
	if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
		return err
	}
	return c.SetReadDeadline(time.Time{})
}
