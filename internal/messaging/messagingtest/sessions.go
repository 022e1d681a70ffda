package messagingtest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/messaging"
)

// The rules of messaging.Sessions.

func sessionRules() []struct {
	name string
	fn   func(t *testing.T, e env)
} {
	return []struct {
		name string
		fn   func(t *testing.T, e env)
	}{
		{"SessionFIFOAndIsolation", testSessionFIFO},
		{"SessionLockExclusive", testSessionLockExclusive},
		{"SessionAcceptNext", testSessionAcceptNext},
		{"SessionRenewAndExpiry", testSessionRenew},
		{"SessionRelease", testSessionRelease},
		{"SessionState", testSessionState},
		{"SessionList", testSessionList},
		{"SessionPeekAndDelete", testSessionPeekAndDelete},
	}
}

// sendSessions sends one message per entry of ids, to that session (raw "id-n").
func (e env) sendSessions(t *testing.T, q messaging.Queue, ids ...string) []int64 {
	t.Helper()
	msgs := make([]messaging.Message, len(ids))
	for i, id := range ids {
		msgs[i] = messaging.Message{Raw: []byte(id + "-" + string(rune('a'+i))), SessionID: id}
	}
	seqs, err := e.s.Send(e.ctx, q, msgs)
	if err != nil {
		t.Fatalf("Send(%s): %v", q.Name, err)
	}
	return seqs
}

func (e env) accept(t *testing.T, q messaging.Queue, id string) messaging.SessionLock {
	t.Helper()
	l, err := e.s.AcceptSession(e.ctx, q, id)
	if err != nil {
		t.Fatalf("AcceptSession(%s): %v", id, err)
	}
	if l.SessionID != id || !l.LockedUntil.Equal(e.clock.Now().Add(q.LockDuration)) {
		t.Fatalf("AcceptSession(%s) = %+v, want the session locked until now + lock duration", id, l)
	}
	return l
}

func (e env) receiveSession(t *testing.T, q messaging.Queue, l messaging.SessionLock, mode messaging.ReceiveMode, max int) []messaging.Stored {
	t.Helper()
	got, err := e.s.ReceiveSession(e.ctx, q, l, mode, max)
	if err != nil {
		t.Fatalf("ReceiveSession(%s): %v", l.SessionID, err)
	}
	return got
}

func testSessionFIFO(t *testing.T, e env) {
	q := queue("s")
	seqs := e.sendSessions(t, q, "a", "b", "a", "b", "a")
	if _, err := e.s.Send(e.ctx, q, []messaging.Message{msg("none")}); err != nil {
		t.Fatal(err)
	}
	a := e.accept(t, q, "a")
	got := e.receiveSession(t, q, a, messaging.PeekLock, 2)
	expectSeqs(t, "first receive of session a", seqsOf(got), []int64{seqs[0], seqs[2]})
	for _, m := range got {
		if m.SessionID != "a" || m.DeliveryCount != 1 || m.LockToken == (messaging.LockToken{}) {
			t.Fatalf("a message of session a: %+v", m)
		}
	}
	got = append(got, e.receiveSession(t, q, a, messaging.PeekLock, 10)...)
	expectSeqs(t, "session a", seqsOf(got), []int64{seqs[0], seqs[2], seqs[4]})
	for _, m := range got {
		if err := e.s.Complete(e.ctx, q, messaging.Active, m.LockToken); err != nil {
			t.Fatalf("Complete of a session message: %v", err)
		}
	}
	if rest := e.receiveSession(t, q, a, messaging.PeekLock, 10); len(rest) != 0 {
		t.Fatalf("session a after completing all: %v", seqsOf(rest))
	}
	b := e.accept(t, q, "b")
	got = e.receiveSession(t, q, b, messaging.ReceiveAndDelete, 10)
	expectSeqs(t, "session b, received and deleted", seqsOf(got), []int64{seqs[1], seqs[3]})
	e.expectCounts(t, q, 1, 0) // the message of no session
}

func testSessionLockExclusive(t *testing.T, e env) {
	q := queue("s")
	e.sendSessions(t, q, "a")
	first := e.accept(t, q, "a")
	_, err := e.s.AcceptSession(e.ctx, q, "a")
	expectErr(t, "a second AcceptSession of a held session", err, messaging.ErrSessionCannotBeLocked)
	e.clock.Advance(q.LockDuration)
	second := e.accept(t, q, "a")
	if second.Token == first.Token {
		t.Fatal("a session taken again kept its token")
	}
	_, err = e.s.ReceiveSession(e.ctx, q, first, messaging.PeekLock, 1)
	expectErr(t, "ReceiveSession under a lost lock", err, messaging.ErrSessionLockLost)
	_, err = e.s.RenewSessionLock(e.ctx, q, first)
	expectErr(t, "RenewSessionLock of a lost lock", err, messaging.ErrSessionLockLost)
	err = e.s.SetSessionState(e.ctx, q, first, []byte("x"))
	expectErr(t, "SetSessionState under a lost lock", err, messaging.ErrSessionLockLost)
	_, err = e.s.SessionState(e.ctx, q, first)
	expectErr(t, "SessionState under a lost lock", err, messaging.ErrSessionLockLost)
	if got := e.receiveSession(t, q, second, messaging.PeekLock, 10); len(got) != 1 {
		t.Fatalf("the new holder got %d messages, want 1", len(got))
	}
	_, err = e.s.AcceptSession(e.ctx, q, "")
	expectErr(t, "AcceptSession of an empty id", err, messaging.ErrInvalid)
}

