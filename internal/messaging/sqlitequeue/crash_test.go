package sqlitequeue_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-id/lanyard/internal/crashtest"

	"github.com/lanyard-id/lanyard/internal/messaging"
	"github.com/lanyard-id/lanyard/internal/messaging/sqlitequeue"
)

// The crash test re-executes the test binary as a worker that sends, receives and settles
// in a loop from several goroutines, printing each acknowledged change, and kills it with
// SIGKILL at a random moment. It then reopens the store and checks that no acknowledged
// send is lost, no acknowledged completion (or receive-and-delete) comes back, an
// acknowledged dead-lettering holds, and no sequence number is handed out twice. Several
// rounds reuse one directory. SIGKILL keeps what the process wrote to files: this tests
// the store's commits, not power loss (synchronous=FULL is SQLite's part).
//
// The worker's lines: "S seq id" a send acknowledged, "C id" a completion or
// receive-and-delete acknowledged, "L id" a dead-lettering acknowledged; "c id" a
// completion begun, "d worker n" a receive-and-delete of up to n begun, "e worker" one
// ended (its messages were acknowledged). A message acknowledged as sent may be missing
// only if a removal under way at the kill may have taken it. Sessions: some messages go to
// the worker goroutine's session, which it accepts to set its state and complete its
// messages: "t session k" a state set begun, "T session k" acknowledged; the state stored
// must be the last acknowledged, or the one begun at the kill.

var crashQueue = messaging.Queue{Namespace: "ns", Name: "crash", LockDuration: 300 * time.Millisecond, MaxDeliveryCount: 4}

func TestCrashRecovery(t *testing.T) {
	crashtest.Worker("TestCrashRecovery", crashWorker)
	l := &ledger{sent: map[string]int64{}, seqs: map[int64]string{}, removed: map[string]bool{}, deadLettered: map[string]bool{},
		states: map[string]string{}}
	crashtest.Rounds(t, "TestCrashRecovery", 6, 200*time.Millisecond, 1200*time.Millisecond, func(dir string, lines []string) string {
		maxBefore := l.maxSeq
		l.startRound()
		for _, line := range lines {
			if err := l.apply(line, maxBefore); err != nil {
				t.Fatal(err)
			}
		}
		verifyCrashStore(t, dir, l)
		return fmt.Sprintf("%d acknowledgements; %d messages sent so far, %d removed, %d dead-lettered",
			len(lines), len(l.sent), len(l.removed), len(l.deadLettered))
	})
	if len(l.removed) == 0 || len(l.deadLettered) == 0 || len(l.states) == 0 {
		t.Fatalf("the workers acknowledged %d removals, %d dead-letterings and %d session states: the test checked too little",
			len(l.removed), len(l.deadLettered), len(l.states))
	}
}

// ledger is what the workers acknowledged, over all rounds.
type ledger struct {
	sent         map[string]int64 // id → sequence number
	seqs         map[int64]string
	removed      map[string]bool
	deadLettered map[string]bool
	maxSeq       int64
	states       map[string]string // session → its last state acknowledged
	stateBegun   map[string]string // this round's state set begun, not acknowledged

	// This round's removals begun and not acknowledged: a completion's message may be
	// gone, and so may up to that many of the messages a receive-and-delete could take.
	completing map[string]bool
	deleting   map[string]int // worker goroutine → how many its receive-and-delete asked for
}

func (l *ledger) startRound() {
	l.completing, l.deleting, l.stateBegun = map[string]bool{}, map[string]int{}, map[string]string{}
}

