package blobapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// CORS, per the account's rules (Set Blob Service Properties): preflight requests are
// answered without authentication, as in Azure, and a request whose Origin a rule allows
// gets the Access-Control headers on its answer, success or error.

// corsMatch returns the first rule allowing origin to use method with headers (the
// request's, for a preflight), and the Allow-Origin value it grants.
func corsMatch(rules []lanyard.CORSRule, origin, method string, headers []string) (lanyard.CORSRule, string, bool) {
	for _, rule := range rules {
		allowOrigin := ""
		for _, o := range rule.AllowedOrigins {
			if o == "*" {
				allowOrigin = "*"
				break
			}
			if strings.EqualFold(o, origin) || wildcardOrigin(o, origin) {
				allowOrigin = origin
			}
		}
		if allowOrigin == "" || !slices.Contains(rule.AllowedMethods, strings.ToUpper(method)) {
			continue
		}
		if !allHeadersAllowed(rule.AllowedHeaders, headers) {
			continue
		}
		return rule, allowOrigin, true
	}
	return lanyard.CORSRule{}, "", false
}

// wildcardOrigin reports whether origin matches an allowed origin with a '*' standing for
// one or more subdomain labels, as in Azure's "http://*.contoso.com".
func wildcardOrigin(allowed, origin string) bool {
	before, after, ok := strings.Cut(allowed, "*")
	return ok && len(origin) > len(before)+len(after) &&
		strings.EqualFold(origin[:len(before)], before) && strings.EqualFold(origin[len(origin)-len(after):], after)
}

// allHeadersAllowed reports whether each header is allowed: by name, by a prefix ending
// in *, or by *.
func allHeadersAllowed(allowed, headers []string) bool {
	for _, h := range headers {
		ok := false
		for _, a := range allowed {
			if a == "*" || strings.EqualFold(a, h) ||
				strings.HasSuffix(a, "*") && len(h) >= len(a)-1 && strings.EqualFold(h[:len(a)-1], a[:len(a)-1]) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// preflight answers a CORS preflight request (OPTIONS) for account.
func (h *Handler) preflight(w http.ResponseWriter, r *http.Request, account string) error {
	origin := r.Header.Get("Origin")
	method := r.Header.Get("Access-Control-Request-Method")
	if origin == "" || method == "" {
		// Azure's own answer, not MissingRequiredHeader.
		return &apiError{status: http.StatusBadRequest, code: "InvalidHeaderValue",
			message: "A required CORS header is not present."}
	}
	var rules []lanyard.CORSRule
	if h.Settings != nil {
		var err error
		if rules, err = h.Settings.BlobCORS(r.Context(), account); err != nil {
			return err
		}
	}
	requested := splitList(r.Header.Get("Access-Control-Request-Headers"))
	rule, allowOrigin, ok := corsMatch(rules, origin, method, requested)
	if !ok {
		return &apiError{status: http.StatusForbidden, code: "CorsPreflightFailure",
			message: "CORS not enabled or no matching rule found for this request."}
	}
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Origin", allowOrigin)
	hdr.Set("Access-Control-Allow-Methods", strings.ToUpper(method))
	if len(requested) > 0 {
		hdr.Set("Access-Control-Allow-Headers", strings.Join(requested, ","))
	}
	hdr.Set("Access-Control-Max-Age", strconv.Itoa(rule.MaxAgeSeconds))
	if allowOrigin != "*" {
		hdr.Set("Access-Control-Allow-Credentials", "true")
	}
	hdr.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// setCORS sets the Access-Control headers of a request with an Origin that a rule of
// account allows, and Vary: Origin when the answer depends on the Origin (a rule allowing
// that origin only, or no rule allowing it), as Azure does; it sets nothing without an
// Origin, without rules, or when the rules cannot be read (the browser then refuses the
// answer, which is the safe side).
func (h *Handler) setCORS(w http.ResponseWriter, r *http.Request, account string) {
	origin := r.Header.Get("Origin")
	if origin == "" || h.Settings == nil {
		return
	}
	rules, err := h.Settings.BlobCORS(r.Context(), account)
	if err != nil || len(rules) == 0 {
		return
	}
	hdr := w.Header()
	rule, allowOrigin, ok := corsMatch(rules, origin, r.Method, nil)
	if !ok {
		hdr.Add("Vary", "Origin")
		return
	}
	hdr.Set("Access-Control-Allow-Origin", allowOrigin)
	if len(rule.ExposedHeaders) > 0 {
		hdr.Set("Access-Control-Expose-Headers", strings.Join(rule.ExposedHeaders, ","))
	}
	if allowOrigin != "*" {
		hdr.Set("Access-Control-Allow-Credentials", "true")
		hdr.Add("Vary", "Origin")
	}
}
