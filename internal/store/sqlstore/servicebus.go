package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Service Bus namespaces and their entities (see migration 0009).

const serviceBusNamespaceColumns = "n.name, n.resource_group, n.resource_id, n.location, n.tags, n.sku, n.listen, n.created_at, n.updated_at"

func scanServiceBusNamespace(r rowScanner) (lanyard.ServiceBusNamespace, error) {
	var (
		n                lanyard.ServiceBusNamespace
		tags             string
		created, updated int64
	)
	if err := r.Scan(&n.Name, &n.ResourceGroup, &n.ResourceID, &n.Location, &tags, &n.SKU, &n.Listen, &created, &updated); err != nil {
		return n, err
	}
	var err error
	if n.Tags, err = decodeTags(tags); err != nil {
		return n, err
	}
	n.CreatedAt, n.UpdatedAt = fromMicros(created), fromMicros(updated)
	return n, nil
}

func serviceBusNamespaceNotFound(name string) error {
	return notFound("ResourceNotFound", "The Service Bus namespace '%s' was not found.", lanyard.Clip(name, 100))
}

func (s *Store) CreateServiceBusNamespace(ctx context.Context, n lanyard.ServiceBusNamespace) error {
	err := s.inTx(ctx, func(tx *Store) error {
		tags, err := encodeTags(n.Tags)
		if err != nil {
			return err
		}
		if err := tx.checkNamespaceListen(ctx, n.Name, n.Listen); err != nil {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO servicebus_namespaces (name_key, name, resource_group, resource_group_key, resource_id, location,
	tags, sku, listen_key, listen, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			key(n.Name), n.Name, n.ResourceGroup, key(n.ResourceGroup), n.ResourceID, n.Location, tags, n.SKU,
			key(n.Listen), n.Listen, micros(n.CreatedAt), micros(n.UpdatedAt))
		return err
	})
	if err != nil && s.d.isUniqueViolation(err) && n.Listen != "" {
		// A racing creator took the name or the address: say which.
		var count int
		if qerr := s.queryRow(ctx, "SELECT COUNT(*) FROM servicebus_namespaces WHERE name_key = ?", key(n.Name)).Scan(&count); qerr == nil && count == 0 {
			return &lanyard.Error{Kind: lanyard.KindConflict, Code: "ListenAddressInUse", Message: namespaceListenInUse(n.Listen).Message, Err: err}
		}
	}
	return s.wrapErrCode("create service bus namespace", err, "NameInUse", "The specified name is not available.")
}

func (s *Store) getServiceBusNamespace(ctx context.Context, name string, lock bool) (lanyard.ServiceBusNamespace, error) {
	q := "SELECT " + serviceBusNamespaceColumns + " FROM servicebus_namespaces n WHERE n.name_key = ?"
	if lock {
		q += s.d.lockRows("n")
	}
	n, err := scanServiceBusNamespace(s.queryRow(ctx, q, key(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return n, serviceBusNamespaceNotFound(name)
	}
	return n, err
}

func (s *Store) GetServiceBusNamespace(ctx context.Context, name string) (lanyard.ServiceBusNamespace, error) {
	n, err := s.getServiceBusNamespace(ctx, name, false)
	return n, s.wrapErr("get service bus namespace", err, "")
}

func (s *Store) ListServiceBusNamespaces(ctx context.Context, group string) ([]lanyard.ServiceBusNamespace, error) {
	q := "SELECT " + serviceBusNamespaceColumns + " FROM servicebus_namespaces n"
	var args []any
	if group != "" {
		q += " WHERE n.resource_group_key = ?"
		args = append(args, key(group))
	}
	return queryPage(ctx, s, "list service bus namespaces", 0, scanServiceBusNamespace, q+" ORDER BY n.name_key", args...)
}

// ListServiceBusNamespacesPage implements store.ServiceBus, by keyset on the name.
func (s *Store) ListServiceBusNamespacesPage(ctx context.Context, group, after string, limit int) ([]lanyard.ServiceBusNamespace, error) {
	if limit < 1 {
		return nil, nil
	}
	q := "SELECT " + serviceBusNamespaceColumns + " FROM servicebus_namespaces n WHERE n.name_key > ?"
	args := []any{key(after)}
	if group != "" {
		q += " AND n.resource_group_key = ?"
		args = append(args, key(group))
	}
	return queryPage(ctx, s, "list service bus namespaces", limit, scanServiceBusNamespace, q+" ORDER BY n.name_key LIMIT ?", append(args, limit)...)
}

func (s *Store) UpdateServiceBusNamespace(ctx context.Context, name string, fn func(lanyard.ServiceBusNamespace) (lanyard.ServiceBusNamespace, error)) (lanyard.ServiceBusNamespace, error) {
	var out lanyard.ServiceBusNamespace
	err := s.inTx(ctx, func(tx *Store) error {
		cur, err := tx.getServiceBusNamespace(ctx, name, true)
		if err != nil {
			return err
		}
		n, err := fn(cur)
		if err != nil {
			return err
		}
		if key(n.Name) != key(cur.Name) {
			return fmt.Errorf("sqlstore: update service bus namespace %q: the updater renamed it to %q", cur.Name, n.Name)
		}
		if err := tx.checkNamespaceListen(ctx, n.Name, n.Listen); err != nil {
			return err
		}
		tags, err := encodeTags(n.Tags)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE servicebus_namespaces SET name = ?, resource_group = ?, resource_group_key = ?, resource_id = ?,
	location = ?, tags = ?, sku = ?, listen_key = ?, listen = ?, created_at = ?, updated_at = ? WHERE name_key = ?`,
			n.Name, n.ResourceGroup, key(n.ResourceGroup), n.ResourceID, n.Location, tags, n.SKU,
			key(n.Listen), n.Listen, micros(n.CreatedAt), micros(n.UpdatedAt), key(cur.Name)); err != nil {
			return err
		}
		out, err = tx.getServiceBusNamespace(ctx, cur.Name, false)
		return err
	})
	if err != nil && s.d.isUniqueViolation(err) {
		return out, &lanyard.Error{Kind: lanyard.KindConflict, Code: "ListenAddressInUse", Message: "Another namespace listens on that address.", Err: err}
	}
	return out, s.wrapErr("update service bus namespace", err, "The namespace changed concurrently.")
}

// checkNamespaceListen refuses an address another namespace than name listens on.
func (s *Store) checkNamespaceListen(ctx context.Context, name, listen string) error {
	if listen == "" {
		return nil
	}
	var n int
	if err := s.queryRow(ctx, "SELECT COUNT(*) FROM servicebus_namespaces WHERE listen_key = ? AND name_key <> ?", key(listen), key(name)).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return namespaceListenInUse(listen)
	}
	return nil
}

func namespaceListenInUse(addr string) *lanyard.Error {
	return lanyard.Errorf(lanyard.KindConflict, "Another namespace listens on %s.", lanyard.Clip(addr, 100)).WithCode("ListenAddressInUse")
}

func (s *Store) DeleteServiceBusNamespace(ctx context.Context, name string) error {
	err := s.inTx(ctx, func(tx *Store) error {
		return tx.execOne(ctx, func() error { return serviceBusNamespaceNotFound(name) }, "DELETE FROM servicebus_namespaces WHERE name_key = ?", key(name))
	})
	return s.wrapErr("delete service bus namespace", err, "")
}

// Entities. Every kind is a row of servicebus_entities whose settings are the domain
// value as JSON; sbKind says how a kind's value maps to its row.

// sbPath is where an entity lives: a queue or topic has only ns and name, a subscription
// also topic, a rule also sub.
type sbPath struct{ ns, topic, sub, name string }

func (p sbPath) keys() []any { return []any{key(p.ns), key(p.topic), key(p.sub), key(p.name)} }

// parent is the path of the row a subscription or rule belongs to.
func (p sbPath) parent() sbPath {
	if p.sub != "" {
		return sbPath{ns: p.ns, topic: p.topic, name: p.sub}
	}
	return sbPath{ns: p.ns, name: p.topic}
}

type sbKind[T any] struct {
	kind       string // the kind column
	parentKind string // "" for a queue or topic, whose parent is the namespace
	label      string // for messages
	path       func(T) sbPath
	times      func(*T) (created, updated *time.Time)
	// record is the JSON record of v's settings; decode applies a stored one to v.
	record func(v T) any
	decode func(b []byte, v *T) error
	// place gives v the stored names of its path (names come back as they were created).
	place func(v *T, p sbPath)
}

// decodeInto returns a decode through record type R.
func decodeInto[R interface{ apply(*T) }, T any]() func([]byte, *T) error {
	return func(b []byte, v *T) error {
		var r R
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		r.apply(v)
		return nil
	}
}

var (
	sbQueues = sbKind[lanyard.ServiceBusQueue]{kind: "queue", label: "queue",
		path:   func(q lanyard.ServiceBusQueue) sbPath { return sbPath{ns: q.Namespace, name: q.Name} },
		times:  func(q *lanyard.ServiceBusQueue) (*time.Time, *time.Time) { return &q.CreatedAt, &q.UpdatedAt },
		record: queueRecord, decode: decodeInto[sbQueueRecord, lanyard.ServiceBusQueue](),
		place: func(q *lanyard.ServiceBusQueue, p sbPath) { q.Namespace, q.Name = p.ns, p.name }}
	sbTopics = sbKind[lanyard.ServiceBusTopic]{kind: "topic", label: "topic",
		path:   func(t lanyard.ServiceBusTopic) sbPath { return sbPath{ns: t.Namespace, name: t.Name} },
		times:  func(t *lanyard.ServiceBusTopic) (*time.Time, *time.Time) { return &t.CreatedAt, &t.UpdatedAt },
		record: topicRecord, decode: decodeInto[sbTopicRecord, lanyard.ServiceBusTopic](),
		place: func(t *lanyard.ServiceBusTopic, p sbPath) { t.Namespace, t.Name = p.ns, p.name }}
	sbSubscriptions = sbKind[lanyard.ServiceBusSubscription]{kind: "subscription", parentKind: "topic", label: "subscription",
		path: func(s lanyard.ServiceBusSubscription) sbPath {
			return sbPath{ns: s.Namespace, topic: s.Topic, name: s.Name}
		},
		times:  func(s *lanyard.ServiceBusSubscription) (*time.Time, *time.Time) { return &s.CreatedAt, &s.UpdatedAt },
		record: subscriptionRecord, decode: decodeInto[sbSubscriptionRecord, lanyard.ServiceBusSubscription](),
		place: func(s *lanyard.ServiceBusSubscription, p sbPath) {
			s.Namespace, s.Topic, s.Name = p.ns, p.topic, p.name
		}}
	sbRules = sbKind[lanyard.ServiceBusRule]{kind: "rule", parentKind: "subscription", label: "rule",
		path: func(r lanyard.ServiceBusRule) sbPath {
			return sbPath{ns: r.Namespace, topic: r.Topic, sub: r.Subscription, name: r.Name}
		},
		times:  func(r *lanyard.ServiceBusRule) (*time.Time, *time.Time) { return &r.CreatedAt, &r.UpdatedAt },
		record: ruleRecord, decode: decodeInto[sbRuleRecord, lanyard.ServiceBusRule](),
		place: func(r *lanyard.ServiceBusRule, p sbPath) {
			r.Namespace, r.Topic, r.Subscription, r.Name = p.ns, p.topic, p.sub, p.name
		}}
)

func (k sbKind[T]) notFound(p sbPath) error {
	return notFound("NotFound", "The messaging entity '%s' (a %s) could not be found.", lanyard.Clip(p.display(), 300), k.label)
}

// display names an entity as Service Bus does in its messages: ns/topic/Subscriptions/sub.
func (p sbPath) display() string {
	switch {
	case p.sub != "":
		return p.ns + "/" + p.topic + "/Subscriptions/" + p.sub + "/Rules/" + p.name
	case p.topic != "":
		return p.ns + "/" + p.topic + "/Subscriptions/" + p.name
	}
	return p.ns + "/" + p.name
}

const sbEntityColumns = "e.namespace_name, e.topic_name, e.subscription_name, e.name, e.properties, e.created_at, e.updated_at"

func (k sbKind[T]) scan(r rowScanner) (T, error) {
	var (
		v                T
		p                sbPath
		props            string
		created, updated int64
	)
	if err := r.Scan(&p.ns, &p.topic, &p.sub, &p.name, &props, &created, &updated); err != nil {
		return v, err
	}
	if err := k.decode([]byte(props), &v); err != nil {
		return v, fmt.Errorf("decode %s: %w", k.label, err)
	}
	k.place(&v, p)
	c, u := k.times(&v)
	*c, *u = fromMicros(created), fromMicros(updated)
	return v, nil
}

func (k sbKind[T]) encode(v T) (string, error) {
	b, err := json.Marshal(k.record(v))
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", k.label, err)
	}
	return string(b), nil
}

func sbCreate[T any](ctx context.Context, s *Store, k sbKind[T], v T) error {
	p := k.path(v)
	err := s.inTx(ctx, func(tx *Store) error {
		// The parent's names as stored, so that an entity's path reads as it was created
		// whatever case the caller spelled it in.
		var parent []any
		if k.parentKind == "" {
			n, err := tx.getServiceBusNamespace(ctx, p.ns, true)
			if err != nil {
				return err
			}
			p.ns = n.Name
			parent = []any{nil, nil, nil}
		} else {
			pp := p.parent()
			var ns, topic, sub, name string
			err := tx.queryRow(ctx, "SELECT namespace_name, topic_name, subscription_name, name FROM servicebus_entities WHERE namespace_key = ? AND topic_key = ? AND subscription_key = ? AND name_key = ? AND kind = ?",
				append(pp.keys(), k.parentKind)...).Scan(&ns, &topic, &sub, &name)
			if errors.Is(err, sql.ErrNoRows) {
				return notFound("NotFound", "The messaging entity '%s' (a %s) could not be found.", lanyard.Clip(pp.display(), 300), k.parentKind)
			}
			if err != nil {
				return err
			}
			if k.kind == "subscription" {
				p.ns, p.topic = ns, name
			} else {
				p.ns, p.topic, p.sub = ns, topic, name
			}
			parent = pp.keys()[1:]
		}
		props, err := k.encode(v)
		if err != nil {
			return err
		}
		c, u := k.times(&v)
		args := append(p.keys(), k.kind, p.ns, p.topic, p.sub, p.name, props, micros(*c), micros(*u))
		_, err = tx.exec(ctx, `INSERT INTO servicebus_entities (namespace_key, topic_key, subscription_key, name_key, kind,
	namespace_name, topic_name, subscription_name, name, properties, created_at, updated_at,
	parent_topic_key, parent_subscription_key, parent_name_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			append(args, parent...)...)
		return err
	})
	return s.wrapErrCode("create service bus "+k.label, err, "Conflict",
		fmt.Sprintf("The messaging entity '%s' already exists.", lanyard.Clip(p.display(), 300)))
}

func sbGet[T any](ctx context.Context, s *Store, k sbKind[T], p sbPath, lock bool) (T, error) {
	q := "SELECT " + sbEntityColumns + " FROM servicebus_entities e WHERE e.namespace_key = ? AND e.topic_key = ? AND e.subscription_key = ? AND e.name_key = ? AND e.kind = ?"
	if lock {
		q += s.d.lockRows("e")
	}
	v, err := k.scan(s.queryRow(ctx, q, append(p.keys(), k.kind)...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, k.notFound(p)
	}
	return v, err
}

func sbPage[T any](ctx context.Context, s *Store, k sbKind[T], p sbPath, after string, limit int) ([]T, error) {
	if limit < 1 {
		return nil, nil
	}
	q := "SELECT " + sbEntityColumns + ` FROM servicebus_entities e
	WHERE e.namespace_key = ? AND e.topic_key = ? AND e.subscription_key = ? AND e.kind = ? AND e.name_key > ? ORDER BY e.name_key LIMIT ?`
	return queryPage(ctx, s, "list service bus "+k.label+"s", limit, k.scan, q, key(p.ns), key(p.topic), key(p.sub), k.kind, key(after), limit)
}

func sbUpdate[T any](ctx context.Context, s *Store, k sbKind[T], p sbPath, fn func(T) (T, error)) (T, error) {
	var out T
	err := s.inTx(ctx, func(tx *Store) error {
		cur, err := sbGet(ctx, tx, k, p, true)
		if err != nil {
			return err
		}
		v, err := fn(cur)
		if err != nil {
			return err
		}
		np, cp := k.path(v), k.path(cur)
		if fmt.Sprint(np.keys()) != fmt.Sprint(cp.keys()) {
			return fmt.Errorf("sqlstore: update service bus %s %q: the updater moved it to %q", k.label, cp.display(), np.display())
		}
		props, err := k.encode(v)
		if err != nil {
			return err
		}
		c, u := k.times(&v)
		if _, err := tx.exec(ctx, "UPDATE servicebus_entities SET name = ?, properties = ?, created_at = ?, updated_at = ? WHERE namespace_key = ? AND topic_key = ? AND subscription_key = ? AND name_key = ?",
			append([]any{np.name, props, micros(*c), micros(*u)}, cp.keys()...)...); err != nil {
			return err
		}
		out, err = sbGet(ctx, tx, k, cp, false)
		return err
	})
	return out, s.wrapErr("update service bus "+k.label, err, "The entity changed concurrently.")
}

func sbDelete[T any](ctx context.Context, s *Store, k sbKind[T], p sbPath) error {
	err := s.inTx(ctx, func(tx *Store) error {
		return tx.execOne(ctx, func() error { return k.notFound(p) },
			"DELETE FROM servicebus_entities WHERE namespace_key = ? AND topic_key = ? AND subscription_key = ? AND name_key = ? AND kind = ?",
			append(p.keys(), k.kind)...)
	})
	return s.wrapErr("delete service bus "+k.label, err, "")
}

func (s *Store) CreateServiceBusQueue(ctx context.Context, q lanyard.ServiceBusQueue) error {
	return sbCreate(ctx, s, sbQueues, q)
}

func (s *Store) GetServiceBusQueue(ctx context.Context, ns, name string) (lanyard.ServiceBusQueue, error) {
	q, err := sbGet(ctx, s, sbQueues, sbPath{ns: ns, name: name}, false)
	return q, s.wrapErr("get service bus queue", err, "")
}

func (s *Store) ListServiceBusQueuesPage(ctx context.Context, ns, after string, limit int) ([]lanyard.ServiceBusQueue, error) {
	return sbPage(ctx, s, sbQueues, sbPath{ns: ns}, after, limit)
}

func (s *Store) UpdateServiceBusQueue(ctx context.Context, ns, name string, fn func(lanyard.ServiceBusQueue) (lanyard.ServiceBusQueue, error)) (lanyard.ServiceBusQueue, error) {
	return sbUpdate(ctx, s, sbQueues, sbPath{ns: ns, name: name}, fn)
}

func (s *Store) DeleteServiceBusQueue(ctx context.Context, ns, name string) error {
	return sbDelete(ctx, s, sbQueues, sbPath{ns: ns, name: name})
}

func (s *Store) CreateServiceBusTopic(ctx context.Context, t lanyard.ServiceBusTopic) error {
	return sbCreate(ctx, s, sbTopics, t)
}

func (s *Store) GetServiceBusTopic(ctx context.Context, ns, name string) (lanyard.ServiceBusTopic, error) {
	t, err := sbGet(ctx, s, sbTopics, sbPath{ns: ns, name: name}, false)
	return t, s.wrapErr("get service bus topic", err, "")
}

func (s *Store) ListServiceBusTopicsPage(ctx context.Context, ns, after string, limit int) ([]lanyard.ServiceBusTopic, error) {
	return sbPage(ctx, s, sbTopics, sbPath{ns: ns}, after, limit)
}

func (s *Store) UpdateServiceBusTopic(ctx context.Context, ns, name string, fn func(lanyard.ServiceBusTopic) (lanyard.ServiceBusTopic, error)) (lanyard.ServiceBusTopic, error) {
	return sbUpdate(ctx, s, sbTopics, sbPath{ns: ns, name: name}, fn)
}

func (s *Store) DeleteServiceBusTopic(ctx context.Context, ns, name string) error {
	return sbDelete(ctx, s, sbTopics, sbPath{ns: ns, name: name})
}

func (s *Store) CreateServiceBusSubscription(ctx context.Context, sub lanyard.ServiceBusSubscription) error {
	return sbCreate(ctx, s, sbSubscriptions, sub)
}

func (s *Store) GetServiceBusSubscription(ctx context.Context, ns, topic, name string) (lanyard.ServiceBusSubscription, error) {
	sub, err := sbGet(ctx, s, sbSubscriptions, sbPath{ns: ns, topic: topic, name: name}, false)
	return sub, s.wrapErr("get service bus subscription", err, "")
}

func (s *Store) ListServiceBusSubscriptionsPage(ctx context.Context, ns, topic, after string, limit int) ([]lanyard.ServiceBusSubscription, error) {
	return sbPage(ctx, s, sbSubscriptions, sbPath{ns: ns, topic: topic}, after, limit)
}

func (s *Store) UpdateServiceBusSubscription(ctx context.Context, ns, topic, name string, fn func(lanyard.ServiceBusSubscription) (lanyard.ServiceBusSubscription, error)) (lanyard.ServiceBusSubscription, error) {
	return sbUpdate(ctx, s, sbSubscriptions, sbPath{ns: ns, topic: topic, name: name}, fn)
}

func (s *Store) DeleteServiceBusSubscription(ctx context.Context, ns, topic, name string) error {
	return sbDelete(ctx, s, sbSubscriptions, sbPath{ns: ns, topic: topic, name: name})
}

func (s *Store) CreateServiceBusRule(ctx context.Context, r lanyard.ServiceBusRule) error {
	return sbCreate(ctx, s, sbRules, r)
}

func (s *Store) GetServiceBusRule(ctx context.Context, ns, topic, sub, name string) (lanyard.ServiceBusRule, error) {
	r, err := sbGet(ctx, s, sbRules, sbPath{ns: ns, topic: topic, sub: sub, name: name}, false)
	return r, s.wrapErr("get service bus rule", err, "")
}

func (s *Store) ListServiceBusRulesPage(ctx context.Context, ns, topic, sub, after string, limit int) ([]lanyard.ServiceBusRule, error) {
	return sbPage(ctx, s, sbRules, sbPath{ns: ns, topic: topic, sub: sub}, after, limit)
}

func (s *Store) UpdateServiceBusRule(ctx context.Context, ns, topic, sub, name string, fn func(lanyard.ServiceBusRule) (lanyard.ServiceBusRule, error)) (lanyard.ServiceBusRule, error) {
	return sbUpdate(ctx, s, sbRules, sbPath{ns: ns, topic: topic, sub: sub, name: name}, fn)
}

func (s *Store) DeleteServiceBusRule(ctx context.Context, ns, topic, sub, name string) error {
	return sbDelete(ctx, s, sbRules, sbPath{ns: ns, topic: topic, sub: sub, name: name})
}
