package server

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	collector "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpCollector is an OTLP/HTTP trace receiver on loopback that keeps the spans it gets.
type otlpCollector struct {
	mu    sync.Mutex
	spans []collectedSpan
}

type collectedSpan struct{ name, traceID, spanID, parentID string }

func (c *otlpCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req collector.ExportTraceServiceRequest
	if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.spans = append(c.spans, collectedSpan{s.Name, hex.EncodeToString(s.TraceId), hex.EncodeToString(s.SpanId), hex.EncodeToString(s.ParentSpanId)})
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&collector.ExportTraceServiceResponse{})
	_, _ = w.Write(out)
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set, every listener's requests become spans exported
// over OTLP: a child of the caller's span when it sent a sampled traceparent, none when it
// sent an unsampled one, a new trace otherwise. Spans still queued at shutdown are sent.
func TestSpansExportedOverOTLP(t *testing.T) {
	c := &otlpCollector{}
	col := httptest.NewServer(c)
	defer col.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.URL)
	s, hc, admin, stop := startStoppableServer(t)
	st := s.State()
	const caller, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	get := func(url, traceparent string) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		if traceparent != "" {
			req.Header.Set("traceparent", traceparent)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	get(st.APIURL+"/subscriptions/"+st.SubscriptionID+"/resourceGroups?api-version=2023-01-31", "00-"+caller+"-"+callerSpan+"-01")
	get(st.MSIURL+"/msi/token?api-version=2019-08-01&resource=https://storage.azure.com", "00-"+caller+"-"+callerSpan+"-01")
	get(st.BlobURL+"/acct1", "00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-"+callerSpan+"-00") // not sampled: not exported
	get(st.APIURL+"/"+st.TenantID+"/v2.0/.well-known/openid-configuration", "")
	stop() // flushes the batch

	c.mu.Lock()
	defer c.mu.Unlock()
	var children, roots []string
	for _, sp := range c.spans {
		switch {
		case sp.traceID == caller && sp.parentID == callerSpan && sp.spanID != callerSpan && len(sp.spanID) == 16:
			children = append(children, sp.name)
		case sp.traceID == strings.Repeat("a", 32):
			t.Errorf("an unsampled request was exported: %+v", sp)
		case sp.parentID == "":
			roots = append(roots, sp.name)
		}
	}
	slices.Sort(children)
	if len(children) != 2 || !strings.HasPrefix(children[0], "mgmt ") || !strings.HasPrefix(children[1], "msi ") {
		t.Errorf("children of the caller's span: %v (all: %+v)", children, c.spans)
	}
	if len(roots) != 1 || !strings.HasPrefix(roots[0], "authority ") {
		t.Errorf("new traces: %v (all: %+v)", roots, c.spans)
	}
}
