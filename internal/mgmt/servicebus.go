package mgmt

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Microsoft.ServiceBus/namespaces and its queues, topics, subscriptions and rules, as the
// 2021-11-01 REST spec shapes them (later versions add to it).

// The types Service Bus answers with: ARM's provider, with the capitals Azure writes.
const (
	sbNamespaceWireType    = "Microsoft.ServiceBus/Namespaces"
	sbQueueWireType        = sbNamespaceWireType + "/Queues"
	sbTopicWireType        = sbNamespaceWireType + "/Topics"
	sbSubscriptionWireType = sbTopicWireType + "/Subscriptions"
	sbRuleWireType         = sbSubscriptionWireType + "/Rules"
)

// EntityCounts tells the message counts of queues and subscriptions: the messaging side
// implements it. Path is a queue's name or topic/Subscriptions/subscription.
type EntityCounts interface {
	EntityCounts(ctx context.Context, namespace, path string) (lanyard.ServiceBusCounts, error)
}

// ServiceBusEndpoint is where a namespace's clients connect, in Azure's shape
// (https://{host}/): its host:port is what the SDKs take as the fully qualified namespace.
// A loopback address is given as localhost, the name the namespace's certificate holds.
func ServiceBusEndpoint(n lanyard.ServiceBusNamespace) string {
	host, port, err := net.SplitHostPort(n.Listen)
	if err != nil {
		return "https://" + n.Listen + "/"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		host = "localhost"
	}
	return "https://" + net.JoinHostPort(host, port) + "/"
}

// serviceBus returns the Service Bus service, or 503 on a server built without it.
func (h *Handler) serviceBus() (*directory.ServiceBus, error) {
	if h.ServiceBus == nil {
		return nil, lanyard.Errorf(lanyard.KindUnavailable, "This server does not serve Service Bus.").WithCode("ServiceUnavailable")
	}
	return h.ServiceBus, nil
}

func (h *Handler) counts(ctx context.Context, ns, path string) (lanyard.ServiceBusCounts, error) {
	if h.ServiceBusCounts == nil {
		return lanyard.ServiceBusCounts{}, nil
	}
	return h.ServiceBusCounts.EntityCounts(ctx, ns, path)
}

// neverAccessed is what Azure answers for accessedAt until the messaging side tracks it.
var neverAccessed = time.Time{}

type sbSKU struct {
	Name string `json:"name"`
	Tier string `json:"tier"`
}

type sbNamespaceJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	SKU        sbSKU             `json:"sku"`
	Properties struct {
		ProvisioningState   string    `json:"provisioningState"`
		Status              string    `json:"status"`
		CreatedAt           time.Time `json:"createdAt"`
		UpdatedAt           time.Time `json:"updatedAt"`
		ServiceBusEndpoint  string    `json:"serviceBusEndpoint"`
		ListenAddress       string    `json:"listenAddress"` // Lanyard's: where its AMQP listener binds
		MetricID            string    `json:"metricId"`
		ZoneRedundant       bool      `json:"zoneRedundant"`
		DisableLocalAuth    bool      `json:"disableLocalAuth"`
		MinimumTLSVersion   string    `json:"minimumTlsVersion"`
		PublicNetworkAccess string    `json:"publicNetworkAccess"`
	} `json:"properties"`
}

func (h *Handler) sbNamespace(n lanyard.ServiceBusNamespace) sbNamespaceJSON {
	out := sbNamespaceJSON{ID: n.ResourceID, Name: n.Name, Type: sbNamespaceWireType, Location: n.Location, Tags: tagsOrEmpty(n.Tags), SKU: sbSKU{n.SKU, n.SKU}}
	p := &out.Properties
	p.ProvisioningState, p.Status, p.CreatedAt, p.UpdatedAt = "Succeeded", "Active", n.CreatedAt, n.UpdatedAt
	p.ServiceBusEndpoint, p.ListenAddress = ServiceBusEndpoint(n), n.Listen
	p.MetricID = h.subscription() + ":" + strings.ToLower(n.Name)
	// Lanyard has no SAS keys: Microsoft Entra tokens are the only way in.
	p.DisableLocalAuth, p.MinimumTLSVersion, p.PublicNetworkAccess = true, "1.2", "Enabled"
	return out
}

func (h *Handler) listSBNamespaces(w http.ResponseWriter, r *http.Request, args []string) error {
	sb, err := h.serviceBus()
	if err != nil {
		return err
	}
	group := ""
	if len(args) > 1 {
		group = args[1]
	}
	p, err := parsePage(r, "namespaces")
	if err != nil {
		return err
	}
	ns, next, err := storePage(p, func(n lanyard.ServiceBusNamespace) string { return n.Name }, func(after string, limit int) ([]lanyard.ServiceBusNamespace, error) {
		return sb.ListNamespacesPage(r.Context(), group, after, limit)
	})
	if err != nil {
		return err
	}
	writePage(w, r, p, views(ns, h.sbNamespace), next)
	return nil
}

