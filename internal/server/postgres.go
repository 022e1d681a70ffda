package server

import (
	"errors"
	"fmt"
	"net"
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
