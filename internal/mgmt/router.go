package mgmt

import (
	"net/http"
	"strings"
)

// route is one ARM path pattern. Literal segments match case-insensitively, as ARM does;
// "{}" matches any one segment and is passed to the handler in order.
type route struct {
	pattern []string
	methods map[string]routeFunc
	// typ is the resource type whose read/write/delete actions RBAC checks for callers
	// other than the admin; "" makes the route admin-only.
	typ string
	// collection routes are authorized at the parent scope (the path up to the last name).
	collection bool
	// post is the action name checked for POST, e.g. listIdentityEnvironment.
	post string
	// filtered routes check no permission: any authenticated caller may call them, and the
	// handler answers only what the caller reaches (ARM's subscription list).
	filtered bool
	// checks are actions checked instead of typ's own, by method ("*": every method): for
	// extension resources whose permissions are their parent's, and for a POST that
	// changes nothing (checkNameAvailability).
	checks map[string]string
	// readOnly routes change nothing whatever their method: they record no change.
	readOnly bool
}

// routeFunc is a handler.Func that also takes the path's "{}" segments, in order.
type routeFunc func(w http.ResponseWriter, r *http.Request, args []string) error

func newRoute(pattern, typ string) *route {
	p := strings.Split(strings.Trim(pattern, "/"), "/")
	return &route{pattern: p, typ: typ, collection: p[len(p)-1] != "{}", methods: map[string]routeFunc{}}
}

func (rt *route) on(method string, fn routeFunc) *route {
	rt.methods[method] = fn
	return rt
}

// reachable makes rt a filtered route: see route.filtered.
func (rt *route) reachable() *route {
	rt.filtered = true
	return rt
}

// actions makes rt check read for GET and HEAD, write for PUT and PATCH, del for DELETE
// (those given).
func (rt *route) actions(read, write, del string) *route {
	for method, action := range map[string]string{http.MethodGet: read, http.MethodHead: read,
		http.MethodPut: write, http.MethodPatch: write, http.MethodDelete: del} {
		if action != "" {
			rt.check(method, action)
		}
	}
	return rt
}

// readsWith makes rt a read whatever its method, checked as action.
func (rt *route) readsWith(action string) *route {
	rt.readOnly = true
	return rt.check("*", action)
}

func (rt *route) check(method, action string) *route {
	if rt.checks == nil {
		rt.checks = map[string]string{}
	}
	rt.checks[method] = action
	return rt
}

func (rt *route) action(name string) *route {
	rt.post = name
	rt.collection = false
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

// permission returns the action RBAC must allow for method on this route, and the scope.
func (rt *route) permission(method string, segs []string) (action, scope string) {
	switch {
	case rt.checks[method] != "":
		action = rt.checks[method]
	case rt.checks["*"] != "":
		action = rt.checks["*"]
	case method == http.MethodGet || method == http.MethodHead:
		action = rt.typ + "/read"
	case method == http.MethodPut || method == http.MethodPatch:
		action = rt.typ + "/write"
	case method == http.MethodDelete:
		action = rt.typ + "/delete"
	default:
		action = rt.typ + "/" + rt.post + "/action"
	}
	n := len(segs)
	if rt.collection {
		// The parent scope: drop the collection's own segments after the last name.
		n = 0
		for i, p := range rt.pattern {
			if p == "{}" {
				n = i + 1
			}
		}
	} else if rt.post != "" {
		n-- // the action segment
	}
	return action, "/" + strings.Join(segs[:n], "/")
}

// existence serves HEAD from a route's GET, as ARM's CheckExistence operations expect it:
// 204 when the resource exists, the GET's error status (404) when it does not, no body.
func existence(get routeFunc) routeFunc {
	return func(w http.ResponseWriter, r *http.Request, args []string) error {
		return get(&existenceWriter{ResponseWriter: w}, r, args)
	}
}

type existenceWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *existenceWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	if code == http.StatusOK {
		code = http.StatusNoContent
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write discards the GET's body: a HEAD answer has none.
func (w *existenceWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}

// Route is one method and path the management API serves: "{}" stands for one segment,
// "{scope}" for any scope (role definitions and assignments are served under any).
type Route struct{ Method, Pattern string }

// Routes lists every method and path the API serves, HEAD where GET is, for checks that
// must cover all of them (the request ids every response carries).
func (h *Handler) Routes() []Route {
	var out []Route
	for _, rt := range h.table() {
		for method := range rt.methods {
			out = append(out, Route{method, "/" + strings.Join(rt.pattern, "/")})
			if method == http.MethodGet {
				out = append(out, Route{http.MethodHead, "/" + strings.Join(rt.pattern, "/")})
			}
		}
	}
	for _, rt := range h.extensionRoutes() {
		pattern := "{scope}/providers/" + authzNamespace + "/" + rt.kind
		if rt.item {
			pattern += "/{}"
		}
		for method := range rt.methods {
			out = append(out, Route{method, pattern})
		}
	}
	return out
}
