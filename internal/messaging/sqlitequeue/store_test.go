package sqlitequeue_test

import (
	"testing"

	"github.com/lanyard-id/lanyard/internal/messaging"
	"github.com/lanyard-id/lanyard/internal/messaging/messagingtest"
	"github.com/lanyard-id/lanyard/internal/messaging/sqlitequeue"
)

func TestConformance(t *testing.T) {
	messagingtest.Run(t, func(t *testing.T, clock *messagingtest.Clock) messaging.Store {
		s, err := sqlitequeue.Open(t.Context(), t.TempDir(), sqlitequeue.Options{Clock: clock.Now, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
		return s
	})
}
