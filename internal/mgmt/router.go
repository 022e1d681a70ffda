package mgmt

import (
	"net/http"
	"strings"
)

// route is one ARM path pattern. Literal segments match case-insensitively, as ARM does;
// "{}" matches any one segment and is passed to the handler in order.
type route struct {
	pattern []string
	methods map[string]func(w http.ResponseWriter, r *http.Request, args []string)
}

func newRoute(pattern string) *route {
	return &route{pattern: strings.Split(strings.Trim(pattern, "/"), "/"), methods: map[string]func(http.ResponseWriter, *http.Request, []string){}}
}

func (rt *route) on(method string, fn func(w http.ResponseWriter, r *http.Request, args []string)) *route {
	rt.methods[method] = fn
	return rt
}

func (rt *route) match(segs []string) ([]string, bool) {
	if len(segs) != len(rt.pattern) {
		return nil, false
	}
	var args []string
	for i, p := range rt.pattern {
		switch {
		case p == "{}":
			if segs[i] == "" {
				return nil, false
			}
			args = append(args, segs[i])
		case !strings.EqualFold(p, segs[i]):
			return nil, false
		}
	}
	return args, true
}
