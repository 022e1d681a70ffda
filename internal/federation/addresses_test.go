package federation

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/token"
)

func TestAddressPolicy(t *testing.T) {
	refused := []string{
		"127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1", // loopback, also IPv4-mapped
		"10.0.0.1", "::ffff:10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", // private
		"100.64.0.1", "100.127.255.255", // CGNAT
		"169.254.169.254", "::ffff:169.254.169.254", "fe80::1", "fe80::1%eth0", // link-local, metadata services
		"fc00::1", "fd12:3456::1", // unique local
		"0.0.0.0", "::", "0.1.2.3", // unspecified, this network
		"224.0.0.1", "239.255.255.250", "ff02::1", // multicast
		"255.255.255.255", "240.0.0.1", // reserved, broadcast
		"64:ff9b::a00:1", // NAT64 of 10.0.0.1
	}
	allowed := []string{
		"8.8.8.8", "1.1.1.1", "140.82.112.3", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1",
		"192.169.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "2001:4860:4860::8888",
	}
	var none AddressPolicy
	for _, s := range refused {
		if err := none.Check(netip.MustParseAddr(s)); err == nil {
			t.Errorf("%s allowed by default", s)
		}
	}
	for _, s := range allowed {
		if err := none.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s refused: %v", s, err)
		}
	}
	if err := none.Check(netip.Addr{}); err == nil {
		t.Error("the zero address was allowed")
	}

	// An allowed network opens that network only; a mapped address is judged as IPv4.
	p := &AddressPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.1.0.0/16")}}
	for s, want := range map[string]bool{
		"127.0.0.1": true, "::ffff:127.0.0.1": true, "10.1.2.3": true, "::ffff:10.1.2.3": true,
		"127.0.0.2": false, "::1": false, "10.2.0.1": false, "192.168.0.1": false, "169.254.169.254": false,
	} {
		if got := p.Check(netip.MustParseAddr(s)) == nil; got != want {
			t.Errorf("with %v: %s allowed = %v, want %v", p.Allow, s, got, want)
		}
	}

	// Control sees the address dialled, after resolution.
	for addr, ok := range map[string]bool{"127.0.0.1:443": false, "[::ffff:127.0.0.1]:443": false, "[fe80::1%eth0]:443": false, "93.184.215.14:443": true, "not-an-address:443": false} {
		if got := none.Control("tcp", addr, nil) == nil; got != ok {
			t.Errorf("Control(%s) allowed = %v, want %v", addr, got, ok)
		}
	}
}

// Issuers are checked on write without resolving anything: https, no user information,
// and no literal address (or localhost) Lanyard would not contact.
func TestCheckIssuerOnWrite(t *testing.T) {
	var none AddressPolicy
	for _, iss := range []string{
		"http://issuer.example", "https://user:pw@issuer.example", "https://127.0.0.1:8443/tenant/", "https://[::1]/",
		"https://[::ffff:127.0.0.1]/", "https://[::ffff:10.0.0.1]/", "https://10.0.0.1", "https://169.254.169.254/metadata",
		"https://localhost:8443", "https://LOCALHOST", "https://api.localhost/", "https://[fe80::1%25eth0]/", "https://0.0.0.0/",
	} {
		if err := none.CheckIssuer(iss); err == nil || lanyard.KindOf(err) != lanyard.KindInvalid || lanyard.CodeOf(err) != "InvalidIssuer" {
			t.Errorf("CheckIssuer(%q) = %v, want InvalidIssuer", iss, err)
		}
	}
	// Names are judged when dialled: a name that resolves to loopback passes here.
	for _, iss := range []string{"https://token.actions.githubusercontent.com", "https://oidc.cluster.internal/", "https://8.8.8.8/x"} {
		if err := none.CheckIssuer(iss); err != nil {
			t.Errorf("CheckIssuer(%q) = %v", iss, err)
		}
	}
	p := &AddressPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	for _, iss := range []string{"https://127.0.0.1:8443/tenant/", "https://localhost", "https://[::ffff:127.0.0.1]/"} {
		if err := p.CheckIssuer(iss); err != nil {
			t.Errorf("allowed CheckIssuer(%q) = %v", iss, err)
		}
	}
}