func testSessionAcceptNext(t *testing.T, e env) {
	q := queue("s")
	_, err := e.s.AcceptNextSession(e.ctx, q)
	expectErr(t, "AcceptNextSession of an empty queue", err, messaging.ErrNoSessionAvailable)
	e.sendSessions(t, q, "b", "a", "b")
	if _, err := e.s.Send(e.ctx, q, []messaging.Message{msg("none")}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 2 {
		l, err := e.s.AcceptNextSession(e.ctx, q)
		if err != nil {
			t.Fatalf("AcceptNextSession: %v", err)
		}
		if !l.LockedUntil.Equal(e.clock.Now().Add(q.LockDuration)) {
			t.Fatalf("AcceptNextSession locked until %v", l.LockedUntil)
		}
		got = append(got, l.SessionID)
	}
	if !slices.Equal(got, []string{"b", "a"}) {
		t.Fatalf("AcceptNextSession took %v, want b (oldest message) then a", got)
	}
	_, err = e.s.AcceptNextSession(e.ctx, q)
	expectErr(t, "AcceptNextSession with every session held", err, messaging.ErrNoSessionAvailable)
	// A session whose messages are all locked or scheduled has none available.
	e.clock.Advance(q.LockDuration)
	c := messaging.Message{Raw: []byte("later"), SessionID: "c", ScheduledAt: e.clock.Now().Add(time.Hour)}
	if _, err := e.s.Send(e.ctx, q, []messaging.Message{c}); err != nil {
		t.Fatal(err)
	}
	l, err := e.s.AcceptNextSession(e.ctx, q)
	if err != nil || l.SessionID != "b" {
		t.Fatalf("AcceptNextSession after the locks expired: %+v, %v; want b", l, err)
	}
}

func testSessionRenew(t *testing.T, e env) {
	q := queue("s")
	e.sendSessions(t, q, "a", "a")
	l := e.accept(t, q, "a")
	held := e.receiveSession(t, q, l, messaging.PeekLock, 1)
	e.clock.Advance(q.LockDuration - time.Second)
	until, err := e.s.RenewSessionLock(e.ctx, q, l)
	if err != nil {
		t.Fatalf("RenewSessionLock: %v", err)
	}
	expectTime(t, "renewed session lock", until, e.clock.Now().Add(q.LockDuration))
	e.clock.Advance(q.LockDuration - time.Second)
	_, err = e.s.AcceptSession(e.ctx, q, "a")
	expectErr(t, "AcceptSession of a renewed lock", err, messaging.ErrSessionCannotBeLocked)
	// The message locked with the session stayed locked with it.
	if err := e.s.Complete(e.ctx, q, messaging.Active, held[0].LockToken); err != nil {
		t.Fatalf("Complete of a message locked before the session's renewal, past its own lock: %v", err)
	}
	e.receiveSession(t, q, l, messaging.PeekLock, 1)
	e.clock.Advance(time.Second) // exactly at expiry: lost
	_, err = e.s.RenewSessionLock(e.ctx, q, l)
	expectErr(t, "RenewSessionLock at expiry", err, messaging.ErrSessionLockLost)
	// The next holder gets the message its predecessor left locked, its delivery counted.
	next := e.accept(t, q, "a")
	got := e.receiveSession(t, q, next, messaging.PeekLock, 10)
	if len(got) != 1 || got[0].DeliveryCount != 2 {
		t.Fatalf("the next holder got %+v, want the message with delivery count 2", got)
	}
}

func testSessionRelease(t *testing.T, e env) {
	q := queue("s")
	e.sendSessions(t, q, "a", "a")
	l := e.accept(t, q, "a")
	held := e.receiveSession(t, q, l, messaging.PeekLock, 1)
	if err := e.s.ReleaseSession(e.ctx, q, l); err != nil {
		t.Fatalf("ReleaseSession: %v", err)
	}
	if err := e.s.ReleaseSession(e.ctx, q, l); err != nil {
		t.Fatalf("ReleaseSession again: %v", err)
	}
	err := e.s.Complete(e.ctx, q, messaging.Active, held[0].LockToken)
	expectErr(t, "Complete of a message locked in a released session", err, messaging.ErrLockLost)
	next, err := e.s.AcceptNextSession(e.ctx, q)
	if err != nil || next.SessionID != "a" {
		t.Fatalf("AcceptNextSession after a release: %+v, %v", next, err)
	}
	got := e.receiveSession(t, q, next, messaging.PeekLock, 10)
	if len(got) != 2 || got[0].SequenceNumber != held[0].SequenceNumber || got[0].DeliveryCount != 2 {
		t.Fatalf("after a release: %+v, want both messages in order, the first counted twice", got)
	}
}

func testSessionState(t *testing.T, e env) {
	q := queue("s")
	l := e.accept(t, q, "a") // a session needs no message to be accepted
	if st, err := e.s.SessionState(e.ctx, q, l); err != nil || st != nil {
		t.Fatalf("SessionState of a new session: %q, %v; want nil", st, err)
	}
	for _, want := range [][]byte{[]byte("state-1"), bytes.Repeat([]byte{0, 0xff}, 1000), {}} {
		if err := e.s.SetSessionState(e.ctx, q, l, want); err != nil {
			t.Fatalf("SetSessionState: %v", err)
		}
		got, err := e.s.SessionState(e.ctx, q, l)
		if err != nil || !bytes.Equal(got, want) || got == nil {
			t.Fatalf("SessionState = %q, %v; want %q", got, err, want)
		}
	}
	if err := e.s.SetSessionState(e.ctx, q, l, nil); err != nil {
		t.Fatalf("SetSessionState(nil): %v", err)
	}
	if st, err := e.s.SessionState(e.ctx, q, l); err != nil || st != nil {
		t.Fatalf("SessionState after clearing: %q, %v", st, err)
	}
	if err := e.s.SetSessionState(e.ctx, q, l, []byte("kept")); err != nil {
		t.Fatal(err)
	}
	if err := e.s.ReleaseSession(e.ctx, q, l); err != nil {
		t.Fatal(err)
	}
	next := e.accept(t, q, "a")
	if st, err := e.s.SessionState(e.ctx, q, next); err != nil || string(st) != "kept" {
		t.Fatalf("SessionState for the next holder: %q, %v", st, err)
	}
	err := e.s.SetSessionState(e.ctx, q, next, make([]byte, messaging.MaxSessionStateSize+1))
	expectErr(t, "SetSessionState over the limit", err, messaging.ErrInvalid)
}

func testSessionList(t *testing.T, e env) {
	q := queue("s")
	e.sendSessions(t, q, "c", "a", "c")
	if _, err := e.s.Send(e.ctx, q, []messaging.Message{msg("none")}); err != nil {
		t.Fatal(err)
	}
	before := e.clock.Now()
	e.clock.Advance(time.Second)
	b := e.accept(t, q, "b") // no messages: listed only once it has a state
	list := func(after time.Time, skip, top int) []string {
		t.Helper()
		ids, err := e.s.ListSessions(e.ctx, q, after, skip, top)
		if err != nil {
			t.Fatalf("ListSessions: %v", err)
		}
		return ids
	}
	if got := list(time.Time{}, 0, 10); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("ListSessions = %v, want [a c]", got)
	}
	if err := e.s.SetSessionState(e.ctx, q, b, []byte("s")); err != nil {
		t.Fatal(err)
	}
	if got := list(time.Time{}, 0, 10); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("ListSessions with a state = %v, want [a b c]", got)
	}
	if got := list(time.Time{}, 1, 1); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("ListSessions skip 1 top 1 = %v, want [b]", got)
	}
	if got := list(before, 0, 10); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("ListSessions updated after = %v, want [b]", got)
	}
	if got := list(e.clock.Now(), 0, 10); len(got) != 0 {
		t.Fatalf("ListSessions updated after now = %v, want none", got)
	}
	_, err := e.s.ListSessions(e.ctx, q, time.Time{}, 0, 0)
	expectErr(t, "ListSessions with top 0", err, messaging.ErrInvalid)
}

func testSessionPeekAndDelete(t *testing.T, e env) {
	q := queue("s")
	seqs := e.sendSessions(t, q, "a", "b", "a")
	got, err := e.s.PeekSession(e.ctx, q, "a", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	expectSeqs(t, "PeekSession(a)", seqsOf(got), []int64{seqs[0], seqs[2]})
	got, err = e.s.PeekSession(e.ctx, q, "a", seqs[0]+1, 10)
	if err != nil {
		t.Fatal(err)
	}
	expectSeqs(t, "PeekSession(a) from the second", seqsOf(got), []int64{seqs[2]})
	l := e.accept(t, q, "a")
	if err := e.s.SetSessionState(e.ctx, q, l, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteQueue(e.ctx, q.Namespace, q.Name); err != nil {
		t.Fatal(err)
	}
	if ids, err := e.s.ListSessions(e.ctx, q, time.Time{}, 0, 10); err != nil || len(ids) != 0 {
		t.Fatalf("ListSessions after DeleteQueue: %v, %v", ids, err)
	}
	// The lock went with the queue: the session is free.
	e.accept(t, q, "a")
}
