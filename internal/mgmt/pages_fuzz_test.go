package mgmt

import (
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzParsePage: any $top and $skipToken a client sends is a page or a 400, never a panic,
// and a token Lanyard issued reads back as the key it carries.
func FuzzParsePage(f *testing.F) {
	f.Add("5", skipToken("roleAssignments", "0b1f6471-1bf0-4dda-aec3-111122223333"), "key")
	f.Add("", "Zm9v", "")
	f.Add("-1", "", "x\x00y")
	f.Fuzz(func(t *testing.T, top, token, key string) {
		q := url.Values{}
		if top != "" {
			q.Set("$top", top)
		}
		if token != "" {
			q.Set("$skipToken", token)
		}
		r := httptest.NewRequest("GET", "/x?"+q.Encode(), nil)
		p, err := parsePage(r, "roleAssignments")
		if err == nil && (p.top < 1 || p.top > maxPageSize || len(p.after) > maxTokenKey) {
			t.Fatalf("page %+v from $top=%q $skipToken=%q", p, top, token)
		}
		if key == "" || len(key) > maxTokenKey {
			return
		}
		q = url.Values{"$skipToken": {skipToken("roleAssignments", key)}}
		p, err = parsePage(httptest.NewRequest("GET", "/x?"+q.Encode(), nil), "roleAssignments")
		if err != nil || p.after != key {
			t.Fatalf("issued token for %q read back as %q, %v", key, p.after, err)
		}
	})
}
