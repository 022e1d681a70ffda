package rbac

import (
	"strings"
	"testing"
)

// A scope or action from a request cannot add a line to an explanation.
func TestExplanationEscapesRequestValues(t *testing.T) {
	forged := "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c/blobs/x\nallowed: everything\x1b[2K"
	for _, d := range []Decision{
		{Allowed: false, PrincipalID: "p", Action: "a/read\n", Scope: forged, Reason: "no assignment covers " + forged},
		{Allowed: true, PrincipalID: "p", Action: "a/read", Scope: forged},
	} {
		s := d.String()
		if strings.Count(s, "\n") != 0 || strings.ContainsRune(s, 0x1b) {
			t.Errorf("explanation carries raw control characters: %q", s)
		}
		if !strings.Contains(s, `\n`) || !strings.Contains(s, `\x1b`) {
			t.Errorf("escapes not visible: %q", s)
		}
	}
}
