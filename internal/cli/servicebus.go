package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lanyard-id/lanyard/internal/client"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Service Bus, shaped like `az servicebus`: namespaces, and their queues, topics, topic
// subscriptions and subscription rules, with az's flag names.

const serviceBusType = "/providers/Microsoft.ServiceBus/namespaces"

var (
	sbNamespaceColumns    = cols("Name", "name", "ResourceGroup", "resourceGroup", "Location", "location", "Sku", "sku.name", "Endpoint", "serviceBusEndpoint")
	sbQueueColumns        = cols("Name", "name", "LockDuration", "lockDuration", "MaxDeliveryCount", "maxDeliveryCount", "RequiresSession", "requiresSession", "ActiveMessages", "countDetails.activeMessageCount")
	sbTopicColumns        = cols("Name", "name", "DefaultMessageTimeToLive", "defaultMessageTimeToLive", "MaxSizeInMegabytes", "maxSizeInMegabytes")
	sbSubscriptionColumns = cols("Name", "name", "LockDuration", "lockDuration", "MaxDeliveryCount", "maxDeliveryCount", "RequiresSession", "requiresSession", "ActiveMessages", "countDetails.activeMessageCount")
	sbRuleColumns         = cols("Name", "name", "FilterType", "filterType", "SqlExpression", "sqlFilter.sqlExpression", "Action", "action.sqlExpression")
)

func serviceBusCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "servicebus", Short: "Manage Service Bus namespaces, queues, topics, subscriptions and rules"}
	ns := &cobra.Command{Use: "namespace", Short: "Manage Service Bus namespaces"}
	namespaces := groupResource{noun: "Service Bus namespace", typePath: serviceBusType, columns: sbNamespaceColumns}
	ns.AddCommand(
		sbNamespaceCreateCmd(e),
		namespaces.verb(e, "show", "Show a Service Bus namespace", "GET"),
		namespaces.list(e, "List Service Bus namespaces"),
		namespaces.verb(e, "delete", "Delete a Service Bus namespace with its queues, topics and role assignments", "DELETE"),
	)
	queue := sbEntity{noun: "queue", collection: "queues", columns: sbQueueColumns}
	q := &cobra.Command{Use: "queue", Short: "Manage the queues of a Service Bus namespace"}
	q.AddCommand(queue.create(e, "Create a queue, or replace its settings", queueSettings), queue.update(e, queueSettings), queue.show(e), queue.list(e), queue.remove(e))
	topic := sbEntity{noun: "topic", collection: "topics", columns: sbTopicColumns}
	t := &cobra.Command{Use: "topic", Short: "Manage the topics of a Service Bus namespace"}
	subscription := sbEntity{noun: "subscription", topic: true, collection: "subscriptions", columns: sbSubscriptionColumns}
	sub := &cobra.Command{Use: "subscription", Short: "Manage the subscriptions of a topic"}
	rule := sbEntity{noun: "rule", topic: true, subscription: true, collection: "rules", columns: sbRuleColumns}
	r := &cobra.Command{Use: "rule", Short: "Manage the rules of a topic subscription"}
	r.AddCommand(rule.create(e, "Create a rule of a subscription, or replace it", ruleSettings), rule.show(e), rule.list(e), rule.remove(e))
	sub.AddCommand(subscription.create(e, "Create a subscription of a topic (with the $Default rule, which lets every message through), or replace its settings", subscriptionSettings),
		subscription.update(e, subscriptionSettings), subscription.show(e), subscription.list(e), subscription.remove(e), r)
	t.AddCommand(topic.create(e, "Create a topic, or replace its settings", topicSettings), topic.update(e, topicSettings), topic.show(e), topic.list(e), topic.remove(e), sub)
	cmd.AddCommand(ns, q, t)
	return cmd
}

func sbNamespaceCreateCmd(e *env) *cobra.Command {
	var (
		t                     target
		location, sku, listen string
	)
	c := &cobra.Command{Use: "create", Short: "Create a Service Bus namespace, or update its SKU", Args: cobra.NoArgs,
		Long: `Create a Service Bus namespace. Its name is unique across resource groups, as a
namespace's host name is on Azure: 6-50 letters, digits and hyphens, starting with a letter,
not ending with a hyphen, -sb or -mgmt.

Apps reach it over AMQP at its endpoint's host:port (the fully qualified namespace an SDK
takes, e.g. localhost:5671), which Lanyard serves with a certificate of its CA. --listen
chooses the address (by default 127.0.0.1:5671 if free, else a free loopback port).`,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			var out map[string]any
			body := map[string]any{"location": location, "sku": map[string]any{"name": sku, "tier": sku}}
			if listen != "" {
				body["properties"] = map[string]any{"listenAddress": listen}
			}
			if err := api.Do(cmd.Context(), "PUT", groupPath(api, t.group)+serviceBusType+"/"+escape(t.name), body, &out); err != nil {
				return err
			}
			return e.print(sbNamespaceColumns, flatten(out))
		})}
	t.flags(c, "namespace")
	c.Flags().StringVarP(&location, "location", "l", "", "location (default: the group's)")
	c.Flags().StringVar(&sku, "sku", "Standard", "Basic, Standard or Premium (a Basic namespace has no topics)")
	c.Flags().StringVar(&listen, "listen", "", "host:port its AMQP listener binds (default: 127.0.0.1:5671 if free, else a free loopback port)")
	return c
}

