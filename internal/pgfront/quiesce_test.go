package pgfront

import (
	"net"
	"testing"
	"time"
)

// TestQuiesceEndsAPendingRead: a Read left pending on the upstream connection (pgconn's
// background reader) must not take the bytes the session reads next.
func TestQuiesceEndsAPendingRead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	stolen := make(chan int, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		var b [16]byte
		n, _ := c.Read(b[:]) // the reader left behind
		stolen <- n
	}()
	<-started
	time.Sleep(100 * time.Millisecond) // let it block in Read, as pgconn's reader would be
	if err := quiesce(c); err != nil {
		t.Fatal(err)
	}
	if n := <-stolen; n != 0 {
		t.Fatalf("the pending Read returned %d bytes before any were sent", n)
	}
	if _, err := peer.Write([]byte("answer")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [16]byte
	n, err := c.Read(b[:])
	if err != nil || string(b[:n]) != "answer" {
		t.Fatalf("the session read %q, %v; want the upstream's answer", b[:n], err)
	}
}
