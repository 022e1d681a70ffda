package listenset

import (
	"net"
	"slices"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitBound(t *testing.T, s *Set[string], key string) net.Addr {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if a := s.Addr(key); a != nil {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never bound", key)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSetFollowsWhatIsWanted: listeners come, move and go with Sync; each connection
// reaches Serve with its key and what Prepare made; an address taken is bound once free.
func TestSetFollowsWhatIsWanted(t *testing.T) {
	served := make(chan string, 10)
	s := New(Config[string]{
		What:           "thing",
		Prepare:        func(key, addr string) (string, error) { return key + "@" + addr, nil },
		Serve:          func(key, prepared string, c net.Conn) { served <- prepared; _ = c.Close() },
		RebindInterval: 20 * time.Millisecond,
	})
	defer s.Close()
	a, b := freeAddr(t), freeAddr(t)
	if stopped := s.Sync(map[string]string{"one": a}); len(stopped) != 0 {
		t.Fatalf("stopped %v", stopped)
	}
	dial := func(addr net.Addr) {
		t.Helper()
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
	}
	dial(waitBound(t, s, "one"))
	if got := <-served; got != "one@"+a {
		t.Fatalf("served %q", got)
	}
	// Moving "one" stops its listener; "two"'s address is held by someone else for now.
	holder, err := net.Listen("tcp", b)
	if err != nil {
		t.Fatal(err)
	}
	c := freeAddr(t)
	stopped := s.Sync(map[string]string{"one": c, "two": b})
	if !slices.Equal(stopped, []string{"one"}) {
		t.Fatalf("stopped %v, want [one]", stopped)
	}
	dial(waitBound(t, s, "one"))
	<-served
	time.Sleep(60 * time.Millisecond)
	if s.Addr("two") != nil {
		t.Fatal("two bound an address another listener holds")
	}
	_ = holder.Close()
	dial(waitBound(t, s, "two"))
	if got := <-served; got != "two@"+b {
		t.Fatalf("served %q", got)
	}
	if stopped := s.Sync(map[string]string{}); len(stopped) != 2 {
		t.Fatalf("stopped %v", stopped)
	}
	if _, err := net.Dial("tcp", c); err == nil {
		t.Fatal("a stopped listener still accepts")
	}
}
