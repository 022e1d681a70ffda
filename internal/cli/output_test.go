package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// hostile is a value an app can put in a token request's resource: a forged table row, a
// colour escape and a right-to-left override.
const hostile = "https://x\n42  2030-01-01  token.issued  forged\x1b[31mred\u202eevil\x7f\u009b\xff"

func TestTableEscapesControlCharacters(t *testing.T) {
	var out bytes.Buffer
	rows := []map[string]any{{"kind": "token.refused", "action": hostile}}
	if err := (printer{format: "table", columns: cols("Kind", "kind", "Action", "action")}).print(&out, rows); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("the table has %d lines, want a heading, a rule and one row:\n%s", len(lines), out.String())
	}
	row := lines[2]
	for _, raw := range []string{"\x1b", "\u202e", "\x7f", "\u009b", "\r", "\t"} {
		if strings.Contains(out.String(), raw) {
			t.Errorf("the table holds a raw %q:\n%q", raw, out.String())
		}
	}
	want := `https://x\n42  2030-01-01  token.issued  forged\x1b[31mred\u202eevil\x7f\u009b\xff`
	if !strings.Contains(row, want) {
		t.Errorf("row %q does not show the value escaped as %q", row, want)
	}
}

// encoding/json escapes C0 controls but leaves DEL, C1 controls and bidi overrides raw;
// the JSON output escapes them too and still decodes to the same values.
func TestJSONEscapesInvisibleCharacters(t *testing.T) {
	var out bytes.Buffer
	in := []map[string]any{{"action": hostile, "ok": "plain ✓"}}
	if err := (printer{format: "json"}).print(&out, in); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"\x1b", "\u202e", "\x7f", "\u009b"} {
		if strings.Contains(out.String(), raw) {
			t.Errorf("JSON output holds a raw %q:\n%q", raw, out.String())
		}
	}
	var back []map[string]any
	if err := json.Unmarshal(out.Bytes(), &back); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	want := []map[string]any{{"action": strings.ToValidUTF8(hostile, "\ufffd"), "ok": "plain ✓"}}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("decoded %q, want %q", back, want)
	}
}

// End to end through the command line: an MSI request's resource, as the server records
// it, listed with `audit list -o table`, stays one escaped row; and explain and errors
// escape it too.
func TestAuditCommandsEscapeRequestValues(t *testing.T) {
	f := newFakeAPI(t)
	f.json("GET /providers/Lanyard.Audit/events", http.StatusOK, map[string]any{"value": []map[string]any{
		{"seq": 7, "time": "2030-01-01T00:00:00Z", "kind": "token.refused", "action": hostile, "decision": "denied", "requestId": "r1"},
	}})
	f.json("GET /providers/Lanyard.Audit/events/e1/explain", http.StatusOK, map[string]any{
		"explanation": "event e1 (seq 7)\na token for " + hostile + " was refused"})
	f.json("GET /providers/Lanyard.Audit/events/e2/explain", http.StatusBadRequest, map[string]any{
		"error": map[string]any{"code": "Bad", "message": "no event " + hostile}})

	out, errOut, code := f.run("audit", "list", "-o", "table")
	if code != 0 {
		t.Fatalf("audit list: exit %d, %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || strings.ContainsAny(out, "\x1b\u202e") || !strings.Contains(lines[2], `https://x\n42`) {
		t.Fatalf("audit list -o table printed %d lines (want 3) or raw escapes:\n%q", len(lines), out)
	}

	// The explanation's lines are the server's to make (it escapes what came in requests);
	// within them, nothing reaches the terminal raw.
	out, _, code = f.run("audit", "explain", "e1")
	if code != 0 || !strings.HasPrefix(out, "event e1 (seq 7)\n") || strings.ContainsAny(out, "\x1b\u202e") || !strings.Contains(out, `\x1b[31m`) {
		t.Fatalf("audit explain printed (exit %d):\n%q", code, out)
	}

	_, errOut, code = f.run("audit", "explain", "e2")
	if code != 1 || strings.Count(errOut, "\n") != 1 || strings.ContainsAny(errOut, "\x1b\u202e") || !strings.Contains(errOut, `\u202e`) {
		t.Fatalf("the error was printed (exit %d):\n%q", code, errOut)
	}
}

// audit explain takes the request id an SDK error prints as well as an event id: an id
// that names no event is looked up as a request id, and each of its events explained.
func TestAuditExplainByRequestID(t *testing.T) {
	f := newFakeAPI(t)
	f.routes["GET /providers/Lanyard.Audit/events"] = func(w http.ResponseWriter, r *http.Request) {
		var events []map[string]any
		if r.URL.Query().Get("requestId") == "req-1" {
			events = []map[string]any{{"id": "e1", "requestId": "req-1"}, {"id": "e2", "requestId": "req-1"}}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"value": events})
	}
	f.json("GET /providers/Lanyard.Audit/events/e1/explain", http.StatusOK, map[string]any{"id": "e1", "explanation": "first"})
	f.json("GET /providers/Lanyard.Audit/events/e2/explain", http.StatusOK, map[string]any{"id": "e2", "explanation": "second"})

	out, errOut, code := f.run("audit", "explain", "e1")
	if code != 0 || out != "first\n" {
		t.Fatalf("by event id: exit %d, %q, %s", code, out, errOut)
	}
	out, errOut, code = f.run("audit", "explain", "req-1")
	if code != 0 || out != "first\n\nsecond\n" {
		t.Fatalf("by request id: exit %d, %q, %s", code, out, errOut)
	}
	out, _, code = f.run("audit", "explain", "req-1", "--query", "[].id", "-o", "tsv")
	if code != 0 || out != "e1\ne2\n" {
		t.Fatalf("by request id as tsv: exit %d, %q", code, out)
	}
	_, errOut, code = f.run("audit", "explain", "nothing")
	if code != 1 || !strings.Contains(errOut, `no audit event has the id or request id "nothing"`) {
		t.Fatalf("unknown id: exit %d, %q", code, errOut)
	}
}
