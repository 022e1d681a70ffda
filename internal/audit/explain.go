package audit

import (
	"fmt"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Explain says in words what e records and, for a decision, why: for a denial, the same
// explanation `lanyard role check` gives (the principal's closest assignments and what
// each lacks), as it stood when the request was decided.
func Explain(e Event) (string, error) {
	d, err := e.Detail()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "event %s (seq %d, %s) at %s, request %s\n", e.ID, e.Seq, e.Kind, e.Time.UTC().Format(time.RFC3339Nano), orNone(e.RequestID))
	switch d := d.(type) {
	case *TokenIssued:
		how := "minted"
		if d.Cached {
			how = "served from the cache"
		}
		fmt.Fprintf(&b, "token %s for %s was %s for principal %s (client %s)", d.TokenID, q(d.Resource), how, d.PrincipalID, d.ClientID)
		if d.App != "" {
			fmt.Fprintf(&b, " to app %s", q(d.App))
		}
		fmt.Fprintf(&b, " over the %s protocol", d.Protocol)
		if d.CallerAddress != "" {
			fmt.Fprintf(&b, " from %s", q(d.CallerAddress))
		}
		fmt.Fprintf(&b, "; it expires at %s", d.ExpiresAt.UTC().Format(time.RFC3339))
	case *TokenRefused:
		fmt.Fprintf(&b, "a token for %s", orNone(q(d.Resource)))
		if d.Identity != "" {
			fmt.Fprintf(&b, " (identity %s)", q(d.Identity))
		}
		fmt.Fprintf(&b, " was refused over the %s protocol with %d %s: %s", d.Protocol, d.Status, d.Code, q(d.Reason))
	case *Decision:
		fmt.Fprintf(&b, "%s %s", d.Service, d.Operation)
		if d.TokenID != "" {
			fmt.Fprintf(&b, " with token %s", d.TokenID)
		}
		b.WriteString(":\n")
		if d.Explanation == "" && d.Allowed {
			// Allowed decisions are recorded without prose, to keep the hot path cheap.
			fmt.Fprintf(&b, "allowed: principal %s may perform the %s at %s: role %q (%s) assigned at %s (assignment %s)",
				d.PrincipalID, d.Action, d.Scope, d.RoleName, d.RoleDefinitionID, d.AssignmentScope, d.AssignmentID)
			if d.ViaGroup != "" {
				fmt.Fprintf(&b, " to group %s", d.ViaGroup)
			}
		}
		b.WriteString(d.Explanation)
	case *Change:
		fmt.Fprintf(&b, "%s %s %s (%s, %d)", d.Caller, pastTense(d.Operation), q(d.ResourceID), d.Method, d.Status)
		if a := d.RoleAssign; a != nil {
			role := a.RoleName
			if role == "" {
				role = a.RoleDefinitionID
			}
			fmt.Fprintf(&b, ": role %q for principal %s at scope %s", role, a.PrincipalID, a.Scope)
		}
		if d.Enabled != nil {
			fmt.Fprintf(&b, ": enabled=%t", *d.Enabled)
		}
		if r := d.Revocation; r != nil {
			if r.TokenID != "" {
				fmt.Fprintf(&b, ": token %s revoked", r.TokenID)
			} else {
				fmt.Fprintf(&b, ": tokens of principal %s issued before %s revoked", r.PrincipalID, r.NotBefore.UTC().Format(time.RFC3339Nano))
			}
		}
	case *KeyRotation:
		fmt.Fprintf(&b, "%s rotated the signing key: %s replaces %s", d.Caller, d.KeyID, orNone(d.PreviousKeyID))
	case *PostgresLogin:
		verdict := "allowed"
		if !d.Allowed {
			verdict = "refused with " + d.Code + ": " + q(d.Reason)
		}
		fmt.Fprintf(&b, "PostgreSQL login as role %q to database %q of %s by principal %s (token %s) from %s: %s",
			q(d.Role), q(d.Database), d.ServerID, orNone(d.PrincipalID), orNone(d.TokenID), orNone(q(d.CallerAddress)), verdict)
	case *PostgresSessionEnd:
		by := "ended"
		if d.Forced {
			by = "ended by Lanyard"
		}
		fmt.Fprintf(&b, "PostgreSQL session of principal %s as role %q on database %q of %s, open since %s, %s: %s",
			d.PrincipalID, q(d.Role), q(d.Database), d.ServerID, d.Started.UTC().Format(time.RFC3339), by, q(d.Reason))
	}
	return b.String(), nil
}

func pastTense(op string) string {
	switch op {
	case "create":
		return "created"
	case "update":
		return "updated"
	case "delete":
		return "deleted"
	}
	return "performed an action on"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// q shows a value that came in a request (a resource, an identity selector, a caller's
// address) with control and format characters escaped, so it cannot forge a line of the
// explanation or act on the reader's terminal.
func q(s string) string { return lanyard.Printable(s) }
