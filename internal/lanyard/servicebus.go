package lanyard

import (
	"math"
	"time"
)

// ServiceBusResource is the resource apps ask tokens for to reach Service Bus.
const ServiceBusResource = "https://servicebus.azure.net"

// Service Bus resource types, as ARM names them.
const (
	TypeServiceBusNamespace    = "Microsoft.ServiceBus/namespaces"
	TypeServiceBusQueue        = TypeServiceBusNamespace + "/queues"
	TypeServiceBusTopic        = TypeServiceBusNamespace + "/topics"
	TypeServiceBusSubscription = TypeServiceBusTopic + "/subscriptions"
	TypeServiceBusRule         = TypeServiceBusSubscription + "/rules"
)

// Never is the duration Service Bus means by TimeSpan.MaxValue
// (P10675199DT2H48M5.4775807S): no expiry, no auto-delete. It is longer than any
// time.Duration, so the largest one stands for it.
const Never = time.Duration(math.MaxInt64)

// Service Bus's defaults, as Azure gives them to an entity created without them.
const (
	DefaultLockDuration              = time.Minute
	DefaultMaxDeliveryCount          = 10
	DefaultDuplicateDetectionWindow  = 10 * time.Minute
	DefaultServiceBusMaxSizeMegabyte = 1024
	// DefaultRuleName is the rule a subscription is created with: it lets every message
	// through (TrueFilter, SQL 1=1).
	DefaultRuleName = "$Default"
)

// ServiceBusNamespace is a Microsoft.ServiceBus/namespaces resource: the container of
// queues and topics, reached by apps at its own host name. Its name is unique across
// groups, as its DNS name is on Azure.
type ServiceBusNamespace struct {
	ResourceID    string
	ResourceGroup string
	Name          string
	Location      string
	Tags          map[string]string
	SKU           string // Basic, Standard or Premium; Lanyard behaves the same for each
	// Listen is the host:port its AMQP listener binds: on this machine a namespace's
	// address stands for its host name, since names under .localhost would need DNS.
	Listen    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ServiceBusQueue is a queue of a namespace. Queue and topic names share one name space
// within a namespace.
type ServiceBusQueue struct {
	Namespace                           string // the namespace's name
	Name                                string
	LockDuration                        time.Duration
	MaxDeliveryCount                    int
	DefaultMessageTimeToLive            time.Duration // Never when messages do not expire
	RequiresSession                     bool
	DeadLetteringOnMessageExpiration    bool
	RequiresDuplicateDetection          bool
	DuplicateDetectionHistoryTimeWindow time.Duration
	AutoDeleteOnIdle                    time.Duration // Never when the queue stays
	MaxSizeInMegabytes                  int
	EnableBatchedOperations             bool
	ForwardTo                           string // a queue or topic of the same namespace, or ""
	ForwardDeadLetteredMessagesTo       string
	CreatedAt                           time.Time
	UpdatedAt                           time.Time
}

// ServiceBusTopic is a topic of a namespace: what is sent to it is copied to each of its
// subscriptions whose rules match.
type ServiceBusTopic struct {
	Namespace                           string
	Name                                string
	DefaultMessageTimeToLive            time.Duration
	RequiresDuplicateDetection          bool
	DuplicateDetectionHistoryTimeWindow time.Duration
	AutoDeleteOnIdle                    time.Duration
	MaxSizeInMegabytes                  int
	EnableBatchedOperations             bool
	SupportOrdering                     bool
	CreatedAt                           time.Time
	UpdatedAt                           time.Time
}

// ServiceBusSubscription is a subscription of a topic: a queue of its own, fed by the
// topic through its rules.
type ServiceBusSubscription struct {
	Namespace                                 string
	Topic                                     string
	Name                                      string
	LockDuration                              time.Duration
	MaxDeliveryCount                          int
	DefaultMessageTimeToLive                  time.Duration
	RequiresSession                           bool
	DeadLetteringOnMessageExpiration          bool
	DeadLetteringOnFilterEvaluationExceptions bool
	AutoDeleteOnIdle                          time.Duration
	EnableBatchedOperations                   bool
	ForwardTo                                 string
	ForwardDeadLetteredMessagesTo             string
	CreatedAt                                 time.Time
	UpdatedAt                                 time.Time
}

// ServiceBusFilterType is how a rule selects messages.
type ServiceBusFilterType string

const (
	SQLFilter         ServiceBusFilterType = "SqlFilter"
	CorrelationFilter ServiceBusFilterType = "CorrelationFilter"
)

// ServiceBusCorrelationFilter matches messages whose system properties equal the set
// fields and whose application properties hold the given values; empty fields match any.
type ServiceBusCorrelationFilter struct {
	CorrelationID    string
	MessageID        string
	To               string
	ReplyTo          string
	Label            string // the subject
	SessionID        string
	ReplyToSessionID string
	ContentType      string
	Properties       map[string]string
}

// ServiceBusRule is a rule of a subscription: a filter, and an optional SQL action that
// changes the properties of the messages it lets through.
type ServiceBusRule struct {
	Namespace     string
	Topic         string
	Subscription  string
	Name          string
	FilterType    ServiceBusFilterType
	SQLExpression string // with SQLFilter
	Correlation   ServiceBusCorrelationFilter
	Action        string // the action's SQL expression, "" for none
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// NewServiceBusQueue returns queue name of namespace ns with Azure's defaults.
func NewServiceBusQueue(ns, name string) ServiceBusQueue {
	return ServiceBusQueue{
		Namespace: ns, Name: name, LockDuration: DefaultLockDuration, MaxDeliveryCount: DefaultMaxDeliveryCount,
		DefaultMessageTimeToLive: Never, DuplicateDetectionHistoryTimeWindow: DefaultDuplicateDetectionWindow,
		AutoDeleteOnIdle: Never, MaxSizeInMegabytes: DefaultServiceBusMaxSizeMegabyte, EnableBatchedOperations: true,
	}
}

// NewServiceBusTopic returns topic name of namespace ns with Azure's defaults.
func NewServiceBusTopic(ns, name string) ServiceBusTopic {
	return ServiceBusTopic{
		Namespace: ns, Name: name, DefaultMessageTimeToLive: Never, DuplicateDetectionHistoryTimeWindow: DefaultDuplicateDetectionWindow,
		AutoDeleteOnIdle: Never, MaxSizeInMegabytes: DefaultServiceBusMaxSizeMegabyte, EnableBatchedOperations: true,
	}
}

// NewServiceBusSubscription returns subscription name of topic with Azure's defaults.
func NewServiceBusSubscription(ns, topic, name string) ServiceBusSubscription {
	return ServiceBusSubscription{
		Namespace: ns, Topic: topic, Name: name, LockDuration: DefaultLockDuration, MaxDeliveryCount: DefaultMaxDeliveryCount,
		DefaultMessageTimeToLive: Never, AutoDeleteOnIdle: Never, EnableBatchedOperations: true,
		DeadLetteringOnFilterEvaluationExceptions: true,
	}
}

// ServiceBusCounts are the message counts of a queue or subscription, as Azure reports
// them in countDetails.
type ServiceBusCounts struct {
	Active             int64
	DeadLetter         int64
	Scheduled          int64
	Transfer           int64
	TransferDeadLetter int64
	SizeInBytes        int64
}
