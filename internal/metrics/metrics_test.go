package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lanyard-id/lanyard/internal/msi"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestTokenCacheMetrics(t *testing.T) {
	m := New()
	st := msi.CacheStats{Entries: 3, Bytes: 4096}
	m.WatchTokenCache(func() msi.CacheStats { return st })
	body := scrape(t, m)
	for _, want := range []string{"lanyard_msi_token_cache_bytes 4096", "lanyard_msi_token_cache_entries 3", "lanyard_msi_token_cache_overflow_total 0"} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	st.Overflow, st.Evicted = 2, 1
	body = scrape(t, m)
	for _, want := range []string{"lanyard_msi_token_cache_overflow_total 2", "lanyard_msi_token_cache_evictions_total 1"} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("after overflow, metrics lack %q", want)
		}
	}
}
