package amqp

import (
	"sync"
	"testing"
)

// laterHandler defers every attach and hands the links to the test, which answers them.
type laterHandler struct {
	links    chan *Link
	mu       sync.Mutex
	detached []*Link
}

func (h *laterHandler) Attach(l *Link) *Error {
	h.links <- l
	return AttachLater
}
func (h *laterHandler) Deliver(*Link, *Delivery)                       {}
func (h *laterHandler) Disposition(*Link, uint32, bool, DeliveryState) {}
func (h *laterHandler) Detach(l *Link, _ *Error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.detached = append(h.detached, l)
}

// TestAttachLater: an attach the handler defers is answered only by CompleteAttach, from
// another goroutine: with the link's source and properties as set then, or with a refusal
// (an attach with no terminus, then a detach with the error); a peer that detaches first
// gets its attach answered, with no terminus, before the answer to its detach, and a late
// CompleteAttach then sends nothing.
func TestAttachLater(t *testing.T) {
	h := &laterHandler{links: make(chan *Link, 4)}
	addr, _ := startServer(t, &ServerConfig{Handler: h})
	r := dialRaw(t, addr)
	r.open(0)
	r.send(FrameAMQP, 0, &Begin{IncomingWindow: 100, OutgoingWindow: 100, HandleMax: 10})
	if _, ok := r.read().(*Begin); !ok {
		t.Fatal("no begin")
	}
	attach := func(handle uint32) *Link {
		t.Helper()
		r.send(FrameAMQP, 0, &Attach{Name: "l", Handle: handle, Role: RoleReceiver,
			Source: &Source{Address: "q", Filter: Map{{Symbol("f"), nil}}}, Target: &Target{}})
		return <-h.links
	}

	// Accepted later, with what the handler set.
	l := attach(0)
	l.Source = &Source{Address: "q", Filter: Map{{Symbol("f"), "chosen"}}}
	l.Properties.Set(Symbol("p"), int64(7))
	go func() { _ = l.CompleteAttach(nil) }()
	a, ok := r.read().(*Attach)
	if !ok || a.Handle != 0 || a.Source == nil {
		t.Fatalf("answer: %#v", a)
	}
	if v, _ := a.Source.Filter.Get(Symbol("f")); v != "chosen" {
		t.Fatalf("answered filter %v", a.Source.Filter)
	}
	if v, _ := a.Properties.Get(Symbol("p")); v != int64(7) {
		t.Fatalf("answered properties %v", a.Properties)
	}
	if err := l.CompleteAttach(nil); err != nil { // a second answer sends nothing
		t.Fatal(err)
	}

	// Refused later.
	l = attach(1)
	go func() { _ = l.CompleteAttach(&Error{Condition: "x:refused", Description: "no"}) }()
	if a, ok := r.read().(*Attach); !ok || a.Handle != 1 || a.Source != nil {
		t.Fatalf("refusal's attach: %#v", a)
	}
	if d, ok := r.read().(*Detach); !ok || d.Handle != 1 || d.Error == nil || d.Error.Condition != "x:refused" {
		t.Fatalf("refusal's detach: %#v", d)
	}
	r.send(FrameAMQP, 0, &Detach{Handle: 1, Closed: true})

	// The peer gives up first.
	l = attach(2)
	r.send(FrameAMQP, 0, &Detach{Handle: 2, Closed: true})
	if a, ok := r.read().(*Attach); !ok || a.Handle != 2 || a.Source != nil {
		t.Fatalf("the attach answered before the detach: %#v", a)
	}
	if d, ok := r.read().(*Detach); !ok || d.Handle != 2 {
		t.Fatalf("the detach answered: %#v", d)
	}
	<-l.Detached()
	if err := l.CompleteAttach(nil); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	told := len(h.detached)
	h.mu.Unlock()
	if told != 1 {
		t.Fatalf("the handler heard of %d detaches, want the pending link's", told)
	}
	// The session still works: the next frame is the answer to a new attach.
	l = attach(3)
	go func() { _ = l.CompleteAttach(nil) }()
	if a, ok := r.read().(*Attach); !ok || a.Handle != 3 {
		t.Fatalf("after a given-up attach: %#v", a)
	}
}
