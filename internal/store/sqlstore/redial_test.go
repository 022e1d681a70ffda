package sqlstore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// After a session that stayed connected for the healthy period, the next failure is
// redialed after the minimal delay again; a session dropped as soon as it connected does
// not reset the backoff.
func TestRedialBackoffResetsAfterAHealthySession(t *testing.T) {
	clock := time.Unix(0, 0)
	var delays []time.Duration
	timing := redialTiming{
		min: 50 * time.Millisecond, max: 2 * time.Second, healthy: 5 * time.Second,
		now: func() time.Time { return clock },
		wait: func(_ context.Context, d time.Duration) error {
			delays = append(delays, d)
			clock = clock.Add(d)
			return nil
		},
	}
	// What each session does: fail before connecting, connect and stay up for a while,
	// or connect and drop at once.
	type run struct {
		connects bool
		lasts    time.Duration
	}
	script := []run{
		{}, {}, {}, {}, {}, {}, {}, // an outage: the delay climbs to its ceiling
		{connects: true, lasts: time.Minute}, // a healthy minute, then a blip
		{},                                   // the blip: back to the minimal delay
		{connects: true, lasts: time.Minute},
		{connects: true}, // dropped as soon as it connects: no reset
		{connects: true},
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	n := 0
	redial(ctx, timing, func(first bool, up func()) error {
		if first != (n == 0) {
			t.Errorf("session %d: first=%v", n, first)
		}
		if n == len(script) {
			cancel()
			return nil
		}
		r := script[n]
		n++
		if r.connects {
			up()
			clock = clock.Add(r.lasts)
		}
		return errors.New("connection lost")
	}, func(error) {})
	ms := time.Millisecond
	want := []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 2000 * ms,
		50 * ms, 100 * ms, 50 * ms, 100 * ms, 200 * ms}
	if !slices.Equal(delays, want) {
		t.Fatalf("redial delays %v, want %v", delays, want)
	}
}
