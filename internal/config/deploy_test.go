package config

import (
	"testing"
)

// The configuration shipped in deploy/ (used by the Dockerfile and the systemd unit) stays
// valid as the schema changes.
func TestDeployConfigLoads(t *testing.T) {
	c, err := Load("../../deploy/lanyard.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.Home != "/var/lib/lanyard" || c.APIAddr != "0.0.0.0:10443" || c.MSIAddr != "127.0.0.1:10080" || c.PublicHost != "lanyard.example.com" {
		t.Errorf("deploy/lanyard.json resolves to %+v", c)
	}
}