// A credential naming a loopback issuer is refused on write unless the network is
// allowed; Lanyard's own issuer is always accepted.
func TestCredentialsRefusePrivateIssuers(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	const self = "https://127.0.0.1:10443/tenant/"
	w.creds.Addresses, w.creds.LocalIssuer = &AddressPolicy{}, self
	if _, _, err := w.creds.Put(ctx, "rg", "id1", "probe", Spec{Issuer: "https://169.254.169.254/", Subject: "s"}); lanyard.CodeOf(err) != "InvalidIssuer" {
		t.Errorf("metadata-service issuer: %v", err)
	}
	if _, err := w.creds.Get(ctx, "rg", "id1", "probe"); !lanyard.IsNotFound(err) {
		t.Errorf("the refused credential was stored: %v", err)
	}
	if _, _, err := w.creds.Put(ctx, "rg", "id1", "self", Spec{Issuer: self, Subject: "s"}); err != nil {
		t.Errorf("Lanyard's own issuer: %v", err)
	}
	w.creds.Addresses = &AddressPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("169.254.0.0/16")}}
	if _, _, err := w.creds.Put(ctx, "rg", "id1", "probe", Spec{Issuer: "https://169.254.169.254/", Subject: "s"}); err != nil {
		t.Errorf("allowed network: %v", err)
	}
}

// fakeLocal answers for Lanyard's own issuer with a fixed error.
type fakeLocal struct {
	issuer string
	err    error
	calls  int
}

func (f *fakeLocal) Issuer() string { return f.issuer }
func (f *fakeLocal) Authenticate(context.Context, string) error {
	f.calls++
	return f.err
}

type noKeys struct{ t *testing.T }

func (k noKeys) Keys(context.Context, string, bool) ([]jose.JSONWebKey, error) {
	k.t.Error("Lanyard's own issuer's keys were fetched")
	return nil, nil
}

// Assertions of Lanyard's own issuer are checked locally, never fetched, and what a
// resource would refuse is refused with the exchange's codes.
func TestValidateLocalIssuer(t *testing.T) {
	const self = "https://127.0.0.1:10443/tenant/"
	c := newClock()
	key := testRSAKey(0)
	raw := signWith(t, jose.RS256, key, "k", githubClaims(self, c.Now()))
	creds := []lanyard.FederatedCredential{credential("self", self, "repo:org/repo:ref:refs/heads/main")}
	unauth := func(code string) error {
		return lanyard.Errorf(lanyard.KindUnauthenticated, "from the resource path").WithCode(code)
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"revoked", unauth("InvalidAuthenticationInfo"), CodeAssertionRevoked},
		{"bad signature", unauth(token.CodeBadSignature), CodeBadSignature},
		{"unknown key", unauth(token.CodeUnknownKey), CodeUnknownKey},
		{"expired", unauth(token.CodeExpired), CodeExpired},
		{"store down", lanyard.Errorf(lanyard.KindUnavailable, "down"), ""},
		{"good", nil, ""},
	} {
		local := &fakeLocal{issuer: self, err: tc.err}
		v := &Validator{Keys: noKeys{t}, Local: local, Now: c.Now}
		_, err := v.Validate(t.Context(), creds, raw+"\n")
		switch {
		case tc.err == nil && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "":
			wantCode(t, tc.name, err, tc.want)
			if lanyard.MessageOf(err) == "from the resource path" {
				t.Errorf("%s: the resource's message was passed on", tc.name)
			}
		case tc.err != nil && lanyard.KindOf(err) != lanyard.KindOf(tc.err):
			t.Errorf("%s: %v, want kind %v", tc.name, err, lanyard.KindOf(tc.err))
		}
		if local.calls != 1 {
			t.Errorf("%s: %d local checks", tc.name, local.calls)
		}
	}
	// An expired assertion is refused before the local check, like any other.
	old := signWith(t, jose.RS256, key, "k", githubClaims(self, c.Now().Add(-2*time.Hour)))
	local := &fakeLocal{issuer: self}
	_, err := (&Validator{Keys: noKeys{t}, Local: local, Now: c.Now}).Validate(t.Context(), creds, old)
	wantCode(t, "expired", err, CodeExpired)
}