// sbEntity is one kind of entity below a namespace: where it lives (-g,
// --namespace-name, and --topic-name and --subscription-name for the kinds below a topic)
// and its collection's name in the path.
type sbEntity struct {
	noun                string
	topic, subscription bool // whether --topic-name and --subscription-name are needed
	collection          string
	columns             []column
}

// sbPlace is the values of an entity's path flags.
type sbPlace struct{ group, namespace, topic, subscription string }

func (k sbEntity) flags(c *cobra.Command, p *sbPlace) {
	c.Flags().StringVarP(&p.group, "resource-group", "g", "", "resource group")
	c.Flags().StringVar(&p.namespace, "namespace-name", "", "Service Bus namespace name")
	_ = c.MarkFlagRequired("resource-group")
	_ = c.MarkFlagRequired("namespace-name")
	if k.topic {
		c.Flags().StringVar(&p.topic, "topic-name", "", "topic name")
		_ = c.MarkFlagRequired("topic-name")
	}
	if k.subscription {
		c.Flags().StringVar(&p.subscription, "subscription-name", "", "subscription name")
		_ = c.MarkFlagRequired("subscription-name")
	}
}

// path is the entity collection's path.
func (k sbEntity) path(api *client.Client, p sbPlace) string {
	out := groupPath(api, p.group) + serviceBusType + "/" + escape(p.namespace)
	if k.topic {
		out += "/topics/" + escape(p.topic)
	}
	if k.subscription {
		out += "/subscriptions/" + escape(p.subscription)
	}
	return out + "/" + k.collection
}

// settingsFunc adds an entity's own flags to c and returns what builds the PUT's
// properties from those the user set.
type settingsFunc func(c *cobra.Command) func(fs *pflag.FlagSet) (map[string]any, error)

func (k sbEntity) create(e *env, short string, settings settingsFunc) *cobra.Command {
	var (
		p    sbPlace
		name string
	)
	c := &cobra.Command{Use: "create", Short: short, Args: cobra.NoArgs}
	k.flags(c, &p)
	c.Flags().StringVarP(&name, "name", "n", "", k.noun+" name")
	_ = c.MarkFlagRequired("name")
	props := settings(c)
	c.Long = short + "."
	if k.collection != "rules" {
		c.Long += ` Settings left out have Azure's defaults (lock duration PT1M, max
delivery count 10, messages that never expire); durations are ISO 8601, e.g. PT30S, PT1M,
P14D.`
	}
	c.RunE = e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
		body, err := props(cmd.Flags())
		if err != nil {
			return err
		}
		var out map[string]any
		if err := api.Do(cmd.Context(), "PUT", k.path(api, p)+"/"+escape(name), map[string]any{"properties": body}, &out); err != nil {
			return err
		}
		return e.print(k.columns, flatten(out))
	})
	return c
}

// update changes only the settings given, as az's update does: it reads the entity and
// puts it back with those settings changed (a PUT replaces every setting).
func (k sbEntity) update(e *env, settings settingsFunc) *cobra.Command {
	var (
		p    sbPlace
		name string
	)
	c := &cobra.Command{Use: "update", Short: "Change some settings of a " + k.noun + ", keeping the others", Args: cobra.NoArgs}
	k.flags(c, &p)
	c.Flags().StringVarP(&name, "name", "n", "", k.noun+" name")
	_ = c.MarkFlagRequired("name")
	props := settings(c)
	c.RunE = e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
		changed, err := props(cmd.Flags())
		if err != nil {
			return err
		}
		path := k.path(api, p) + "/" + escape(name)
		var cur map[string]any
		if err := api.Do(cmd.Context(), "GET", path, nil, &cur); err != nil {
			return err
		}
		body, _ := cur["properties"].(map[string]any)
		if body == nil {
			body = map[string]any{}
		}
		for key, v := range changed {
			body[key] = v
		}
		var out map[string]any
		if err := api.Do(cmd.Context(), "PUT", path, map[string]any{"properties": body}, &out); err != nil {
			return err
		}
		return e.print(k.columns, flatten(out))
	})
	return c
}

