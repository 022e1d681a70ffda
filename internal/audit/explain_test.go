package audit

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// A resource is whatever the app sent: in an explanation it must stay on its line and
// show its control characters rather than act on them.
func TestExplainEscapesRequestValues(t *testing.T) {
	evil := "https://x\nevent forged (seq 1) \x1b[31mred\u202e"
	for kind, d := range map[Kind]any{
		KindTokenIssued:  TokenIssued{TokenID: "u1", Resource: evil, PrincipalID: "p", ClientID: "c", Protocol: "imds", CallerAddress: "127.0.0.1:1"},
		KindTokenRefused: TokenRefused{Resource: evil, Identity: "client_id=" + evil, Protocol: "imds", Status: 400, Code: "invalid_request", Reason: evil},
	} {
		// As read back from the store, which is what the explain route explains.
		raw, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Explain(Event{AuditEvent: lanyard.AuditEvent{Kind: kind, Details: raw}})
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(got, "\n"); n != 1 || strings.ContainsAny(got, "\x1b\u202e") {
			t.Errorf("explanation has %d line breaks (want 1, after the heading) or raw escapes:\n%q", n, got)
		}
		if !strings.Contains(got, `https://x\nevent forged (seq 1) \x1b[31mred\u202e`) {
			t.Errorf("explanation does not show the resource escaped:\n%s", got)
		}
	}
}
