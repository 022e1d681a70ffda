package config

import (
	"fmt"
	"strings"
	"testing"
)

func TestFederationTrustedCAFile(t *testing.T) {
	f, err := Parse([]byte(`{"federation": {"trustedCAFile": "/etc/lanyard/issuers.pem"}}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if c.TrustedCAFile != "/etc/lanyard/issuers.pem" {
		t.Errorf("TrustedCAFile = %q", c.TrustedCAFile)
	}
	if _, err := Parse([]byte(`{"federation": {"trustedCA": "x"}}`)); err == nil {
		t.Error("a misspelt federation key was accepted")
	}
}

func TestFederationAllowedIssuerNetworks(t *testing.T) {
	f, err := Parse([]byte(`{"federation": {"allowedIssuerNetworks": ["127.0.0.1", "10.1.0.0/16", "::1", "fd00::/8", "10.2.3.4/8"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.AllowedIssuerNetworks {
		got = append(got, p.String())
	}
	if want := "[127.0.0.1/32 10.1.0.0/16 ::1/128 fd00::/8 10.0.0.0/8]"; fmt.Sprint(got) != want {
		t.Errorf("AllowedIssuerNetworks = %v, want %s", got, want)
	}
	if c, err := (File{}).Resolve(); err != nil || len(c.AllowedIssuerNetworks) != 0 {
		t.Errorf("default = %v, %v; want none", c.AllowedIssuerNetworks, err)
	}
	for _, bad := range []string{`"localhost"`, `"10.0.0.0/33"`, `"::ffff:10.0.0.0/104"`, `"fe80::1%eth0"`, `""`, `"10.0.0.1/8/8"`} {
		f, err := Parse([]byte(`{"federation": {"allowedIssuerNetworks": [` + bad + `]}}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Resolve(); err == nil || !strings.Contains(err.Error(), "federation.allowedIssuerNetworks") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if _, err := Parse([]byte(`{"federation": {"allowedIssuerNetworks": "127.0.0.1/8"}}`)); err == nil {
		t.Error("a string in place of the list was accepted")
	}
}
