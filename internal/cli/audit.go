package cli

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/lanyard-id/lanyard/internal/audit"
	"github.com/lanyard-id/lanyard/internal/client"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/mgmt"
)

var auditColumns = cols("Seq", "seq", "Id", "id", "Time", "time", "Kind", "kind", "Principal", "principalId", "Action", "action",
	"Decision", "decision", "Uti", "uti", "RequestId", "requestId")

func auditCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Query, verify and explain the audit trail"}
	cmd.AddCommand(auditListCmd(e), auditVerifyCmd(e), auditExplainCmd(e))
	return cmd
}

func auditListCmd(e *env) *cobra.Command {
	var (
		f            lanyard.AuditFilter
		since, until string
	)
	c := &cobra.Command{Use: "list", Short: "List audit events, oldest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			var err error
			if since != "" {
				if f.Since, err = audit.ParseTime(since, now); err != nil {
					return fmt.Errorf("--since: %w", err)
				}
			}
			if until != "" {
				if f.Until, err = audit.ParseTime(until, now); err != nil {
					return fmt.Errorf("--until: %w", err)
				}
			}
			if f.Limit < 1 {
				return fmt.Errorf("--limit must be at least 1")
			}
			api, err := e.api()
			if err != nil {
				return err
			}
			want := f.Limit
			f.Limit = min(want, audit.MaxLimit)
			path := mgmt.AuditEventsPath + "?" + audit.FilterQuery(f).Encode()
			events := []map[string]any{}
			err = api.Pages(cmd.Context(), path, func(page []map[string]any) bool {
				events = append(events, page...)
				return len(events) < want
			})
			if err != nil {
				return err
			}
			if len(events) > want {
				events = events[:want]
			}
			return e.print(auditColumns, events)
		}}
	fl := c.Flags()
	fl.StringVar(&f.Principal, "principal", "", "client id, principal id, identity or app resource id")
	fl.StringVar(&f.Action, "action", "", "action, data action or resource; * matches anything, e.g. '*/blobs/write'")
	fl.StringVar(&f.Decision, "decision", "", "allowed or denied")
	fl.StringVar(&f.Kind, "kind", "", "token.issued, token.refused, access.decision, management.change, key.rotated, postgres.login or postgres.session.ended")
	fl.StringVar(&f.TokenID, "uti", "", "only events about this token")
	fl.StringVar(&f.RequestID, "request-id", "", "only events of this request (the x-ms-request-id an SDK error prints)")
	fl.StringVar(&since, "since", "", "from this time: RFC 3339, or a duration before now such as 2h or 7d")
	fl.StringVar(&until, "until", "", "before this time: RFC 3339, or a duration before now")
	fl.IntVar(&f.Limit, "limit", 1000, "at most this many events")
	return c
}

func auditVerifyCmd(e *env) *cobra.Command {
	var file string
	c := &cobra.Command{Use: "verify", Short: "Check the audit trail's hash chain and name the first event that breaks it", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rep audit.Report
			if file != "" {
				f, err := os.Open(file)
				if err != nil {
					return fmt.Errorf("open %s: %w", file, err)
				}
				defer f.Close()
				if rep, err = audit.VerifyLines(f); err != nil {
					return err
				}
			} else {
				api, err := e.api()
				if err != nil {
					return err
				}
				if err := api.Do(cmd.Context(), "POST", mgmt.AuditEventsPath+"/verify", nil, &rep); err != nil {
					return err
				}
			}
			if e.output == "table" {
				if rep.OK {
					fmt.Fprintf(e.stdout, "The audit trail is intact: %d events checked (seq %d to %d).\n", rep.Checked, rep.FirstSeq, rep.LastSeq)
				}
			} else if err := e.print(nil, rep); err != nil {
				return err
			}
			if !rep.OK {
				return errors.New("the audit trail is broken: " + rep.Problem.Message)
			}
			return nil
		}}
	c.Flags().StringVar(&file, "file", "", "verify a JSON-lines copy of the trail (the audit sink's file) instead of the server's")
	return c
}

func auditExplainCmd(e *env) *cobra.Command {
	return &cobra.Command{Use: "explain ID", Short: "Say what an audit event records and, for a decision, why",
		Long: "Explain an audit event, named by its id (as audit list shows it) or by the request id an\n" +
			"SDK error prints (x-ms-request-id): then every event of that request is explained.",
		Args: cobra.ExactArgs(1),
		RunE: e.withAPI(func(cmd *cobra.Command, args []string, api *client.Client) error {
			explain := func(id string) (map[string]any, error) {
				var out map[string]any
				err := api.Do(cmd.Context(), "GET", mgmt.AuditEventsPath+"/"+url.PathEscape(id)+"/explain", nil, &out)
				return out, err
			}
			var outs []map[string]any
			out, err := explain(args[0])
			var ce *client.Error
			switch {
			case err == nil:
				outs = append(outs, out)
			case errors.As(err, &ce) && ce.Status == http.StatusNotFound:
				// Not an event id: perhaps a request id, which names the request's events.
				q := audit.FilterQuery(lanyard.AuditFilter{RequestID: args[0], Limit: 100})
				events, lerr := api.List(cmd.Context(), mgmt.AuditEventsPath+"?"+q.Encode())
				if lerr != nil {
					return lerr
				}
				if len(events) == 0 {
					return fmt.Errorf("no audit event has the id or request id %q", args[0])
				}
				for _, ev := range events {
					id, _ := ev["id"].(string)
					o, err := explain(id)
					if err != nil {
						return err
					}
					outs = append(outs, o)
				}
			default:
				return err
			}
			// Written for people: plain text unless another format is asked for by name.
			if f := cmd.Flag("output"); f != nil && f.Changed && e.output != "table" || e.query != "" {
				if len(outs) == 1 {
					return e.print(nil, outs[0])
				}
				return e.print(nil, outs)
			}
			for i, o := range outs {
				if i > 0 {
					fmt.Fprintln(e.stdout)
				}
				fmt.Fprintln(e.stdout, prose(o["explanation"]))
			}
			return nil
		})}
}
