package blob

import (
	"errors"
	"testing"
	"time"
)

func TestConditionsOnMissing(t *testing.T) {
	lm := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := (Conditions{IfMatch: []string{"*"}}).checkWrite(false, "", time.Time{}); CodeOf(err) != CodeConditionNotMet {
		t.Fatalf("If-Match on a missing blob: %v", err)
	}
	for _, c := range []Conditions{{IfNoneMatch: []string{"*"}}, {IfModifiedSince: lm}, {IfUnmodifiedSince: lm}} {
		if err := c.checkCreate(false, "", time.Time{}); err != nil {
			t.Fatalf("%+v on a missing blob: %v", c, err)
		}
	}
	// Sub-second modification times compare at second precision, as HTTP shows them.
	exact := lm.Add(900 * time.Millisecond)
	if err := (Conditions{IfModifiedSince: lm}).checkRead("0x1", exact); !errors.Is(err, ErrNotModified) {
		t.Fatalf("If-Modified-Since same second: %v", err)
	}
	if err := (Conditions{IfUnmodifiedSince: lm}).checkWrite(true, "0x1", exact); err != nil {
		t.Fatalf("If-Unmodified-Since same second: %v", err)
	}
	if err := (Conditions{IfMatch: []string{`W/"0x1"`}}).checkRead("0x1", lm); err != nil {
		t.Fatalf("weak ETag form: %v", err)
	}
}