// apply takes in one line; sequence numbers must exceed maxBefore, the highest one
// acknowledged in earlier rounds.
func (l *ledger) apply(line string, maxBefore int64) error {
	f := strings.Fields(line)
	switch {
	case len(f) == 3 && f[0] == "S":
		seq, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return fmt.Errorf("line %q: %w", line, err)
		}
		if seq <= maxBefore {
			return fmt.Errorf("sequence number %d handed out again (an earlier round reached %d)", seq, maxBefore)
		}
		if other, dup := l.seqs[seq]; dup {
			return fmt.Errorf("sequence number %d given to %s and %s", seq, other, f[2])
		}
		l.sent[f[2]], l.seqs[seq] = seq, f[2]
		l.maxSeq = max(l.maxSeq, seq)
	case len(f) == 2 && f[0] == "c":
		l.completing[f[1]] = true
	case len(f) == 2 && f[0] == "C":
		l.removed[f[1]] = true
		delete(l.completing, f[1])
	case len(f) == 2 && f[0] == "L":
		l.deadLettered[f[1]] = true
	case len(f) == 3 && f[0] == "d":
		n, err := strconv.Atoi(f[2])
		if err != nil {
			return fmt.Errorf("line %q: %w", line, err)
		}
		l.deleting[f[1]] = n
	case len(f) == 2 && f[0] == "e":
		delete(l.deleting, f[1])
	case len(f) == 3 && f[0] == "t":
		l.stateBegun[f[1]] = f[2]
	case len(f) == 3 && f[0] == "T":
		l.states[f[1]] = f[2]
		delete(l.stateBegun, f[1])
	default:
		return fmt.Errorf("unexpected line %q", line)
	}
	return nil
}

func crashPayload(id string) []byte {
	return bytes.Repeat([]byte(id+";"), 1+len(id)*17%90)
}

