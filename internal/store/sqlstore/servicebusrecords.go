package sqlstore

import (
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// The JSON records of Service Bus entities' settings (servicebus_entities.properties).
// They are the stored format: their tags never change, so renaming a domain field cannot
// lose stored settings; a setting added later is a new tag, absent (zero) in old rows.
// Durations are nanoseconds; lanyard.Never is the largest int64. Names, times and the
// entity's place are columns, not part of the record.

type sbQueueRecord struct {
	LockDuration                        time.Duration `json:"lockDuration"`
	MaxDeliveryCount                    int           `json:"maxDeliveryCount"`
	DefaultMessageTimeToLive            time.Duration `json:"defaultMessageTimeToLive"`
	RequiresSession                     bool          `json:"requiresSession,omitempty"`
	DeadLetteringOnMessageExpiration    bool          `json:"deadLetteringOnMessageExpiration,omitempty"`
	RequiresDuplicateDetection          bool          `json:"requiresDuplicateDetection,omitempty"`
	DuplicateDetectionHistoryTimeWindow time.Duration `json:"duplicateDetectionHistoryTimeWindow"`
	AutoDeleteOnIdle                    time.Duration `json:"autoDeleteOnIdle"`
	MaxSizeInMegabytes                  int           `json:"maxSizeInMegabytes"`
	EnableBatchedOperations             bool          `json:"enableBatchedOperations,omitempty"`
	ForwardTo                           string        `json:"forwardTo,omitempty"`
	ForwardDeadLetteredMessagesTo       string        `json:"forwardDeadLetteredMessagesTo,omitempty"`
}

func queueRecord(q lanyard.ServiceBusQueue) any {
	return sbQueueRecord{q.LockDuration, q.MaxDeliveryCount, q.DefaultMessageTimeToLive, q.RequiresSession, q.DeadLetteringOnMessageExpiration,
		q.RequiresDuplicateDetection, q.DuplicateDetectionHistoryTimeWindow, q.AutoDeleteOnIdle, q.MaxSizeInMegabytes, q.EnableBatchedOperations,
		q.ForwardTo, q.ForwardDeadLetteredMessagesTo}
}

func (r sbQueueRecord) apply(q *lanyard.ServiceBusQueue) {
	q.LockDuration, q.MaxDeliveryCount, q.DefaultMessageTimeToLive = r.LockDuration, r.MaxDeliveryCount, r.DefaultMessageTimeToLive
	q.RequiresSession, q.DeadLetteringOnMessageExpiration, q.RequiresDuplicateDetection = r.RequiresSession, r.DeadLetteringOnMessageExpiration, r.RequiresDuplicateDetection
	q.DuplicateDetectionHistoryTimeWindow, q.AutoDeleteOnIdle, q.MaxSizeInMegabytes = r.DuplicateDetectionHistoryTimeWindow, r.AutoDeleteOnIdle, r.MaxSizeInMegabytes
	q.EnableBatchedOperations, q.ForwardTo, q.ForwardDeadLetteredMessagesTo = r.EnableBatchedOperations, r.ForwardTo, r.ForwardDeadLetteredMessagesTo
}

type sbTopicRecord struct {
	DefaultMessageTimeToLive            time.Duration `json:"defaultMessageTimeToLive"`
	RequiresDuplicateDetection          bool          `json:"requiresDuplicateDetection,omitempty"`
	DuplicateDetectionHistoryTimeWindow time.Duration `json:"duplicateDetectionHistoryTimeWindow"`
	AutoDeleteOnIdle                    time.Duration `json:"autoDeleteOnIdle"`
	MaxSizeInMegabytes                  int           `json:"maxSizeInMegabytes"`
	EnableBatchedOperations             bool          `json:"enableBatchedOperations,omitempty"`
	SupportOrdering                     bool          `json:"supportOrdering,omitempty"`
}

func topicRecord(t lanyard.ServiceBusTopic) any {
	return sbTopicRecord{t.DefaultMessageTimeToLive, t.RequiresDuplicateDetection, t.DuplicateDetectionHistoryTimeWindow, t.AutoDeleteOnIdle,
		t.MaxSizeInMegabytes, t.EnableBatchedOperations, t.SupportOrdering}
}

func (r sbTopicRecord) apply(t *lanyard.ServiceBusTopic) {
	t.DefaultMessageTimeToLive, t.RequiresDuplicateDetection, t.DuplicateDetectionHistoryTimeWindow = r.DefaultMessageTimeToLive, r.RequiresDuplicateDetection, r.DuplicateDetectionHistoryTimeWindow
	t.AutoDeleteOnIdle, t.MaxSizeInMegabytes, t.EnableBatchedOperations, t.SupportOrdering = r.AutoDeleteOnIdle, r.MaxSizeInMegabytes, r.EnableBatchedOperations, r.SupportOrdering
}

type sbSubscriptionRecord struct {
	LockDuration                              time.Duration `json:"lockDuration"`
	MaxDeliveryCount                          int           `json:"maxDeliveryCount"`
	DefaultMessageTimeToLive                  time.Duration `json:"defaultMessageTimeToLive"`
	RequiresSession                           bool          `json:"requiresSession,omitempty"`
	DeadLetteringOnMessageExpiration          bool          `json:"deadLetteringOnMessageExpiration,omitempty"`
	DeadLetteringOnFilterEvaluationExceptions bool          `json:"deadLetteringOnFilterEvaluationExceptions,omitempty"`
	AutoDeleteOnIdle                          time.Duration `json:"autoDeleteOnIdle"`
	EnableBatchedOperations                   bool          `json:"enableBatchedOperations,omitempty"`
	ForwardTo                                 string        `json:"forwardTo,omitempty"`
	ForwardDeadLetteredMessagesTo             string        `json:"forwardDeadLetteredMessagesTo,omitempty"`
}

func subscriptionRecord(s lanyard.ServiceBusSubscription) any {
	return sbSubscriptionRecord{s.LockDuration, s.MaxDeliveryCount, s.DefaultMessageTimeToLive, s.RequiresSession, s.DeadLetteringOnMessageExpiration,
		s.DeadLetteringOnFilterEvaluationExceptions, s.AutoDeleteOnIdle, s.EnableBatchedOperations, s.ForwardTo, s.ForwardDeadLetteredMessagesTo}
}

func (r sbSubscriptionRecord) apply(s *lanyard.ServiceBusSubscription) {
	s.LockDuration, s.MaxDeliveryCount, s.DefaultMessageTimeToLive = r.LockDuration, r.MaxDeliveryCount, r.DefaultMessageTimeToLive
	s.RequiresSession, s.DeadLetteringOnMessageExpiration, s.DeadLetteringOnFilterEvaluationExceptions = r.RequiresSession, r.DeadLetteringOnMessageExpiration, r.DeadLetteringOnFilterEvaluationExceptions
	s.AutoDeleteOnIdle, s.EnableBatchedOperations, s.ForwardTo, s.ForwardDeadLetteredMessagesTo = r.AutoDeleteOnIdle, r.EnableBatchedOperations, r.ForwardTo, r.ForwardDeadLetteredMessagesTo
}

type sbCorrelationRecord struct {
	CorrelationID    string            `json:"correlationId,omitempty"`
	MessageID        string            `json:"messageId,omitempty"`
	To               string            `json:"to,omitempty"`
	ReplyTo          string            `json:"replyTo,omitempty"`
	Label            string            `json:"label,omitempty"`
	SessionID        string            `json:"sessionId,omitempty"`
	ReplyToSessionID string            `json:"replyToSessionId,omitempty"`
	ContentType      string            `json:"contentType,omitempty"`
	Properties       map[string]string `json:"properties,omitempty"`
}

type sbRuleRecord struct {
	FilterType    string              `json:"filterType"`
	SQLExpression string              `json:"sqlExpression,omitempty"`
	Correlation   sbCorrelationRecord `json:"correlation"`
	Action        string              `json:"action,omitempty"`
}

func ruleRecord(r lanyard.ServiceBusRule) any {
	return sbRuleRecord{string(r.FilterType), r.SQLExpression, sbCorrelationRecord(r.Correlation), r.Action}
}

func (rec sbRuleRecord) apply(r *lanyard.ServiceBusRule) {
	r.FilterType, r.SQLExpression, r.Correlation, r.Action = lanyard.ServiceBusFilterType(rec.FilterType), rec.SQLExpression, lanyard.ServiceBusCorrelationFilter(rec.Correlation), rec.Action
}
