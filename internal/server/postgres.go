package server

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/pgfront"
)

// postgresDefaultPort is the port a local PostgreSQL usually holds: a server's front end is
// never given it unasked.
const postgresDefaultPort = 5432

// freeLoopbackAddress picks a free TCP port on 127.0.0.1 for a PostgreSQL server created
// without a listen address. The port is free now; the front end binds it when it syncs.
func freeLoopbackAddress() (string, error) {
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("pick a port: %w", err)
		}
		addr := l.Addr().(*net.TCPAddr)
		if err := l.Close(); err != nil {
			return "", fmt.Errorf("pick a port: %w", err)
		}
		if addr.Port != postgresDefaultPort {
			return addr.String(), nil
		}
	}
	return "", errors.New("pick a port: only 5432 was offered")
}

// openPostgres starts the PostgreSQL front end (it serves no server until syncPostgres)
// and gives the directory its way to create and drop roles upstream.
func (s *Server) openPostgres(f *foundation, svc *services, ep endpoints) error {
	front, err := pgfront.New(pgfront.Config{
		Directory:    svc.postgres,
		Tokens:       &pgfront.AccessTokens{Access: svc.access, Verifier: s.verifier(ep.issuerURL(s.tenant.ID), lanyard.OSSRDBMSResource)},
		Certificates: f.ca,
		Audit:        &pgfront.Trail{Recorder: s.obs.audit, Logger: s.logger},
		Logger:       s.logger,
		BindHost:     s.cfg.PostgresBindHost,
	})
	if err != nil {
		return fmt.Errorf("postgres front end: %w", err)
	}
	s.postgres = front
	svc.postgres.Roles = &pgfront.Roles{Certificates: f.ca, Unsealer: svc.postgres}
	// Bindings dropped need nothing here: the front end re-checks open sessions' bindings.
	svc.directory.OnPostgresChange = func(directory.PostgresChange) { s.syncPostgres(context.Background()) }
	return nil
}

// syncPostgres makes the front end serve the servers in the store. A server whose address
// is beyond loopback is left unserved unless the node allows it, since any Contributor may
// name a server's address.
func (s *Server) syncPostgres(ctx context.Context) error {
	if s.postgres == nil {
		return nil
	}
	servers, err := s.store.ListPostgresServers(ctx)
	if err != nil {
		return fmt.Errorf("list PostgreSQL servers: %w", err)
	}
	served := servers[:0]
	for _, srv := range servers {
		host, _, _ := net.SplitHostPort(srv.Listen)
		if s.cfg.PostgresBindHost != "" {
			host = s.cfg.PostgresBindHost
		}
		if !s.cfg.AllowNonLoopback && !config.IsLoopback(host) {
			s.logger.Error("a PostgreSQL server's listen address is beyond loopback: not served (set allowNonLoopback to serve it)", "server", srv.ResourceID, "listen", srv.Listen)
			continue
		}
		served = append(served, srv)
	}
	s.postgres.Sync(served)
	return nil
}
