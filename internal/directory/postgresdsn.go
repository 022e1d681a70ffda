package directory

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// maxUpstreamLength bounds an upstream connection string.
const maxUpstreamLength = 2048

// upstreamDSN is an upstream connection string split from its secret.
type upstreamDSN struct {
	withoutSecret string // the string as given, less its password
	user          string
	password      string // "" when none
}

func invalidUpstream(why string) error {
	return lanyard.Errorf(lanyard.KindInvalid, "The upstream connection string is invalid: %s.", why).WithCode("InvalidParameter")
}

// splitUpstream parses a libpq connection string, a URL (postgres:// or postgresql://) or
// keyword/value pairs, and takes its password out, so that only the rest is ever stored
// in the clear or shown. It parses what libpq does for the parts it needs (user and
// password) and keeps the rest as written; the front end's driver parses it fully.
func splitUpstream(s string) (upstreamDSN, error) {
	switch {
	case s == "":
		return upstreamDSN{}, invalidUpstream("it is empty")
	case len(s) > maxUpstreamLength:
		return upstreamDSN{}, invalidUpstream("it is longer than 2048 bytes")
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return upstreamDSN{}, invalidUpstream("it is not UTF-8 text")
	}
	var (
		d   upstreamDSN
		err error
	)
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		d, err = splitURL(s)
	} else {
		d, err = splitKeywords(s)
	}
	if err != nil {
		return d, err
	}
	if d.user == "" {
		return d, invalidUpstream("it names no user (the administrator login Lanyard creates roles with)")
	}
	return d, nil
}

func splitURL(s string) (upstreamDSN, error) {
	u, err := url.Parse(s)
	if err != nil {
		return upstreamDSN{}, invalidUpstream("it is not a URL")
	}
	if u.Opaque != "" || u.Fragment != "" {
		return upstreamDSN{}, invalidUpstream("it is not a postgres:// URL")
	}
	var d upstreamDSN
	if u.User != nil {
		d.user = u.User.Username()
		d.password, _ = u.User.Password()
		u.User = url.User(d.user)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return upstreamDSN{}, invalidUpstream("its query is malformed")
	}
	if q.Has("user") {
		d.user = q.Get("user")
	}
	if q.Has("password") {
		d.password = q.Get("password")
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	d.withoutSecret = u.String()
	return d, nil
}

// splitKeywords parses "key=value key='quoted \' value'" as libpq does.
func splitKeywords(s string) (upstreamDSN, error) {
	var (
		d    upstreamDSN
		kept []string
	)
	for rest := strings.TrimLeft(s, " \t\n\r\f\v"); rest != ""; rest = strings.TrimLeft(rest, " \t\n\r\f\v") {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return d, invalidUpstream("expected key=value")
		}
		k := strings.TrimSpace(rest[:eq])
		if k == "" || strings.ContainsAny(k, " \t\n\r\f\v'\\") {
			return d, invalidUpstream("a key is malformed")
		}
		rest = strings.TrimLeft(rest[eq+1:], " \t\n\r\f\v")
		var v strings.Builder
		if strings.HasPrefix(rest, "'") {
			i, closed := 1, false
			for ; i < len(rest); i++ {
				c := rest[i]
				if c == '\\' && i+1 < len(rest) {
					i++
					v.WriteByte(rest[i])
					continue
				}
				if c == '\'' {
					closed = true
					break
				}
				v.WriteByte(c)
			}
			if !closed {
				return d, invalidUpstream("a quoted value is not closed")
			}
			rest = rest[i+1:]
		} else {
			end := strings.IndexAny(rest, " \t\n\r\f\v")
			if end < 0 {
				end = len(rest)
			}
			raw := rest[:end]
			for i := 0; i < len(raw); i++ {
				if raw[i] == '\\' && i+1 < len(raw) {
					i++
				}
				v.WriteByte(raw[i])
			}
			rest = rest[end:]
		}
		switch k {
		case "password":
			d.password = v.String()
			continue
		case "user":
			d.user = v.String()
		}
		kept = append(kept, k+"="+quoteKeyword(v.String()))
	}
	d.withoutSecret = strings.Join(kept, " ")
	return d, nil
}

// quoteKeyword writes v as a libpq keyword value.
func quoteKeyword(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n\r\f\v'\\") {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}
