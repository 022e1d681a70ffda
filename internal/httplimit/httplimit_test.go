package httplimit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// patience bounds every wait for something that must happen; it is far above the
// deadlines under test so that a loaded machine does not fail the tests.
const patience = 20 * time.Second

func serve(t *testing.T, l Limits, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(l.Handler(h))
	srv.Listener = l.Listener(srv.Listener)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readAllBody is a handler reading the whole body, reporting its error on errc.
func readAllBody(errc chan<- error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		errc <- err
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestTimeout)
			return
		}
		fmt.Fprint(w, "ok")
	}
}

// waitClosed reads c until the server ends it, which must happen within patience.
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(patience))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still holds the connection after %s", patience)
	}
}

func TestWithheldBodyIsCut(t *testing.T) {
	errc := make(chan error, 1)
	const stall = 300 * time.Millisecond
	addr := serve(t, Limits{BodyStall: stall, BodyTimeout: time.Hour}, readAllBody(errc))
	c := dial(t, addr)
	start := time.Now()
	fmt.Fprint(c, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789") // 90 bytes withheld
	waitClosed(t, c)
	if took := time.Since(start); took < stall {
		t.Errorf("cut after %s, before the %s stall deadline", took, stall)
	}
	if err := <-errc; !errors.Is(err, ErrBodyTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the handler's read failed with %v; want ErrBodyTimeout and os.ErrDeadlineExceeded", err)
	}
}

func TestTrickledBodyIsCutAtBodyTimeout(t *testing.T) {
	errc := make(chan error, 1)
	const total = 500 * time.Millisecond
	addr := serve(t, Limits{BodyStall: patience, BodyTimeout: total}, readAllBody(errc))
	c := dial(t, addr)
	start := time.Now()
	fmt.Fprint(c, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	go func() { // a byte every 50ms: progress enough for the stall deadline, never done
		for range 1000 {
			if _, err := c.Write([]byte{'x'}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	if err := <-errc; !errors.Is(err, ErrBodyTimeout) {
		t.Fatalf("the handler's read ended with %v; want ErrBodyTimeout", err)
	}
	if took := time.Since(start); took < total {
		t.Errorf("cut after %s, before the %s body timeout", took, total)
	}
	waitClosed(t, c)
}

func TestSlowProgressingBodyIsServed(t *testing.T) {
	errc := make(chan error, 1)
	const stall = time.Second
	addr := serve(t, Limits{BodyStall: stall, BodyTimeout: patience}, readAllBody(errc))
	c := dial(t, addr)
	// 30 chunks 100ms apart: three times the stall deadline in all, never a stall.
	fmt.Fprint(c, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n\r\n")
	for range 30 {
		time.Sleep(100 * time.Millisecond)
		if _, err := c.Write([]byte{'x'}); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("a slow but progressing body was cut: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(patience))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// Deadlines must not outlive the body: net/http's background read of the connection
// would hit them and cancel the request's context while the handler still works.
func TestDeadlineDoesNotOutliveBody(t *testing.T) {
	const stall = 200 * time.Millisecond
	type result struct {
		err    error
		ctxErr error
	}
	results := make(chan result, 2)
	addr := serve(t, Limits{BodyStall: stall, BodyTimeout: stall}, func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		time.Sleep(3 * stall) // work after the body, past every deadline
		results <- result{err, r.Context().Err()}
		fmt.Fprint(w, "ok")
	})
	for _, req := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
	} {
		c := dial(t, addr)
		fmt.Fprint(c, req)
		r := <-results
		if r.err != nil || r.ctxErr != nil {
			t.Errorf("%q: body %v, context %v; want neither to fail", strings.Fields(req)[0], r.err, r.ctxErr)
		}
	}
}

func TestStalledReaderIsCut(t *testing.T) {
	errc := make(chan error, 1)
	addr := serve(t, Limits{WriteStall: 300 * time.Millisecond}, func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				errc <- err
				return
			}
		}
	})
	c := dial(t, addr)
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	select {
	case err := <-errc:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("the write failed with %v; want os.ErrDeadlineExceeded", err)
		}
	case <-time.After(patience):
		t.Fatalf("the server still writes to a client that reads nothing after %s", patience)
	}
}

// A response that keeps moving is never cut, however long it takes, and the deadline of
// one response does not linger into the next request on the connection.
func TestProgressingResponseIsServed(t *testing.T) {
	const stall = 500 * time.Millisecond
	addr := serve(t, Limits{WriteStall: stall}, func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		for range 15 { // 1.5s in all, three times the stall deadline
			fmt.Fprint(w, "x")
			_ = rc.Flush()
			time.Sleep(100 * time.Millisecond)
		}
	})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := range 2 {
		if i == 1 {
			time.Sleep(2 * stall) // idle past the last write's deadline
		}
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(patience))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil || len(b) != 15 {
			t.Fatalf("request %d: read %d bytes, %v; want 15", i, len(b), err)
		}
	}
}

func TestMaxConns(t *testing.T) {
	addr := serve(t, Limits{MaxConns: 2}, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	get := func(c net.Conn, wait time.Duration) error {
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(wait))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	first, second := dial(t, addr), dial(t, addr)
	for _, c := range []net.Conn{first, second} {
		if err := get(c, patience); err != nil {
			t.Fatal(err)
		}
	}
	// Both slots are held by idle keep-alive connections: a third is not served.
	third := dial(t, addr)
	fmt.Fprint(third, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = third.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	br := bufio.NewReader(third)
	if _, err := http.ReadResponse(br, nil); err == nil {
		t.Fatal("a third connection was served with MaxConns 2")
	} else if ne := net.Error(nil); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("the third connection failed with %v; want it left waiting", err)
	}
	first.Close()
	_ = third.SetReadDeadline(time.Now().Add(patience))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the third connection was not served once a slot was free: %v", err)
	}
	resp.Body.Close()
}