func verifyCrashStore(t *testing.T, dir string, l *ledger) {
	t.Helper()
	ctx := t.Context()
	s, err := sqlitequeue.Open(ctx, dir, sqlitequeue.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	present := map[string]messaging.Stored{}
	for _, sub := range []messaging.SubQueue{messaging.Active, messaging.DeadLetter} {
		ms, err := s.Peek(ctx, crashQueue, sub, 1, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if _, dup := present[m.MessageID]; dup {
				t.Errorf("message %s is stored twice", m.MessageID)
			}
			present[m.MessageID] = m
			if !bytes.Equal(m.Raw, crashPayload(m.MessageID)) {
				t.Errorf("message %s: its encoding is not the one sent", m.MessageID)
			}
		}
	}
	for id := range l.removed {
		if _, ok := present[id]; ok {
			t.Errorf("message %s was completed, and came back", id)
		}
	}
	mayBeDeleted := 0
	for _, n := range l.deleting {
		mayBeDeleted += n
	}
	var missing []string
	for id, seq := range l.sent {
		m, ok := present[id]
		switch {
		case l.removed[id]:
		case !ok && l.completing[id]:
			l.removed[id] = true // completed, then killed before it said so
		case !ok:
			missing = append(missing, fmt.Sprintf("%s (sequence number %d)", id, seq))
			l.removed[id] = true
		case ok && m.SequenceNumber != seq:
			t.Errorf("message %s has sequence number %d, was acknowledged with %d", id, m.SequenceNumber, seq)
		case ok && l.deadLettered[id] && m.SubQueue != messaging.DeadLetter:
			t.Errorf("message %s was dead-lettered, and is back in the active queue", id)
		}
	}
	if len(missing) > mayBeDeleted {
		t.Errorf("acknowledged messages are lost: %v; receives-and-deletes under way could take only %d", missing, mayBeDeleted)
	}
	// Read the states as a receiver an hour later: every session lock has expired.
	later, err := sqlitequeue.Open(ctx, dir, sqlitequeue.Options{Logger: testLogger(t), Clock: func() time.Time { return time.Now().Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	defer later.Close()
	for session, want := range l.states {
		lock, err := later.AcceptSession(ctx, crashQueue, session)
		if err != nil {
			t.Fatalf("accept session %s: %v", session, err)
		}
		got, err := later.SessionState(ctx, crashQueue, lock)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want && (l.stateBegun[session] == "" || string(got) != l.stateBegun[session]) {
			t.Errorf("session %s has state %q; %q was acknowledged", session, got, want)
		}
		if err := later.ReleaseSession(ctx, crashQueue, lock); err != nil {
			t.Fatal(err)
		}
		if b := l.stateBegun[session]; b != "" && string(got) == b {
			l.states[session] = b
		}
	}
}

// crashWorker runs until killed.
func crashWorker(dir string, seed uint64) error {
	ctx := context.Background()
	s, err := sqlitequeue.Open(ctx, dir, sqlitequeue.Options{})
	if err != nil {
		return err
	}
	var out sync.Mutex
	ack := func(format string, args ...any) {
		line := fmt.Appendf(nil, format+"\n", args...)
		out.Lock()
		defer out.Unlock()
		os.Stdout.Write(line) // one write, a whole line, into the pipe
	}
	fmt.Println("READY")
	errs := make(chan error, 1)
	for g := range 4 {
		go func() {
			errs <- crashLoop(ctx, s, rand.New(rand.NewPCG(seed, uint64(g))), fmt.Sprintf("r%d-g%d", seed, g), ack)
		}()
	}
	return <-errs
}

func crashLoop(ctx context.Context, s messaging.Store, rng *rand.Rand, prefix string, ack func(string, ...any)) error {
	q := crashQueue
	n := 0
	session, states := prefix+"-s", 0
	for {
		switch op := rng.IntN(100); {
		case op < 40: // send a batch
			msgs := make([]messaging.Message, 1+rng.IntN(5))
			for i := range msgs {
				n++
				id := fmt.Sprintf("%s-%d", prefix, n)
				msgs[i] = messaging.Message{Raw: crashPayload(id), MessageID: id}
				if rng.IntN(3) == 0 {
					msgs[i].SessionID = session
				}
			}
			seqs, err := s.Send(ctx, q, msgs)
			if err != nil {
				return err
			}
			for i, m := range msgs {
				ack("S %d %s", seqs[i], m.MessageID)
			}
		case op < 85: // peek-lock, then settle each one way or another
			sub := messaging.Active
			if rng.IntN(5) == 0 {
				sub = messaging.DeadLetter
			}
			got, err := s.Receive(ctx, q, sub, messaging.PeekLock, 1+rng.IntN(4))
			if err != nil {
				return err
			}
			for _, m := range got {
				switch p := rng.IntN(10); {
				case p < 6:
					ack("c %s", m.MessageID)
					err = s.Complete(ctx, q, sub, m.LockToken)
					if err == nil {
						ack("C %s", m.MessageID)
					}
				case p < 8:
					err = s.Abandon(ctx, q, sub, m.LockToken, nil)
				case p < 9 && sub == messaging.Active:
					err = s.DeadLetter(ctx, q, m.LockToken, "crash", "", nil)
					if err == nil {
						ack("L %s", m.MessageID)
					}
				default: // keep the lock; it expires
				}
				if err != nil && !errors.Is(err, messaging.ErrLockLost) {
					return err
				}
			}
		case op < 92: // the goroutine's session: set its state, complete its messages
			if err := crashSession(ctx, s, session, &states, ack); err != nil {
				return err
			}
		default: // receive and delete
			max := 1 + rng.IntN(3)
			ack("d %s %d", prefix, max)
			got, err := s.Receive(ctx, q, messaging.Active, messaging.ReceiveAndDelete, max)
			if err != nil {
				return err
			}
			for _, m := range got {
				ack("C %s", m.MessageID)
			}
			ack("e %s", prefix)
		}
	}
}

func crashSession(ctx context.Context, s messaging.Store, session string, states *int, ack func(string, ...any)) error {
	q := crashQueue
	lock, err := s.AcceptSession(ctx, q, session)
	if errors.Is(err, messaging.ErrSessionCannotBeLocked) {
		return nil // the killed worker's lock, not yet expired
	}
	if err != nil {
		return err
	}
	*states++
	ack("t %s %d", session, *states)
	if err := s.SetSessionState(ctx, q, lock, []byte(strconv.Itoa(*states))); err != nil {
		if errors.Is(err, messaging.ErrSessionLockLost) {
			return nil
		}
		return err
	}
	ack("T %s %d", session, *states)
	got, err := s.ReceiveSession(ctx, q, lock, messaging.PeekLock, 3)
	if err != nil && !errors.Is(err, messaging.ErrSessionLockLost) {
		return err
	}
	for _, m := range got {
		ack("c %s", m.MessageID)
		err := s.Complete(ctx, q, messaging.Active, m.LockToken)
		if err == nil {
			ack("C %s", m.MessageID)
		} else if !errors.Is(err, messaging.ErrLockLost) {
			return err
		}
	}
	return s.ReleaseSession(ctx, q, lock)
}
