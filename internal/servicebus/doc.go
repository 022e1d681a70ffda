// Package servicebus is Service Bus's data plane as the Azure SDKs speak it: AMQP 1.0 over
// TLS, one listener per namespace, with claims-based security.
//
// A connection opens with SASL ANONYMOUS; the client then puts a Lanyard token on it
// through the $cbs node (put-token, type jwt), naming the entity it is for. Claims are
// per connection and per entity, and last until the token expires. Attaching a link to
// an entity needs a claim for it (or for the namespace) and, decided by RBAC at the
// entity's scope and recorded in the audit trail, the send or receive data action. Links
// are re-checked every RecheckInterval: a revoked token, a disabled or deleted identity
// or a removed role assignment detaches them with amqp:unauthorized-access, and an
// expired claim detaches the links of its entity.
//
// Queues live in a messaging.Store: a send is settled accepted once the store has it on
// disk; a PeekLock receiver gets each message with its lock token as delivery tag (in
// .NET's GUID byte order, as the SDKs expect) and settles it by disposition or through
// the entity's $management node (update-disposition, renew-lock, peek-message).
//
// A message with the x-opt-scheduled-enqueue-time annotation, or sent by
// schedule-message, waits in the store until its time; cancel-scheduled-message removes
// it (both need the send data action). A receiver defers a message by settling it
// modified with undeliverable-here (or update-disposition defered); only
// receive-by-sequence-number takes it then, its lock token in the answer, settled through
// $management. On a queue with RequiresDuplicateDetection, a message id seen within the
// window is accepted and dropped.
//
// A send to a topic is routed through the rules of its subscriptions (rules.go) and
// stored in one Store.Publish: one copy per subscription whose action-less rules select
// it, and one per selecting rule with an action. A subscription is a queue named by its
// path; its receivers and $management work as a queue's. The rule managers' add-rule,
// remove-rule and enumerate-rules (ruleops.go) edit the directory through RuleEditor.
// Sessions are refused with amqp:not-implemented.
package servicebus