func (h *Handler) putSBNamespace(w http.ResponseWriter, r *http.Request, args []string) error {
	sb, err := h.serviceBus()
	if err != nil {
		return err
	}
	var body struct {
		Location string            `json:"location"`
		Tags     map[string]string `json:"tags"`
		SKU      *struct {
			Name string `json:"name"`
		} `json:"sku"`
		Properties struct {
			ListenAddress string `json:"listenAddress"`
		} `json:"properties"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	spec := directory.ServiceBusNamespaceSpec{Location: body.Location, Tags: body.Tags, Listen: body.Properties.ListenAddress}
	if body.SKU != nil {
		spec.SKU = body.SKU.Name
	}
	n, created, err := sb.PutNamespace(r.Context(), args[1], args[2], spec)
	// The spec allows 200, 201 and 202 (long-running); the namespace is ready at once.
	return h.reply(w, createdStatus(created), h.sbNamespace(n), err)
}

// patchSBNamespace changes the tags (and SKU) of an existing namespace; it never creates one.
func (h *Handler) patchSBNamespace(w http.ResponseWriter, r *http.Request, args []string) error {
	sb, err := h.serviceBus()
	if err != nil {
		return err
	}
	var body struct {
		Tags map[string]string `json:"tags"`
		SKU  *struct {
			Name string `json:"name"`
		} `json:"sku"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	n, err := sb.GetNamespace(r.Context(), args[1], args[2])
	if err == nil {
		spec := directory.ServiceBusNamespaceSpec{Tags: body.Tags}
		if body.SKU != nil {
			spec.SKU = body.SKU.Name
		}
		n, _, err = sb.PutNamespace(r.Context(), n.ResourceGroup, n.Name, spec)
	}
	return h.reply(w, http.StatusOK, h.sbNamespace(n), err)
}

func (h *Handler) getSBNamespace(w http.ResponseWriter, r *http.Request, args []string) error {
	sb, err := h.serviceBus()
	if err != nil {
		return err
	}
	n, err := sb.GetNamespace(r.Context(), args[1], args[2])
	return h.reply(w, http.StatusOK, h.sbNamespace(n), err)
}

func (h *Handler) deleteSBNamespace(w http.ResponseWriter, r *http.Request, args []string) error {
	sb, err := h.serviceBus()
	if err == nil {
		err = sb.DeleteNamespace(r.Context(), args[1], args[2])
	}
	return deleted(w, err)
}

// checkSBNamespaceName answers Namespaces_CheckNameAvailability.
func (h *Handler) checkSBNamespaceName(w http.ResponseWriter, r *http.Request, _ []string) error {
	sb, err := h.serviceBus()
	if err != nil {
		return err
	}
	var body struct {
		Name string `json:"name"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	n, err := sb.CheckNamespaceName(r.Context(), body.Name)
	out := struct {
		NameAvailable bool   `json:"nameAvailable"`
		Reason        string `json:"reason"`
		Message       string `json:"message,omitempty"`
	}{n.Available, n.Reason, n.Message}
	return h.reply(w, http.StatusOK, out, err)
}

// Entities' wire forms. Durations are ISO 8601, as Azure writes them.

type sbCountDetails struct {
	ActiveMessageCount             int64 `json:"activeMessageCount"`
	DeadLetterMessageCount         int64 `json:"deadLetterMessageCount"`
	ScheduledMessageCount          int64 `json:"scheduledMessageCount"`
	TransferMessageCount           int64 `json:"transferMessageCount"`
	TransferDeadLetterMessageCount int64 `json:"transferDeadLetterMessageCount"`
}

func countDetails(c lanyard.ServiceBusCounts) sbCountDetails {
	return sbCountDetails{c.Active, c.DeadLetter, c.Scheduled, c.Transfer, c.TransferDeadLetter}
}

type sbEntityJSON[P any] struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties P      `json:"properties"`
}

type sbQueueProps struct {
	LockDuration                        string         `json:"lockDuration"`
	MaxSizeInMegabytes                  int            `json:"maxSizeInMegabytes"`
	MaxMessageSizeInKilobytes           int            `json:"maxMessageSizeInKilobytes"`
	RequiresDuplicateDetection          bool           `json:"requiresDuplicateDetection"`
	RequiresSession                     bool           `json:"requiresSession"`
	DefaultMessageTimeToLive            string         `json:"defaultMessageTimeToLive"`
	DeadLetteringOnMessageExpiration    bool           `json:"deadLetteringOnMessageExpiration"`
	DuplicateDetectionHistoryTimeWindow string         `json:"duplicateDetectionHistoryTimeWindow"`
	MaxDeliveryCount                    int            `json:"maxDeliveryCount"`
	Status                              string         `json:"status"`
	EnableBatchedOperations             bool           `json:"enableBatchedOperations"`
	AutoDeleteOnIdle                    string         `json:"autoDeleteOnIdle"`
	EnablePartitioning                  bool           `json:"enablePartitioning"`
	EnableExpress                       bool           `json:"enableExpress"`
	ForwardTo                           string         `json:"forwardTo,omitempty"`
	ForwardDeadLetteredMessagesTo       string         `json:"forwardDeadLetteredMessagesTo,omitempty"`
	CreatedAt                           time.Time      `json:"createdAt"`
	UpdatedAt                           time.Time      `json:"updatedAt"`
	AccessedAt                          time.Time      `json:"accessedAt"`
	SizeInBytes                         int64          `json:"sizeInBytes"`
	MessageCount                        int64          `json:"messageCount"`
	CountDetails                        sbCountDetails `json:"countDetails"`
}

// maxMessageSizeKB is what a Standard namespace takes per message.
const maxMessageSizeKB = 256

func (h *Handler) sbQueue(n lanyard.ServiceBusNamespace, q lanyard.ServiceBusQueue, c lanyard.ServiceBusCounts) sbEntityJSON[sbQueueProps] {
	iso := lanyard.FormatISODuration
	return sbEntityJSON[sbQueueProps]{ID: n.ResourceID + "/queues/" + q.Name, Name: q.Name, Type: sbQueueWireType, Properties: sbQueueProps{
		LockDuration: iso(q.LockDuration), MaxSizeInMegabytes: q.MaxSizeInMegabytes, MaxMessageSizeInKilobytes: maxMessageSizeKB,
		RequiresDuplicateDetection: q.RequiresDuplicateDetection, RequiresSession: q.RequiresSession,
		DefaultMessageTimeToLive: iso(q.DefaultMessageTimeToLive), DeadLetteringOnMessageExpiration: q.DeadLetteringOnMessageExpiration,
		DuplicateDetectionHistoryTimeWindow: iso(q.DuplicateDetectionHistoryTimeWindow), MaxDeliveryCount: q.MaxDeliveryCount,
		Status: "Active", EnableBatchedOperations: q.EnableBatchedOperations, AutoDeleteOnIdle: iso(q.AutoDeleteOnIdle),
		ForwardTo: q.ForwardTo, ForwardDeadLetteredMessagesTo: q.ForwardDeadLetteredMessagesTo,
		CreatedAt: q.CreatedAt, UpdatedAt: q.UpdatedAt, AccessedAt: neverAccessed,
		SizeInBytes: c.SizeInBytes, MessageCount: c.Active + c.DeadLetter + c.Scheduled + c.Transfer + c.TransferDeadLetter,
		CountDetails: countDetails(c),
	}}
}

// sbSettings is what a PUT of a queue, topic or subscription may say; absent settings
// take Azure's defaults (a PUT replaces the entity, as on Azure).
type sbSettings struct {
	LockDuration                              *string `json:"lockDuration"`
	MaxSizeInMegabytes                        *int    `json:"maxSizeInMegabytes"`
	RequiresDuplicateDetection                *bool   `json:"requiresDuplicateDetection"`
	RequiresSession                           *bool   `json:"requiresSession"`
	DefaultMessageTimeToLive                  *string `json:"defaultMessageTimeToLive"`
	DeadLetteringOnMessageExpiration          *bool   `json:"deadLetteringOnMessageExpiration"`
	DeadLetteringOnFilterEvaluationExceptions *bool   `json:"deadLetteringOnFilterEvaluationExceptions"`
	DuplicateDetectionHistoryTimeWindow       *string `json:"duplicateDetectionHistoryTimeWindow"`
	MaxDeliveryCount                          *int    `json:"maxDeliveryCount"`
	EnableBatchedOperations                   *bool   `json:"enableBatchedOperations"`
	AutoDeleteOnIdle                          *string `json:"autoDeleteOnIdle"`
	EnablePartitioning                        *bool   `json:"enablePartitioning"`
	EnableExpress                             *bool   `json:"enableExpress"`
	SupportOrdering                           *bool   `json:"supportOrdering"`
	ForwardTo                                 *string `json:"forwardTo"`
	ForwardDeadLetteredMessagesTo             *string `json:"forwardDeadLetteredMessagesTo"`
}

func decodeSettings(r *http.Request) (sbSettings, error) {
	var body struct {
		Properties sbSettings `json:"properties"`
	}
	if err := decode(r, &body); err != nil {
		return sbSettings{}, err
	}
	p := body.Properties
	if p.EnablePartitioning != nil && *p.EnablePartitioning {
		return p, badSB("enablePartitioning is not supported: Lanyard's entities are not partitioned.")
	}
	if p.EnableExpress != nil && *p.EnableExpress {
		return p, badSB("enableExpress is not supported: Lanyard keeps every message on disk.")
	}
	return p, nil
}

func badSB(msg string) error {
	return lanyard.Errorf(lanyard.KindInvalid, "%s", msg).WithCode("BadRequest")
}

// durationOf sets *d from an ISO 8601 text when one is given.
func durationOf(name string, s *string, d *time.Duration) error {
	if s == nil {
		return nil
	}
	v, err := lanyard.ParseISODuration(*s)
	if err != nil {
		return badSB("The value '" + clip(*s) + "' of " + name + " is not a valid ISO 8601 duration (e.g. PT1M, P14D).")
	}
	*d = v
	return nil
}

func set[T any](p *T, v *T) {
	if v != nil {
		*p = *v
	}
}

// isoSetting is a duration setting of a PUT: its name, its text (nil when absent) and
// where it goes.
type isoSetting struct {
	name string
	text *string
	into *time.Duration
}

// durations applies the ISO 8601 settings given.
func durations(settings ...isoSetting) error {
	for _, s := range settings {
		if err := durationOf(s.name, s.text, s.into); err != nil {
			return err
		}
	}
	return nil
}

// namespaceOf finds the namespace a path names: group args[1], name args[2].
// sbEntities is how the management API lists, gets and deletes one kind of entity below a
// namespace (queues, topics, subscriptions, rules): the four differ only in these. args are
// the route's: group, namespace, then the entity's path below the namespace.
type sbEntities[T any, P any] struct {
	collection string
	name       func(T) string
	list       func(ctx context.Context, sb *directory.ServiceBus, n lanyard.ServiceBusNamespace, args []string, after string, limit int) ([]T, error)
	get        func(ctx context.Context, sb *directory.ServiceBus, n lanyard.ServiceBusNamespace, args []string) (T, error)
	del        func(ctx context.Context, sb *directory.ServiceBus, n lanyard.ServiceBusNamespace, args []string) error
	// view renders an entity, with its message counts where it has them.
	view func(ctx context.Context, h *Handler, n lanyard.ServiceBusNamespace, e T) (sbEntityJSON[P], error)
}

func (k sbEntities[T, P]) listHandler(h *Handler) routeFunc {
	return func(w http.ResponseWriter, r *http.Request, args []string) error {
		sb, n, err := h.namespaceOf(r, args)
		if err != nil {
			return err
		}
		p, err := parsePage(r, k.collection)
		if err != nil {
			return err
		}
		es, next, err := storePage(p, k.name, func(after string, limit int) ([]T, error) {
			return k.list(r.Context(), sb, n, args, after, limit)
		})
		if err != nil {
			return err
		}
		out := make([]sbEntityJSON[P], 0, len(es))
		for _, e := range es {
			v, err := k.view(r.Context(), h, n, e)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		writePage(w, r, p, out, next)
		return nil
	}
}

func (k sbEntities[T, P]) getHandler(h *Handler) routeFunc {
	return func(w http.ResponseWriter, r *http.Request, args []string) error {
		sb, n, err := h.namespaceOf(r, args)
		if err != nil {
			return err
		}
		e, err := k.get(r.Context(), sb, n, args)
		if err != nil {
			return err
		}
		v, err := k.view(r.Context(), h, n, e)
		return h.reply(w, http.StatusOK, v, err)
	}
}

func (k sbEntities[T, P]) deleteHandler(h *Handler) routeFunc {
	return func(w http.ResponseWriter, r *http.Request, args []string) error {
		sb, n, err := h.namespaceOf(r, args)
		if err == nil {
			err = k.del(r.Context(), sb, n, args)
		}
		return deleted(w, err)
	}
}

var (
	sbQueues = sbEntities[lanyard.ServiceBusQueue, sbQueueProps]{
		collection: "queues",
		name:       func(q lanyard.ServiceBusQueue) string { return q.Name },
		list: func(ctx context.Context, sb *directory.ServiceBus, n lanyard.ServiceBusNamespace, _ []string, after string, limit int) ([]lanyard.ServiceBusQueue, error) {
			return sb.ListQueuesPage(ctx, n.ResourceGroup, n.Name, after, limit)
		},
		get: func(ctx context.Context, sb *directory.ServiceBus, n lanyard.ServiceBusNamespace, args []string) (lanyard.ServiceBusQueue, error) {
			return sb.GetQueue(ctx, n.ResourceGroup, n.Name, args[3])
		},
		del: func(ctx context.Context, sb *directory.ServiceBus, n lanyard.ServiceBusNamespace, args []string) error {
			return sb.DeleteQueue(ctx, n.ResourceGroup, n.Name, args[3])
		},
		view: func(ctx context.Context, h *Handler, n lanyard.ServiceBusNamespace, q lanyard.ServiceBusQueue) (sbEntityJSON[sbQueueProps], error) {
			c, err := h.counts(ctx, n.Name, q.Name)
			return h.sbQueue(n, q, c), err
		},
	}
	sbTopics = sbEntities[lanyard.ServiceBusTopic, sbTopicProps]{
		collection: "topics",
		name:       func(t lanyard.ServiceBusTopic) string { return t.Name },
		list: func(ctx context.Context, sb *directory.ServiceBus, n lanyard.ServiceBusNamespace, _ []string, after string, limit int) ([]lanyard.ServiceBusTopic, error) {
			return sb.ListTopicsPage(ctx, n.ResourceGroup, n.Name, after, limit)
		},
		get: func(ctx context.Context, sb *directory.ServiceBus, n lanyard.ServiceBusNamespace, args []string) (lanyard.ServiceBusTopic, error) {
			return sb.GetTopic(ctx, n.ResourceGroup, n.Name, args[3])
		},
		del: func(ctx context.Context, sb *directory.ServiceBus, n lanyard.ServiceBusNamespace, args []string) error {
			return sb.DeleteTopic(ctx, n.ResourceGroup, n.Name, args[3])
		},
		view: func(_ context.Context, _ *Handler, n lanyard.ServiceBusNamespace, t lanyard.ServiceBusTopic) (sbEntityJSON[sbTopicProps], error) {
			return sbTopic(n, t), nil
		},
	}
	sbSubscriptions = sbEntities[lanyard.ServiceBusSubscription, sbSubscriptionProps]{
		collection: "subscriptions",
		name:       func(s lanyard.ServiceBusSubscription) string { return s.Name },
		list: func(ctx context.Context, sb *directory.ServiceBus, n lanyard.ServiceBusNamespace, args []string, after string, limit int) ([]lanyard.ServiceBusSubscription, error) {
			return sb.ListSubscriptionsPage(ctx, n.ResourceGroup, n.Name, args[3], after, limit)
		},
		get: func(ctx context.Context, sb *directory.ServiceBus, n lanyard.ServiceBusNamespace, args []string) (lanyard.ServiceBusSubscription, error) {
			return sb.GetSubscription(ctx, n.ResourceGroup, n.Name, args[3], args[4])
		},
		del: func(ctx context.Context, sb *directory.ServiceBus, n lanyard.ServiceBusNamespace, args []string) error {
			return sb.DeleteSubscription(ctx, n.ResourceGroup, n.Name, args[3], args[4])
		},
		view: func(ctx context.Context, h *Handler, n lanyard.ServiceBusNamespace, s lanyard.ServiceBusSubscription) (sbEntityJSON[sbSubscriptionProps], error) {
			c, err := h.counts(ctx, n.Name, subscriptionPath(s.Topic, s.Name))
			return sbSubscription(n, s, c), err
		},
	}
	sbRules = sbEntities[lanyard.ServiceBusRule, sbRuleProps]{
		collection: "rules",
		name:       func(rl lanyard.ServiceBusRule) string { return rl.Name },
		list: func(ctx context.Context, sb *directory.ServiceBus, n lanyard.ServiceBusNamespace, args []string, after string, limit int) ([]lanyard.ServiceBusRule, error) {
			return sb.ListRulesPage(ctx, n.ResourceGroup, n.Name, args[3], args[4], after, limit)
		},
		get: func(ctx context.Context, sb *directory.ServiceBus, n lanyard.ServiceBusNamespace, args []string) (lanyard.ServiceBusRule, error) {
			return sb.GetRule(ctx, n.ResourceGroup, n.Name, args[3], args[4], args[5])
		},
		del: func(ctx context.Context, sb *directory.ServiceBus, n lanyard.ServiceBusNamespace, args []string) error {
			return sb.DeleteRule(ctx, n.ResourceGroup, n.Name, args[3], args[4], args[5])
		},
		view: func(_ context.Context, _ *Handler, n lanyard.ServiceBusNamespace, rl lanyard.ServiceBusRule) (sbEntityJSON[sbRuleProps], error) {
			return sbRule(n, rl), nil
		},
	}
)

func (h *Handler) namespaceOf(r *http.Request, args []string) (*directory.ServiceBus, lanyard.ServiceBusNamespace, error) {
	sb, err := h.serviceBus()
	if err != nil {
		return nil, lanyard.ServiceBusNamespace{}, err
	}
	n, err := sb.GetNamespace(r.Context(), args[1], args[2])
	return sb, n, err
}

func (h *Handler) putSBQueue(w http.ResponseWriter, r *http.Request, args []string) error {
	sb, n, err := h.namespaceOf(r, args)
	if err != nil {
		return err
	}
	p, err := decodeSettings(r)
	if err != nil {
		return err
	}
	q := lanyard.NewServiceBusQueue(n.Name, args[3])
	if err := durations(
		isoSetting{"lockDuration", p.LockDuration, &q.LockDuration},
		isoSetting{"defaultMessageTimeToLive", p.DefaultMessageTimeToLive, &q.DefaultMessageTimeToLive},
		isoSetting{"duplicateDetectionHistoryTimeWindow", p.DuplicateDetectionHistoryTimeWindow, &q.DuplicateDetectionHistoryTimeWindow},
		isoSetting{"autoDeleteOnIdle", p.AutoDeleteOnIdle, &q.AutoDeleteOnIdle}); err != nil {
		return err
	}
	set(&q.MaxSizeInMegabytes, p.MaxSizeInMegabytes)
	set(&q.RequiresDuplicateDetection, p.RequiresDuplicateDetection)
	set(&q.RequiresSession, p.RequiresSession)
	set(&q.DeadLetteringOnMessageExpiration, p.DeadLetteringOnMessageExpiration)
	set(&q.MaxDeliveryCount, p.MaxDeliveryCount)
	set(&q.EnableBatchedOperations, p.EnableBatchedOperations)
	set(&q.ForwardTo, p.ForwardTo)
	set(&q.ForwardDeadLetteredMessagesTo, p.ForwardDeadLetteredMessagesTo)
	q, created, err := sb.PutQueue(r.Context(), n.ResourceGroup, q)
	if err != nil {
		return err
	}
	c, err := h.counts(r.Context(), n.Name, q.Name)
	// The spec answers a queue's PUT with 200 only, created or not.
	return h.putDone(w, r, created, h.sbQueue(n, q, c), err)
}

// Topics.

type sbTopicProps struct {
	DefaultMessageTimeToLive            string         `json:"defaultMessageTimeToLive"`
	MaxSizeInMegabytes                  int            `json:"maxSizeInMegabytes"`
	MaxMessageSizeInKilobytes           int            `json:"maxMessageSizeInKilobytes"`
	RequiresDuplicateDetection          bool           `json:"requiresDuplicateDetection"`
	DuplicateDetectionHistoryTimeWindow string         `json:"duplicateDetectionHistoryTimeWindow"`
	EnableBatchedOperations             bool           `json:"enableBatchedOperations"`
	Status                              string         `json:"status"`
	SupportOrdering                     bool           `json:"supportOrdering"`
	AutoDeleteOnIdle                    string         `json:"autoDeleteOnIdle"`
	EnablePartitioning                  bool           `json:"enablePartitioning"`
	EnableExpress                       bool           `json:"enableExpress"`
	CreatedAt                           time.Time      `json:"createdAt"`
	UpdatedAt                           time.Time      `json:"updatedAt"`
	AccessedAt                          time.Time      `json:"accessedAt"`
	SizeInBytes                         int64          `json:"sizeInBytes"`
	CountDetails                        sbCountDetails `json:"countDetails"`
}

func sbTopic(n lanyard.ServiceBusNamespace, t lanyard.ServiceBusTopic) sbEntityJSON[sbTopicProps] {
	iso := lanyard.FormatISODuration
	return sbEntityJSON[sbTopicProps]{ID: n.ResourceID + "/topics/" + t.Name, Name: t.Name, Type: sbTopicWireType, Properties: sbTopicProps{
		DefaultMessageTimeToLive: iso(t.DefaultMessageTimeToLive), MaxSizeInMegabytes: t.MaxSizeInMegabytes, MaxMessageSizeInKilobytes: maxMessageSizeKB,
		RequiresDuplicateDetection: t.RequiresDuplicateDetection, DuplicateDetectionHistoryTimeWindow: iso(t.DuplicateDetectionHistoryTimeWindow),
		EnableBatchedOperations: t.EnableBatchedOperations, Status: "Active", SupportOrdering: t.SupportOrdering, AutoDeleteOnIdle: iso(t.AutoDeleteOnIdle),
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, AccessedAt: neverAccessed,
	}}
}

func (h *Handler) putSBTopic(w http.ResponseWriter, r *http.Request, args []string) error {
	sb, n, err := h.namespaceOf(r, args)
	if err != nil {
		return err
	}
	p, err := decodeSettings(r)
	if err != nil {
		return err
	}
	t := lanyard.NewServiceBusTopic(n.Name, args[3])
	if err := durations(
		isoSetting{"defaultMessageTimeToLive", p.DefaultMessageTimeToLive, &t.DefaultMessageTimeToLive},
		isoSetting{"duplicateDetectionHistoryTimeWindow", p.DuplicateDetectionHistoryTimeWindow, &t.DuplicateDetectionHistoryTimeWindow},
		isoSetting{"autoDeleteOnIdle", p.AutoDeleteOnIdle, &t.AutoDeleteOnIdle}); err != nil {
		return err
	}
	set(&t.MaxSizeInMegabytes, p.MaxSizeInMegabytes)
	set(&t.RequiresDuplicateDetection, p.RequiresDuplicateDetection)
	set(&t.EnableBatchedOperations, p.EnableBatchedOperations)
	set(&t.SupportOrdering, p.SupportOrdering)
	t, created, err := sb.PutTopic(r.Context(), n.ResourceGroup, t)
	return h.putDone(w, r, created, sbTopic(n, t), err)
}

// Subscriptions: group args[1], namespace args[2], topic args[3], subscription args[4].

type sbSubscriptionProps struct {
	LockDuration                              string         `json:"lockDuration"`
	RequiresSession                           bool           `json:"requiresSession"`
	DefaultMessageTimeToLive                  string         `json:"defaultMessageTimeToLive"`
	DeadLetteringOnFilterEvaluationExceptions bool           `json:"deadLetteringOnFilterEvaluationExceptions"`
	DeadLetteringOnMessageExpiration          bool           `json:"deadLetteringOnMessageExpiration"`
	MaxDeliveryCount                          int            `json:"maxDeliveryCount"`
	Status                                    string         `json:"status"`
	EnableBatchedOperations                   bool           `json:"enableBatchedOperations"`
	AutoDeleteOnIdle                          string         `json:"autoDeleteOnIdle"`
	ForwardTo                                 string         `json:"forwardTo,omitempty"`
	ForwardDeadLetteredMessagesTo             string         `json:"forwardDeadLetteredMessagesTo,omitempty"`
	IsClientAffine                            bool           `json:"isClientAffine"`
	CreatedAt                                 time.Time      `json:"createdAt"`
	UpdatedAt                                 time.Time      `json:"updatedAt"`
	AccessedAt                                time.Time      `json:"accessedAt"`
	MessageCount                              int64          `json:"messageCount"`
	CountDetails                              sbCountDetails `json:"countDetails"`
}

func sbSubscription(n lanyard.ServiceBusNamespace, s lanyard.ServiceBusSubscription, c lanyard.ServiceBusCounts) sbEntityJSON[sbSubscriptionProps] {
	iso := lanyard.FormatISODuration
	return sbEntityJSON[sbSubscriptionProps]{ID: n.ResourceID + "/topics/" + s.Topic + "/subscriptions/" + s.Name, Name: s.Name, Type: sbSubscriptionWireType,
		Properties: sbSubscriptionProps{
			LockDuration: iso(s.LockDuration), RequiresSession: s.RequiresSession, DefaultMessageTimeToLive: iso(s.DefaultMessageTimeToLive),
			DeadLetteringOnFilterEvaluationExceptions: s.DeadLetteringOnFilterEvaluationExceptions,
			DeadLetteringOnMessageExpiration:          s.DeadLetteringOnMessageExpiration, MaxDeliveryCount: s.MaxDeliveryCount, Status: "Active",
			EnableBatchedOperations: s.EnableBatchedOperations, AutoDeleteOnIdle: iso(s.AutoDeleteOnIdle),
			ForwardTo: s.ForwardTo, ForwardDeadLetteredMessagesTo: s.ForwardDeadLetteredMessagesTo,
			CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, AccessedAt: neverAccessed,
			MessageCount: c.Active + c.DeadLetter + c.Scheduled + c.Transfer + c.TransferDeadLetter, CountDetails: countDetails(c),
		}}
}

func subscriptionPath(topic, name string) string { return topic + "/Subscriptions/" + name }

func (h *Handler) putSBSubscription(w http.ResponseWriter, r *http.Request, args []string) error {
	sb, n, err := h.namespaceOf(r, args)
	if err != nil {
		return err
	}
	p, err := decodeSettings(r)
	if err != nil {
		return err
	}
	s := lanyard.NewServiceBusSubscription(n.Name, args[3], args[4])
	if err := durations(
		isoSetting{"lockDuration", p.LockDuration, &s.LockDuration},
		isoSetting{"defaultMessageTimeToLive", p.DefaultMessageTimeToLive, &s.DefaultMessageTimeToLive},
		isoSetting{"autoDeleteOnIdle", p.AutoDeleteOnIdle, &s.AutoDeleteOnIdle}); err != nil {
		return err
	}
	set(&s.RequiresSession, p.RequiresSession)
	set(&s.DeadLetteringOnMessageExpiration, p.DeadLetteringOnMessageExpiration)
	set(&s.DeadLetteringOnFilterEvaluationExceptions, p.DeadLetteringOnFilterEvaluationExceptions)
	set(&s.MaxDeliveryCount, p.MaxDeliveryCount)
	set(&s.EnableBatchedOperations, p.EnableBatchedOperations)
	set(&s.ForwardTo, p.ForwardTo)
	set(&s.ForwardDeadLetteredMessagesTo, p.ForwardDeadLetteredMessagesTo)
	s, created, err := sb.PutSubscription(r.Context(), n.ResourceGroup, s)
	if err != nil {
		return err
	}
	c, err := h.counts(r.Context(), n.Name, subscriptionPath(s.Topic, s.Name))
	return h.putDone(w, r, created, sbSubscription(n, s, c), err)
}

// Rules: ... subscription args[4], rule args[5].

type sbSQL struct {
	SQLExpression         string `json:"sqlExpression"`
	CompatibilityLevel    int    `json:"compatibilityLevel"`
	RequiresPreprocessing bool   `json:"requiresPreprocessing"`
}

type sbCorrelation struct {
	CorrelationID         string            `json:"correlationId,omitempty"`
	MessageID             string            `json:"messageId,omitempty"`
	To                    string            `json:"to,omitempty"`
	ReplyTo               string            `json:"replyTo,omitempty"`
	Label                 string            `json:"label,omitempty"`
	SessionID             string            `json:"sessionId,omitempty"`
	ReplyToSessionID      string            `json:"replyToSessionId,omitempty"`
	ContentType           string            `json:"contentType,omitempty"`
	Properties            map[string]string `json:"properties,omitempty"`
	RequiresPreprocessing bool              `json:"requiresPreprocessing"`
}

type sbRuleProps struct {
	FilterType        string         `json:"filterType"`
	SQLFilter         *sbSQL         `json:"sqlFilter,omitempty"`
	CorrelationFilter *sbCorrelation `json:"correlationFilter,omitempty"`
	Action            *sbSQL         `json:"action,omitempty"`
}

// sqlCompatibilityLevel is the only level Service Bus's SQL has.
const sqlCompatibilityLevel = 20

func sbRule(n lanyard.ServiceBusNamespace, rl lanyard.ServiceBusRule) sbEntityJSON[sbRuleProps] {
	p := sbRuleProps{FilterType: string(rl.FilterType)}
	switch rl.FilterType {
	case lanyard.SQLFilter:
		p.SQLFilter = &sbSQL{SQLExpression: rl.SQLExpression, CompatibilityLevel: sqlCompatibilityLevel}
	case lanyard.CorrelationFilter:
		c := rl.Correlation
		p.CorrelationFilter = &sbCorrelation{CorrelationID: c.CorrelationID, MessageID: c.MessageID, To: c.To, ReplyTo: c.ReplyTo, Label: c.Label,
			SessionID: c.SessionID, ReplyToSessionID: c.ReplyToSessionID, ContentType: c.ContentType, Properties: c.Properties}
	}
	if rl.Action != "" {
		p.Action = &sbSQL{SQLExpression: rl.Action, CompatibilityLevel: sqlCompatibilityLevel}
	}
	return sbEntityJSON[sbRuleProps]{ID: n.ResourceID + "/topics/" + rl.Topic + "/subscriptions/" + rl.Subscription + "/rules/" + rl.Name,
		Name: rl.Name, Type: sbRuleWireType, Properties: p}
}

func (h *Handler) putSBRule(w http.ResponseWriter, r *http.Request, args []string) error {
	sb, n, err := h.namespaceOf(r, args)
	if err != nil {
		return err
	}
	var body struct {
		Properties struct {
			FilterType        string         `json:"filterType"`
			SQLFilter         *sbSQL         `json:"sqlFilter"`
			CorrelationFilter *sbCorrelation `json:"correlationFilter"`
			Action            *sbSQL         `json:"action"`
		} `json:"properties"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	p := body.Properties
	rl := lanyard.ServiceBusRule{Namespace: n.Name, Topic: args[3], Subscription: args[4], Name: args[5], FilterType: lanyard.ServiceBusFilterType(p.FilterType)}
	if rl.FilterType == "" {
		// Azure's default is a SQL filter; a correlation filter given alone says otherwise.
		rl.FilterType = lanyard.SQLFilter
		if p.CorrelationFilter != nil && p.SQLFilter == nil {
			rl.FilterType = lanyard.CorrelationFilter
		}
	}
	switch {
	case strings.EqualFold(string(rl.FilterType), string(lanyard.SQLFilter)):
		rl.FilterType = lanyard.SQLFilter
		if p.SQLFilter != nil {
			rl.SQLExpression = p.SQLFilter.SQLExpression
		}
	case strings.EqualFold(string(rl.FilterType), string(lanyard.CorrelationFilter)):
		rl.FilterType = lanyard.CorrelationFilter
		if c := p.CorrelationFilter; c != nil {
			rl.Correlation = lanyard.ServiceBusCorrelationFilter{CorrelationID: c.CorrelationID, MessageID: c.MessageID, To: c.To, ReplyTo: c.ReplyTo,
				Label: c.Label, SessionID: c.SessionID, ReplyToSessionID: c.ReplyToSessionID, ContentType: c.ContentType, Properties: c.Properties}
		}
	}
	if p.Action != nil {
		rl.Action = p.Action.SQLExpression
	}
	rl, created, err := sb.PutRule(r.Context(), n.ResourceGroup, rl)
	return h.putDone(w, r, created, sbRule(n, rl), err)
}
