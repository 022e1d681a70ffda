package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/mgmt"
)

func tokenRevokeCmd(e *env) *cobra.Command {
	var uti, principal, before, reason string
	c := &cobra.Command{Use: "revoke (--uti ID | --principal P [--before T])",
		Short: "Make tokens fail at every Lanyard resource from their next request",
		Long: "Revoke one token by its uti claim, or every token of a principal (client id, principal id,\n" +
			"identity or app resource id) issued before a time (default: now). The managed-identity\n" +
			"endpoint drops its cached copies, so apps get fresh tokens when they next ask.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (uti == "") == (principal == "") {
				return fmt.Errorf("give exactly one of --uti and --principal")
			}
			if before != "" && principal == "" {
				return fmt.Errorf("--before goes with --principal")
			}
			body := map[string]string{"uti": uti, "principal": principal, "reason": reason}
			if before != "" {
				t, err := audit.ParseTime(before, time.Now())
				if err != nil {
					return fmt.Errorf("--before: %w", err)
				}
				body["before"] = t.Format(time.RFC3339Nano)
			}
			api, err := e.api()
			if err != nil {
				return err
			}
			var out map[string]any
			if err := api.Do(cmd.Context(), "POST", mgmt.RevocationsPath, body, &out); err != nil {
				return err
			}
			return e.print(cols("Kind", "kind", "Uti", "uti", "PrincipalId", "principalId", "NotBefore", "notBefore", "ExpiresAt", "expiresAt"), out)
		}}
	c.Flags().StringVar(&uti, "uti", "", "the token's uti claim")
	c.Flags().StringVar(&principal, "principal", "", "client id, principal id, identity or app resource id")
	c.Flags().StringVar(&before, "before", "", "with --principal: revoke tokens issued before this time (RFC 3339 or a duration before now; default now)")
	c.Flags().StringVar(&reason, "reason", "", "why, for the audit trail")
	return c
}