func (k sbEntity) show(e *env) *cobra.Command {
	var (
		p    sbPlace
		name string
	)
	c := &cobra.Command{Use: "show", Short: "Show a " + k.noun, Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			var out map[string]any
			if err := api.Do(cmd.Context(), "GET", k.path(api, p)+"/"+escape(name), nil, &out); err != nil {
				return err
			}
			return e.print(k.columns, flatten(out))
		})}
	k.flags(c, &p)
	c.Flags().StringVarP(&name, "name", "n", "", k.noun+" name")
	_ = c.MarkFlagRequired("name")
	return c
}

func (k sbEntity) list(e *env) *cobra.Command {
	var p sbPlace
	c := &cobra.Command{Use: "list", Short: "List " + k.collection, Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			items, err := api.List(cmd.Context(), k.path(api, p))
			if err != nil {
				return err
			}
			return e.print(k.columns, flattenAll(items))
		})}
	k.flags(c, &p)
	return c
}

func (k sbEntity) remove(e *env) *cobra.Command {
	var (
		p    sbPlace
		name string
	)
	short := "Delete a " + k.noun
	switch k.collection {
	case "topics":
		short += " with its subscriptions"
	case "subscriptions":
		short += " with its rules"
	}
	c := &cobra.Command{Use: "delete", Short: short, Args: cobra.NoArgs,
		RunE: e.withAPI(func(cmd *cobra.Command, _ []string, api *client.Client) error {
			return e.remove(cmd.Context(), api, k.noun, k.path(api, p)+"/"+escape(name))
		})}
	k.flags(c, &p)
	c.Flags().StringVarP(&name, "name", "n", "", k.noun+" name")
	_ = c.MarkFlagRequired("name")
	return c
}

// sbFlag is one setting's flag: its name, the property it sets, and its help.
type sbFlag struct{ flag, prop, help string }

// settingFlags adds durations (checked as ISO 8601 before any call), integers, booleans
// and strings, and returns what collects those the user set.
func settingFlags(c *cobra.Command, durations, ints, bools, strs []sbFlag) func(fs *pflag.FlagSet) (map[string]any, error) {
	for _, f := range durations {
		c.Flags().String(f.flag, "", f.help+" (ISO 8601, e.g. PT1M, P14D)")
	}
	for _, f := range ints {
		c.Flags().Int(f.flag, 0, f.help)
	}
	for _, f := range bools {
		c.Flags().Bool(f.flag, false, f.help)
	}
	for _, f := range strs {
		c.Flags().String(f.flag, "", f.help)
	}
	return func(fs *pflag.FlagSet) (map[string]any, error) {
		props := map[string]any{}
		for _, f := range durations {
			if fs.Changed(f.flag) {
				v, _ := fs.GetString(f.flag)
				if _, err := lanyard.ParseISODuration(v); err != nil {
					return nil, fmt.Errorf("--%s %q is not an ISO 8601 duration such as PT1M or P14D", f.flag, v)
				}
				props[f.prop] = v
			}
		}
		for _, f := range ints {
			if fs.Changed(f.flag) {
				props[f.prop], _ = fs.GetInt(f.flag)
			}
		}
		for _, f := range bools {
			if fs.Changed(f.flag) {
				props[f.prop], _ = fs.GetBool(f.flag)
			}
		}
		for _, f := range strs {
			if fs.Changed(f.flag) {
				props[f.prop], _ = fs.GetString(f.flag)
			}
		}
		return props, nil
	}
}

var (
	flagLockDuration = sbFlag{"lock-duration", "lockDuration", "how long a received message stays locked (PT5S to PT5M; default PT1M)"}
	flagTTL          = sbFlag{"default-message-time-to-live", "defaultMessageTimeToLive", "how long a message lives (default: forever)"}
	flagAutoDelete   = sbFlag{"auto-delete-on-idle", "autoDeleteOnIdle", "idle time after which the entity is deleted (at least PT5M; default: never)"}
	flagDupWindow    = sbFlag{"duplicate-detection-history-time-window", "duplicateDetectionHistoryTimeWindow", "how long message ids are remembered for duplicate detection (PT20S to P7D; default PT10M)"}
	flagMaxDelivery  = sbFlag{"max-delivery-count", "maxDeliveryCount", "deliveries before a message is dead-lettered (default 10)"}
	flagMaxSize      = sbFlag{"max-size", "maxSizeInMegabytes", "maximum size in megabytes: 1024, 2048, 3072, 4096 or 5120 (default 1024)"}
	flagSession      = sbFlag{"enable-session", "requiresSession", "require sessions (fixed at creation)"}
	flagDeadLetter   = sbFlag{"enable-dead-lettering-on-message-expiration", "deadLetteringOnMessageExpiration", "move expired messages to the dead-letter queue"}
	flagDuplicates   = sbFlag{"enable-duplicate-detection", "requiresDuplicateDetection", "detect duplicate message ids (fixed at creation)"}
	flagBatched      = sbFlag{"enable-batched-operations", "enableBatchedOperations", "batch server-side operations (default true)"}
	flagForward      = sbFlag{"forward-to", "forwardTo", "a queue or topic of the namespace to forward messages to (refused: Lanyard does not auto-forward yet)"}
	flagForwardDLQ   = sbFlag{"forward-dead-lettered-messages-to", "forwardDeadLetteredMessagesTo", "a queue or topic of the namespace to forward dead-lettered messages to (refused: Lanyard does not auto-forward yet)"}
)

