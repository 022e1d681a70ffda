package reqctx

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestParseTraceparent(t *testing.T) {
	const tid, sid = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	for _, tc := range []struct {
		h       string
		ok      bool
		sampled bool
	}{
		{"00-" + tid + "-" + sid + "-01", true, true},
		{"00-" + tid + "-" + sid + "-00", true, false},
		{" 00-" + tid + "-" + sid + "-01 ", true, true},
		{"01-" + tid + "-" + sid + "-01-future", true, true},  // a later version may add fields
		{"00-" + tid + "-" + sid + "-01-extra", false, false}, // version 00 may not
		{"ff-" + tid + "-" + sid + "-01", false, false},
		{"00-" + strings.ToUpper(tid) + "-" + sid + "-01", false, false},
		{"00-" + strings.Repeat("0", 32) + "-" + sid + "-01", false, false},
		{"00-" + tid + "-" + strings.Repeat("0", 16) + "-01", false, false},
		{"00-" + tid + "-" + sid + "-0g", false, false},
		{"00_" + tid + "-" + sid + "-01", false, false},
		{"00-" + tid[:31] + "-" + sid + "-01", false, false},
		{"", false, false},
	} {
		traceID, parent, sampled, ok := ParseTraceparent(tc.h)
		if ok != tc.ok || ok && (traceID != tid || parent != sid || sampled != tc.sampled) {
			t.Errorf("ParseTraceparent(%q) = %q %q %v %v", tc.h, traceID, parent, sampled, ok)
		}
	}
}

func TestStartTrace(t *testing.T) {
	const h = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	child := StartTrace(h)
	if child.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || child.ParentSpanID != "00f067aa0ba902b7" || len(child.SpanID) != 16 || child.SpanID == child.ParentSpanID {
		t.Errorf("StartTrace(valid) = %+v", child)
	}
	if _, _, _, ok := ParseTraceparent(child.Traceparent()); !ok {
		t.Errorf("Traceparent() = %q does not parse", child.Traceparent())
	}
	for _, bad := range []string{"", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"} {
		fresh := StartTrace(bad)
		if len(fresh.TraceID) != 32 || fresh.ParentSpanID != "" || fresh.TraceID == "00000000000000000000000000000000" {
			t.Errorf("StartTrace(%q) = %+v, want a new trace", bad, fresh)
		}
	}
	if a, b := StartTrace(""), StartTrace(""); a.TraceID == b.TraceID {
		t.Error("two new traces share an id")
	}
}

// Every line logged for a request names its request, trace and span.
func TestLogHandlerAddsTrace(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(LogHandler(slog.NewTextHandler(&buf, nil)))
	info := &Info{ID: "rid", Trace: StartTrace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")}
	logger.InfoContext(With(context.Background(), info), "hello")
	for _, want := range []string{"request_id=rid", "trace_id=4bf92f3577b34da6a3ce929d0e0e4736", "span_id=" + info.Trace.SpanID} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log line %q lacks %s", buf.String(), want)
		}
	}
}

func FuzzParseTraceparent(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	f.Add("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x")
	f.Fuzz(func(t *testing.T, h string) {
		traceID, parent, _, ok := ParseTraceparent(h)
		if !ok {
			return
		}
		if len(traceID) != 32 || len(parent) != 16 || !lowerHex(traceID) || !lowerHex(parent) {
			t.Fatalf("ParseTraceparent(%q) accepted %q %q", h, traceID, parent)
		}
		// What is accepted is safe to log and to echo: hex only.
		if strings.ContainsAny(traceID+parent, "\r\n ") {
			t.Fatal("control characters accepted")
		}
	})
}
