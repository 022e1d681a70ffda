package mgmt

import (
	"encoding/base64"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Lists are paged as ARM pages them: {"value": [...], "nextLink": "<absolute URL>"}, the
// next page's URL being the request's own with a $skipToken, so that it keeps $filter and
// api-version and an ARM SDK pager can follow it as it is.
const (
	// maxPageSize bounds a page, and so the memory and body one list request costs: ARM's
	// page for role assignments and resources. $top asks for smaller pages.
	maxPageSize = 1000
	// maxTokenKey bounds the key a $skipToken carries; ids and names are far shorter.
	maxTokenKey = 2048
)

// pageRequest is where a page starts and how long it is.
type pageRequest struct {
	list  string // the list the token must have been issued for
	after string // the sort key of the previous page's last item; "" for the first page
	top   int
}

// queryValue returns the value of query parameter name, matched case-insensitively as
// ARM matches $top and $skipToken.
func queryValue(q url.Values, name string) (string, bool) {
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0], true
		}
	}
	return "", false
}

// parsePage reads $top and $skipToken for list. The token is the list's name and the key
// to continue after, base64url-encoded: opaque to clients, and checked, so one that was
// altered or belongs to another list is refused rather than silently restarting.
func parsePage(r *http.Request, list string) (pageRequest, error) {
	p := pageRequest{list: list, top: maxPageSize}
	q := r.URL.Query()
	if v, ok := queryValue(q, "$top"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, lanyard.Errorf(lanyard.KindInvalid, "The value '%s' of $top is not valid; give a whole number from 1 to %d.", clip(v), maxPageSize).WithCode("InvalidQueryParameterValue")
		}
		p.top = min(n, maxPageSize)
	}
	if v, ok := queryValue(q, "$skipToken"); ok {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		name, after, found := strings.Cut(string(raw), "\x00")
		if err != nil || !found || name != list || after == "" || len(after) > maxTokenKey {
			return p, lanyard.Errorf(lanyard.KindInvalid, "The $skipToken is not valid for this list; start again without it, or follow the nextLink of the previous page as it is.").WithCode("InvalidSkipToken")
		}
		p.after = after
	}
	return p, nil
}

func skipToken(list, after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(list + "\x00" + after))
}

// nextLink is the absolute URL of the page after the one that ends at key after.
func nextLink(r *http.Request, list, after string) string {
	q := r.URL.Query()
	for k := range q {
		if strings.EqualFold(k, "$skipToken") {
			delete(q, k)
		}
	}
	q.Set("$skipToken", skipToken(list, after))
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(q)) {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			// ARM writes $filter, $top and $skipToken with their dollar signs.
			b.WriteString(strings.ReplaceAll(url.QueryEscape(k), "%24", "$"))
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	return absoluteURL(r, b.String())
}

// absoluteURL is r's own URL, as the client reached it, with rawQuery for its query.
func absoluteURL(r *http.Request, rawQuery string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return (&url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: rawQuery}).String()
}

// writePage writes one page of a list; next is the key to continue after, "" on the last
// page.
func writePage[T any](w http.ResponseWriter, r *http.Request, p pageRequest, items []T, next string) {
	out := struct {
		Value    []T    `json:"value"`
		NextLink string `json:"nextLink,omitempty"`
	}{Value: items}
	if out.Value == nil {
		out.Value = []T{}
	}
	if next != "" {
		out.NextLink = nextLink(r, p.list, next)
	}
	writeJSON(w, http.StatusOK, out)
}

// storePage reads the page p asks for of a list the store pages itself, in bounded memory:
// one item more than the page tells whether another follows, with no empty last page. It
// returns the key the next page starts after ("" when none follows).
func storePage[T any](p pageRequest, key func(T) string, read func(after string, limit int) ([]T, error)) ([]T, string, error) {
	items, err := read(p.after, p.top+1)
	if err != nil || len(items) <= p.top {
		return items, "", err
	}
	items = items[:p.top]
	return items, key(items[len(items)-1]), nil
}

// pageOf returns the page p asks for of a list the store returns whole, and the key the
// next page starts after ("" when none follows). That bounds the body and the rendering,
// not the read, so it serves the collections that stay small (the role definitions, an
// identity's federated credentials, the revocations). Pages are by key, lowercased, rather
// than by offset, so an item created or deleted between pages makes no other item repeat
// or go missing.
func pageOf[T any](items []T, key func(T) string, p pageRequest) ([]T, string) {
	lower := func(t T) string { return strings.ToLower(key(t)) }
	slices.SortStableFunc(items, func(a, b T) int { return strings.Compare(lower(a), lower(b)) })
	after := strings.ToLower(p.after)
	start := 0
	if after != "" {
		start = sort.Search(len(items), func(i int) bool { return lower(items[i]) > after })
	}
	items = items[start:]
	if len(items) <= p.top {
		return items, ""
	}
	return items[:p.top], lower(items[p.top-1])
}
