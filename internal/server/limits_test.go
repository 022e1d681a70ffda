package server

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/config"
)

// The listeners take their connection caps from the configuration.
func TestListenerConnectionCap(t *testing.T) {
	f, err := config.Parse([]byte(`{"listen": {"api": "127.0.0.1:0", "msi": "127.0.0.1:0", "blob": "127.0.0.1:0"},
		"limits": {"maxConnections": {"msi": 1}}}`))
	if err != nil {
		t.Fatal(err)
	}
	f.Home = t.TempDir()
	cfg, err := f.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	s, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	addr := strings.TrimPrefix(s.State().MSIURL, "http://")
	get := func(wait time.Duration) (net.Conn, error) {
		c, err := net.DialTimeout("tcp", addr, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(wait))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			resp.Body.Close()
		}
		return c, err
	}
	first, err := get(20 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	second, err := get(500 * time.Millisecond)
	if err == nil {
		second.Close()
		t.Fatal("a second connection was served with limits.maxConnections.msi 1")
	}
	first.Close()
}
