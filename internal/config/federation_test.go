package config

import "testing"

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