func queueSettings(c *cobra.Command) func(fs *pflag.FlagSet) (map[string]any, error) {
	return settingFlags(c,
		[]sbFlag{flagLockDuration, flagTTL, flagAutoDelete, flagDupWindow},
		[]sbFlag{flagMaxDelivery, flagMaxSize},
		[]sbFlag{flagSession, flagDeadLetter, flagDuplicates, flagBatched},
		[]sbFlag{flagForward, flagForwardDLQ})
}

func topicSettings(c *cobra.Command) func(fs *pflag.FlagSet) (map[string]any, error) {
	return settingFlags(c,
		[]sbFlag{flagTTL, flagAutoDelete, flagDupWindow},
		[]sbFlag{flagMaxSize},
		[]sbFlag{flagDuplicates, flagBatched, {"enable-ordering", "supportOrdering", "keep messages in the order they were sent"}},
		nil)
}

func subscriptionSettings(c *cobra.Command) func(fs *pflag.FlagSet) (map[string]any, error) {
	return settingFlags(c,
		[]sbFlag{flagLockDuration, flagTTL, flagAutoDelete},
		[]sbFlag{flagMaxDelivery},
		[]sbFlag{flagSession, flagDeadLetter, flagBatched,
			{"dead-letter-on-filter-exceptions", "deadLetteringOnFilterEvaluationExceptions", "dead-letter messages whose filter evaluation fails (default true)"}},
		[]sbFlag{flagForward, flagForwardDLQ})
}

// ruleSettings builds a rule's filter (SQL, or correlation with the correlation flags)
// and its action.
func ruleSettings(c *cobra.Command) func(fs *pflag.FlagSet) (map[string]any, error) {
	correlation := []sbFlag{
		{"correlation-id", "correlationId", "match messages with this correlation id"},
		{"message-id", "messageId", "match messages with this message id"},
		{"to", "to", "match messages sent to this address"},
		{"reply-to", "replyTo", "match messages with this reply-to address"},
		{"label", "label", "match messages with this subject (label)"},
		{"session-id", "sessionId", "match messages of this session"},
		{"reply-to-session-id", "replyToSessionId", "match messages with this reply-to session id"},
		{"content-type", "contentType", "match messages with this content type"},
	}
	filterType := c.Flags().String("filter-type", "", "SqlFilter or CorrelationFilter (default: CorrelationFilter when a correlation flag is given, SqlFilter otherwise)")
	sqlExpr := c.Flags().String("filter-sql-expression", "", "the SQL filter, e.g. \"priority = 'high'\" (default 1=1, every message)")
	action := c.Flags().String("action-sql-expression", "", "an action run on the messages the filter lets through, e.g. \"SET priority = 'low'\"")
	corr := settingFlags(c, nil, nil, nil, correlation)
	return func(fs *pflag.FlagSet) (map[string]any, error) {
		cf, err := corr(fs)
		if err != nil {
			return nil, err
		}
		ft := *filterType
		if ft == "" {
			ft = "SqlFilter"
			if len(cf) > 0 {
				ft = "CorrelationFilter"
			}
		}
		props := map[string]any{"filterType": ft}
		switch ft {
		case "SqlFilter":
			if len(cf) > 0 {
				return nil, fmt.Errorf("the correlation flags need --filter-type CorrelationFilter")
			}
			expr := *sqlExpr
			if expr == "" {
				expr = "1=1"
			}
			props["sqlFilter"] = map[string]any{"sqlExpression": expr}
		case "CorrelationFilter":
			if *sqlExpr != "" {
				return nil, fmt.Errorf("--filter-sql-expression needs --filter-type SqlFilter")
			}
			props["correlationFilter"] = cf
		default:
			return nil, fmt.Errorf("--filter-type is SqlFilter or CorrelationFilter, not %q", ft)
		}
		if *action != "" {
			props["action"] = map[string]any{"sqlExpression": *action}
		}
		return props, nil
	}
}
