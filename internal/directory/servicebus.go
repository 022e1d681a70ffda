package directory

import (
	"cmp"
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/sbfilter"
	"github.com/lanyard-id/lanyard/internal/store"
)

// ServiceBusChange tells the messaging side what to catch up with: a namespace, or one
// entity of it, was created, changed or deleted.
type ServiceBusChange struct {
	Namespace string
	// Entity is the entity's path in the namespace (queue, topic,
	// topic/Subscriptions/sub, topic/Subscriptions/sub/Rules/rule); "" for the namespace.
	Entity  string
	Deleted bool
}

// ServiceBus manages Service Bus namespaces (Microsoft.ServiceBus/namespaces) and their
// queues, topics, subscriptions and rules, with Azure's names, defaults and limits: the
// management side of Service Bus. The messaging side reads entities through it.
type ServiceBus struct {
	Directory *Service
	// FreeAddress picks the listen address of a namespace created without one.
	FreeAddress func() (string, error)
}

// ServiceBusNamespaceSpec is what a PUT of a namespace says.
type ServiceBusNamespaceSpec struct {
	Location string
	Tags     map[string]string
	SKU      string // Basic, Standard or Premium; "" is Standard for a new namespace
	// Listen is host:port; "" picks one for a new namespace and keeps an existing one's.
	Listen string
}

// Azure's limits on Service Bus settings.
const (
	minLockDuration            = 5 * time.Second
	maxLockDuration            = 5 * time.Minute
	minTimeToLive              = time.Second
	minAutoDeleteOnIdle        = 5 * time.Minute
	minDuplicateDetectionDelay = 20 * time.Second
	maxDuplicateDetectionDelay = 7 * 24 * time.Hour
)

var (
	// A namespace name: 6-50 letters, digits and hyphens, starting with a letter and
	// ending with a letter or digit.
	serviceBusNamespaceName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]$`)
	// A queue or topic name: up to 260 letters, digits, periods, hyphens and underscores
	// (Azure also allows slashes, which an ARM path cannot carry), starting and ending
	// with a letter or digit.
	serviceBusEntityName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,258}[A-Za-z0-9])?$`)
	// A subscription or rule name: the same, up to 50 characters.
	serviceBusShortName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,48}[A-Za-z0-9])?$`)
	serviceBusSKUs      = []string{"Basic", "Standard", "Premium"}
	serviceBusSizes     = []int{1024, 2048, 3072, 4096, 5120, 10240, 20480, 40960, 81920}
)

func badServiceBus(format string, args ...any) error {
	return lanyard.Errorf(lanyard.KindInvalid, format, args...).WithCode("BadRequest")
}

func checkServiceBusNamespaceName(name string) error {
	lower := strings.ToLower(name)
	if !serviceBusNamespaceName.MatchString(name) || strings.HasSuffix(lower, "-sb") || strings.HasSuffix(lower, "-mgmt") {
		return badServiceBus("The specified service namespace '%s' is invalid: use 6-50 letters, digits and hyphens, starting with a letter, ending with a letter or digit, and not ending with -sb or -mgmt.", clip(name))
	}
	return nil
}

func checkServiceBusEntityName(what, name string) error {
	if !serviceBusEntityName.MatchString(name) {
		return badServiceBus("The %s name '%s' is invalid: use up to 260 letters, digits, periods, hyphens and underscores, starting and ending with a letter or digit.", what, clip(name))
	}
	return nil
}

func checkServiceBusShortName(what, name string) error {
	if !serviceBusShortName.MatchString(name) {
		return badServiceBus("The %s name '%s' is invalid: use up to 50 letters, digits, periods, hyphens and underscores, starting and ending with a letter or digit.", what, clip(name))
	}
	return nil
}

func serviceBusNamespaceNotFound(group, name string) error {
	return lanyard.Errorf(lanyard.KindNotFound,
		"The Resource '%s/%s' under resource group '%s' was not found.", lanyard.TypeServiceBusNamespace, clip(name), clip(group)).
		WithCode("ResourceNotFound")
}

func (b *ServiceBus) store() store.Store { return b.Directory.store }

func (b *ServiceBus) changed(c ServiceBusChange) {
	if h := b.Directory.OnServiceBusChange; h != nil {
		h(c)
	}
}

// NamespaceID is the ARM id of namespace name in group.
func (b *ServiceBus) NamespaceID(group, name string) string {
	return lanyard.ResourceIDOf(b.Directory.tenant.SubscriptionID, group, lanyard.TypeServiceBusNamespace, name)
}

// PutNamespace creates namespace name in group, or updates its tags and SKU. Names are
// global: one taken in another group is refused, as Azure refuses it.
func (b *ServiceBus) PutNamespace(ctx context.Context, group, name string, spec ServiceBusNamespaceSpec) (lanyard.ServiceBusNamespace, bool, error) {
	if err := checkServiceBusNamespaceName(name); err != nil {
		return lanyard.ServiceBusNamespace{}, false, err
	}
	if spec.SKU != "" {
		i := slices.IndexFunc(serviceBusSKUs, func(s string) bool { return strings.EqualFold(s, spec.SKU) })
		if i < 0 {
			return lanyard.ServiceBusNamespace{}, false, badServiceBus("The SKU '%s' is invalid: use Basic, Standard or Premium.", clip(spec.SKU))
		}
		spec.SKU = serviceBusSKUs[i]
	}
	if spec.Listen != "" {
		if err := checkListen(spec.Listen); err != nil {
			return lanyard.ServiceBusNamespace{}, false, err
		}
	}
	// A picked address may be one another node's namespace holds: pick again.
	for attempt := 0; ; attempt++ {
		n, created, err := b.putNamespace(ctx, group, name, spec)
		if lanyard.CodeOf(err) == "ListenAddressInUse" && spec.Listen == "" && attempt < 3 {
			continue
		}
		return n, created, err
	}
}

func (b *ServiceBus) putNamespace(ctx context.Context, group, name string, spec ServiceBusNamespaceSpec) (lanyard.ServiceBusNamespace, bool, error) {
	taken := badServiceBus("The specified name is not available.")
	n, created, err := putInGroup(ctx, b.Directory, group,
		func(tx store.Store, _ lanyard.ResourceGroup) (lanyard.ServiceBusNamespace, error) {
			return tx.GetServiceBusNamespace(ctx, name)
		},
		func(tx store.Store, g lanyard.ResourceGroup, existing lanyard.ServiceBusNamespace) (lanyard.ServiceBusNamespace, error) {
			if !lanyard.SameName(existing.ResourceGroup, g.Name) {
				return existing, taken
			}
			return tx.UpdateServiceBusNamespace(ctx, name, func(old lanyard.ServiceBusNamespace) (lanyard.ServiceBusNamespace, error) {
				b.Directory.retag(&old.Tags, &old.UpdatedAt, spec.Tags)
				old.SKU = cmp.Or(spec.SKU, old.SKU)
				old.Listen = cmp.Or(spec.Listen, old.Listen)
				return old, nil
			})
		},
		func(tx store.Store, g lanyard.ResourceGroup) (lanyard.ServiceBusNamespace, error) {
			now := b.Directory.clock()
			n := lanyard.ServiceBusNamespace{
				ResourceID: b.NamespaceID(g.Name, name), ResourceGroup: g.Name, Name: name,
				Location: cmp.Or(spec.Location, g.Location), Tags: spec.Tags, SKU: cmp.Or(spec.SKU, "Standard"),
				Listen: spec.Listen, CreatedAt: now, UpdatedAt: now,
			}
			if n.Listen == "" {
				var err error
				if n.Listen, err = b.freeAddress(); err != nil {
					return n, err
				}
			}
			return n, tx.CreateServiceBusNamespace(ctx, n)
		})
	if lanyard.IsConflict(err) {
		return n, false, taken // a racing creator in another group
	}
	if err == nil {
		b.changed(ServiceBusChange{Namespace: n.Name})
	}
	return n, created, err
}

func (b *ServiceBus) freeAddress() (string, error) {
	if b.FreeAddress == nil {
		return "", badServiceBus("Give the namespace a listen address.")
	}
	addr, err := b.FreeAddress()
	if err != nil {
		return "", lanyard.Errorf(lanyard.KindUnavailable, "No free address to listen on: %v", err).WithCode("ServiceUnavailable")
	}
	return addr, nil
}

// CheckNamespaceName says whether name may be given to a new namespace, in Service Bus's
// checkNameAvailability terms (reasons InvalidName and NameInUse).
func (b *ServiceBus) CheckNamespaceName(ctx context.Context, name string) (NameAvailability, error) {
	if err := checkServiceBusNamespaceName(name); err != nil {
		return NameAvailability{Reason: "InvalidName", Message: lanyard.MessageOf(err)}, nil
	}
	_, err := b.store().GetServiceBusNamespace(ctx, name)
	switch {
	case lanyard.IsNotFound(err):
		return NameAvailability{Available: true, Reason: "None"}, nil
	case err != nil:
		return NameAvailability{}, err
	}
	return NameAvailability{Reason: "NameInUse", Message: "The specified name is not available."}, nil
}

// GetNamespace returns namespace name, which must be in group ("" for any group).
func (b *ServiceBus) GetNamespace(ctx context.Context, group, name string) (lanyard.ServiceBusNamespace, error) {
	n, err := b.store().GetServiceBusNamespace(ctx, name)
	if lanyard.IsNotFound(err) || err == nil && group != "" && !lanyard.SameName(n.ResourceGroup, group) {
		return lanyard.ServiceBusNamespace{}, serviceBusNamespaceNotFound(group, name)
	}
	return n, err
}

// ListNamespacesPage lists up to limit namespaces in group ("" for all groups) whose
// names sort after after, as store.ServiceBus.ListServiceBusNamespacesPage orders them. A
// missing group is NotFound.
func (b *ServiceBus) ListNamespacesPage(ctx context.Context, group, after string, limit int) ([]lanyard.ServiceBusNamespace, error) {
	if err := b.Directory.groupExists(ctx, group); err != nil {
		return nil, err
	}
	return b.store().ListServiceBusNamespacesPage(ctx, group, after, limit)
}

// DeleteNamespace deletes namespace name of group with its entities and the role
// assignments scoped to it or below.
func (b *ServiceBus) DeleteNamespace(ctx context.Context, group, name string) error {
	var (
		n       lanyard.ServiceBusNamespace
		removed []string
	)
	err := b.store().InTx(ctx, func(tx store.Store) error {
		var err error
		n, err = tx.GetServiceBusNamespace(ctx, name)
		if lanyard.IsNotFound(err) || err == nil && !lanyard.SameName(n.ResourceGroup, group) {
			return serviceBusNamespaceNotFound(group, name)
		}
		if err != nil {
			return err
		}
		if removed, err = removeAssignmentsUnder(ctx, tx, n.ResourceID); err != nil {
			return err
		}
		return tx.DeleteServiceBusNamespace(ctx, n.Name)
	})
	if err != nil {
		return err
	}
	b.Directory.assignmentsRemoved(removed)
	b.changed(ServiceBusChange{Namespace: n.Name, Deleted: true})
	return nil
}

// deleteServiceBusNamespacesOf deletes the namespaces of group, inside tx, and returns
// their names.
func deleteServiceBusNamespacesOf(ctx context.Context, tx store.Store, group string) ([]string, error) {
	ns, err := tx.ListServiceBusNamespaces(ctx, group)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ns))
	for _, n := range ns {
		if err := tx.DeleteServiceBusNamespace(ctx, n.Name); err != nil {
			return nil, err
		}
		names = append(names, n.Name)
	}
	return names, nil
}

// Entities. Every entity call names the namespace's group: a namespace of that name in
// another group is not found, so nothing in it is reachable through a path of this group.

// namespace returns the namespace an entity call names, or NotFound.
func (b *ServiceBus) namespace(ctx context.Context, tx store.Store, group, name string) (lanyard.ServiceBusNamespace, error) {
	n, err := tx.GetServiceBusNamespace(ctx, name)
	if lanyard.IsNotFound(err) || err == nil && !lanyard.SameName(n.ResourceGroup, group) {
		return lanyard.ServiceBusNamespace{}, serviceBusNamespaceNotFound(group, name)
	}
	return n, err
}

func checkDuration(what string, d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		hiText := lanyard.FormatISODuration(hi)
		return badServiceBus("The %s %s is out of range: it must be between %s and %s.", what, lanyard.FormatISODuration(d), lanyard.FormatISODuration(lo), hiText)
	}
	return nil
}

// checkForward checks that a forwardTo names another queue or topic of the namespace, as
// Azure requires, and then refuses it: Lanyard does not auto-forward, and a setting
// stored but not honoured would lose the messages it promises to move.
func checkForward(ctx context.Context, tx store.Store, ns, self, what, to string) error {
	if err := checkForwardTarget(ctx, tx, ns, self, what, to); err != nil || to == "" {
		return err
	}
	return lanyard.Errorf(lanyard.KindInvalid, "%s is not supported by Lanyard: it does not auto-forward messages yet. Receive from the entity and send to '%s' instead.", what, clip(to)).WithCode("BadRequest")
}

func checkForwardTarget(ctx context.Context, tx store.Store, ns, self, what, to string) error {
	if to == "" {
		return nil
	}
	if strings.EqualFold(to, self) {
		return badServiceBus("The entity cannot forward to itself (%s).", what)
	}
	if _, err := tx.GetServiceBusQueue(ctx, ns, to); err == nil {
		return nil
	} else if !lanyard.IsNotFound(err) {
		return err
	}
	if _, err := tx.GetServiceBusTopic(ctx, ns, to); err == nil {
		return nil
	} else if !lanyard.IsNotFound(err) {
		return err
	}
	return badServiceBus("The %s entity '%s' could not be found in the namespace.", what, clip(to))
}

func checkQueue(q lanyard.ServiceBusQueue) error {
	if err := checkServiceBusEntityName("queue", q.Name); err != nil {
		return err
	}
	return checkEntitySettings(q.LockDuration, q.MaxDeliveryCount, q.DefaultMessageTimeToLive, q.AutoDeleteOnIdle,
		q.RequiresDuplicateDetection, q.DuplicateDetectionHistoryTimeWindow, q.MaxSizeInMegabytes, true)
}

// checkEntitySettings checks what queues, topics and subscriptions share; withLock says
// whether the entity has a lock duration and a delivery count (a topic has neither), and
// a size of 0 is no size (a subscription has none).
func checkEntitySettings(lock time.Duration, maxDelivery int, ttl, idle time.Duration, dedup bool, window time.Duration, size int, withLock bool) error {
	if withLock {
		if err := checkDuration("lockDuration", lock, minLockDuration, maxLockDuration); err != nil {
			return err
		}
		if maxDelivery < 1 {
			return badServiceBus("The maxDeliveryCount %d is out of range: it must be at least 1.", maxDelivery)
		}
	}
	if err := checkDuration("defaultMessageTimeToLive", ttl, minTimeToLive, lanyard.Never); err != nil {
		return err
	}
	if err := checkDuration("autoDeleteOnIdle", idle, minAutoDeleteOnIdle, lanyard.Never); err != nil {
		return err
	}
	if dedup {
		if err := checkDuration("duplicateDetectionHistoryTimeWindow", window, minDuplicateDetectionDelay, maxDuplicateDetectionDelay); err != nil {
			return err
		}
	}
	if size != 0 && !slices.Contains(serviceBusSizes, size) {
		return badServiceBus("The maxSizeInMegabytes %d is invalid: use 1024, 2048, 3072, 4096 or 5120 (more on Premium).", size)
	}
	return nil
}

// immutable refuses a change Azure refuses on an existing entity.
func immutable(what string, old, new bool) error {
	if old != new {
		return badServiceBus("The %s property cannot be changed on an existing entity; delete and re-create it.", what)
	}
	return nil
}

// PutQueue creates queue q (q.Namespace names the namespace, of group) or replaces its
// settings, as Azure's PUT does: settings the caller left out have their defaults
// (lanyard.NewServiceBusQueue). requiresSession and requiresDuplicateDetection are fixed
// at creation.
func (b *ServiceBus) PutQueue(ctx context.Context, group string, q lanyard.ServiceBusQueue) (lanyard.ServiceBusQueue, bool, error) {
	if err := checkQueue(q); err != nil {
		return q, false, err
	}
	var (
		out     lanyard.ServiceBusQueue
		created bool
	)
	err := b.store().InTx(ctx, func(tx store.Store) error {
		n, err := b.namespace(ctx, tx, group, q.Namespace)
		if err != nil {
			return err
		}
		q.Namespace = n.Name
		if err := checkForward(ctx, tx, n.Name, q.Name, "forwardTo", q.ForwardTo); err != nil {
			return err
		}
		if err := checkForward(ctx, tx, n.Name, q.Name, "forwardDeadLetteredMessagesTo", q.ForwardDeadLetteredMessagesTo); err != nil {
			return err
		}
		now := b.Directory.clock()
		out, err = tx.UpdateServiceBusQueue(ctx, n.Name, q.Name, func(old lanyard.ServiceBusQueue) (lanyard.ServiceBusQueue, error) {
			if err := immutable("requiresSession", old.RequiresSession, q.RequiresSession); err != nil {
				return old, err
			}
			if err := immutable("requiresDuplicateDetection", old.RequiresDuplicateDetection, q.RequiresDuplicateDetection); err != nil {
				return old, err
			}
			nq := q
			nq.Name, nq.CreatedAt, nq.UpdatedAt = old.Name, old.CreatedAt, now
			return nq, nil
		})
		if !lanyard.IsNotFound(err) {
			return err
		}
		q.CreatedAt, q.UpdatedAt = now, now
		out, created = q, true
		return tx.CreateServiceBusQueue(ctx, q)
	})
	if err != nil {
		return out, false, b.entityErr(err, q.Name)
	}
	b.changed(ServiceBusChange{Namespace: out.Namespace, Entity: out.Name})
	return out, created, nil
}

// entityErr says why an entity could not be created: its name is taken by an entity of
// the other kind (queues and topics share names).
func (b *ServiceBus) entityErr(err error, name string) error {
	if lanyard.IsConflict(err) {
		return lanyard.Errorf(lanyard.KindConflict, "The messaging entity '%s' already exists as another kind of entity (queues and topics share names).", clip(name)).WithCode("Conflict")
	}
	return err
}

// GetQueue returns queue name of namespace ns in group.
func (b *ServiceBus) GetQueue(ctx context.Context, group, ns, name string) (lanyard.ServiceBusQueue, error) {
	if _, err := b.namespace(ctx, b.store(), group, ns); err != nil {
		return lanyard.ServiceBusQueue{}, err
	}
	return b.store().GetServiceBusQueue(ctx, ns, name)
}

// ListQueuesPage lists up to limit queues of namespace ns in group whose names sort after
// after, ordered by name.
func (b *ServiceBus) ListQueuesPage(ctx context.Context, group, ns, after string, limit int) ([]lanyard.ServiceBusQueue, error) {
	if _, err := b.namespace(ctx, b.store(), group, ns); err != nil {
		return nil, err
	}
	return b.store().ListServiceBusQueuesPage(ctx, ns, after, limit)
}

// DeleteQueue deletes queue name with the role assignments scoped to it.
func (b *ServiceBus) DeleteQueue(ctx context.Context, group, ns, name string) error {
	return b.deleteEntity(ctx, group, ns, "queues", func(tx store.Store, n lanyard.ServiceBusNamespace) (string, error) {
		q, err := tx.GetServiceBusQueue(ctx, n.Name, name)
		if err != nil {
			return "", err
		}
		return q.Name, tx.DeleteServiceBusQueue(ctx, n.Name, q.Name)
	})
}

// deleteEntity runs del in a transaction after finding the namespace, removes the role
// assignments at the entity's id (a queue's or topic's; subscriptions and rules are no
// scope) and tells the change hook.
func (b *ServiceBus) deleteEntity(ctx context.Context, group, ns, collection string, del func(tx store.Store, n lanyard.ServiceBusNamespace) (string, error)) error {
	var (
		n       lanyard.ServiceBusNamespace
		removed []string
		entity  string
	)
	err := b.store().InTx(ctx, func(tx store.Store) error {
		var err error
		if n, err = b.namespace(ctx, tx, group, ns); err != nil {
			return err
		}
		if entity, err = del(tx, n); err != nil {
			return err
		}
		if collection != "" {
			removed, err = removeAssignmentsUnder(ctx, tx, n.ResourceID+"/"+collection+"/"+entity)
		}
		return err
	})
	if err != nil {
		return err
	}
	b.Directory.assignmentsRemoved(removed)
	b.changed(ServiceBusChange{Namespace: n.Name, Entity: entity, Deleted: true})
	return nil
}

// PutTopic creates topic t or replaces its settings, as PutQueue does for a queue. A
// Basic namespace has no topics, as on Azure.
func (b *ServiceBus) PutTopic(ctx context.Context, group string, t lanyard.ServiceBusTopic) (lanyard.ServiceBusTopic, bool, error) {
	if err := checkServiceBusEntityName("topic", t.Name); err != nil {
		return t, false, err
	}
	if err := checkEntitySettings(0, 0, t.DefaultMessageTimeToLive, t.AutoDeleteOnIdle, t.RequiresDuplicateDetection,
		t.DuplicateDetectionHistoryTimeWindow, t.MaxSizeInMegabytes, false); err != nil {
		return t, false, err
	}
	var (
		out     lanyard.ServiceBusTopic
		created bool
	)
	err := b.store().InTx(ctx, func(tx store.Store) error {
		n, err := b.namespace(ctx, tx, group, t.Namespace)
		if err != nil {
			return err
		}
		if n.SKU == "Basic" {
			return badServiceBus("Topics are not supported in the Basic tier; use a Standard or Premium namespace.")
		}
		t.Namespace = n.Name
		now := b.Directory.clock()
		out, err = tx.UpdateServiceBusTopic(ctx, n.Name, t.Name, func(old lanyard.ServiceBusTopic) (lanyard.ServiceBusTopic, error) {
			if err := immutable("requiresDuplicateDetection", old.RequiresDuplicateDetection, t.RequiresDuplicateDetection); err != nil {
				return old, err
			}
			nt := t
			nt.Name, nt.CreatedAt, nt.UpdatedAt = old.Name, old.CreatedAt, now
			return nt, nil
		})
		if !lanyard.IsNotFound(err) {
			return err
		}
		t.CreatedAt, t.UpdatedAt = now, now
		out, created = t, true
		return tx.CreateServiceBusTopic(ctx, t)
	})
	if err != nil {
		return out, false, b.entityErr(err, t.Name)
	}
	b.changed(ServiceBusChange{Namespace: out.Namespace, Entity: out.Name})
	return out, created, nil
}

// GetTopic returns topic name of namespace ns in group.
func (b *ServiceBus) GetTopic(ctx context.Context, group, ns, name string) (lanyard.ServiceBusTopic, error) {
	if _, err := b.namespace(ctx, b.store(), group, ns); err != nil {
		return lanyard.ServiceBusTopic{}, err
	}
	return b.store().GetServiceBusTopic(ctx, ns, name)
}

// ListTopicsPage lists up to limit topics of namespace ns whose names sort after after.
func (b *ServiceBus) ListTopicsPage(ctx context.Context, group, ns, after string, limit int) ([]lanyard.ServiceBusTopic, error) {
	if _, err := b.namespace(ctx, b.store(), group, ns); err != nil {
		return nil, err
	}
	return b.store().ListServiceBusTopicsPage(ctx, ns, after, limit)
}

// DeleteTopic deletes topic name with its subscriptions and rules, and the role
// assignments scoped to it.
func (b *ServiceBus) DeleteTopic(ctx context.Context, group, ns, name string) error {
	return b.deleteEntity(ctx, group, ns, "topics", func(tx store.Store, n lanyard.ServiceBusNamespace) (string, error) {
		t, err := tx.GetServiceBusTopic(ctx, n.Name, name)
		if err != nil {
			return "", err
		}
		return t.Name, tx.DeleteServiceBusTopic(ctx, n.Name, t.Name)
	})
}

// topic returns the topic a subscription or rule call names, after its namespace.
func (b *ServiceBus) topic(ctx context.Context, tx store.Store, group, ns, topic string) (lanyard.ServiceBusTopic, error) {
	n, err := b.namespace(ctx, tx, group, ns)
	if err != nil {
		return lanyard.ServiceBusTopic{}, err
	}
	return tx.GetServiceBusTopic(ctx, n.Name, topic)
}

// PutSubscription creates subscription s of its topic, with the $Default rule that lets
// every message through (as Azure creates it), or replaces its settings.
// requiresSession is fixed at creation.
func (b *ServiceBus) PutSubscription(ctx context.Context, group string, s lanyard.ServiceBusSubscription) (lanyard.ServiceBusSubscription, bool, error) {
	if err := checkServiceBusShortName("subscription", s.Name); err != nil {
		return s, false, err
	}
	if err := checkEntitySettings(s.LockDuration, s.MaxDeliveryCount, s.DefaultMessageTimeToLive, s.AutoDeleteOnIdle, false, 0, 0, true); err != nil {
		return s, false, err
	}
	var (
		out     lanyard.ServiceBusSubscription
		created bool
	)
	err := b.store().InTx(ctx, func(tx store.Store) error {
		t, err := b.topic(ctx, tx, group, s.Namespace, s.Topic)
		if err != nil {
			return err
		}
		s.Namespace, s.Topic = t.Namespace, t.Name
		if err := checkForward(ctx, tx, t.Namespace, "", "forwardTo", s.ForwardTo); err != nil {
			return err
		}
		if err := checkForward(ctx, tx, t.Namespace, "", "forwardDeadLetteredMessagesTo", s.ForwardDeadLetteredMessagesTo); err != nil {
			return err
		}
		now := b.Directory.clock()
		out, err = tx.UpdateServiceBusSubscription(ctx, t.Namespace, t.Name, s.Name, func(old lanyard.ServiceBusSubscription) (lanyard.ServiceBusSubscription, error) {
			if err := immutable("requiresSession", old.RequiresSession, s.RequiresSession); err != nil {
				return old, err
			}
			ns := s
			ns.Name, ns.CreatedAt, ns.UpdatedAt = old.Name, old.CreatedAt, now
			return ns, nil
		})
		if !lanyard.IsNotFound(err) {
			return err
		}
		s.CreatedAt, s.UpdatedAt = now, now
		out, created = s, true
		if err := tx.CreateServiceBusSubscription(ctx, s); err != nil {
			return err
		}
		return tx.CreateServiceBusRule(ctx, lanyard.ServiceBusRule{
			Namespace: s.Namespace, Topic: s.Topic, Subscription: s.Name, Name: lanyard.DefaultRuleName,
			FilterType: lanyard.SQLFilter, SQLExpression: "1=1", CreatedAt: now, UpdatedAt: now,
		})
	})
	if err != nil {
		return out, false, err
	}
	b.changed(ServiceBusChange{Namespace: out.Namespace, Entity: out.Topic + "/Subscriptions/" + out.Name})
	return out, created, nil
}

// GetSubscription returns subscription name of topic.
func (b *ServiceBus) GetSubscription(ctx context.Context, group, ns, topic, name string) (lanyard.ServiceBusSubscription, error) {
	t, err := b.topic(ctx, b.store(), group, ns, topic)
	if err != nil {
		return lanyard.ServiceBusSubscription{}, err
	}
	return b.store().GetServiceBusSubscription(ctx, t.Namespace, t.Name, name)
}

// ListSubscriptionsPage lists up to limit subscriptions of topic whose names sort after
// after.
func (b *ServiceBus) ListSubscriptionsPage(ctx context.Context, group, ns, topic, after string, limit int) ([]lanyard.ServiceBusSubscription, error) {
	t, err := b.topic(ctx, b.store(), group, ns, topic)
	if err != nil {
		return nil, err
	}
	return b.store().ListServiceBusSubscriptionsPage(ctx, t.Namespace, t.Name, after, limit)
}

// DeleteSubscription deletes subscription name of topic with its rules.
func (b *ServiceBus) DeleteSubscription(ctx context.Context, group, ns, topic, name string) error {
	return b.deleteEntity(ctx, group, ns, "", func(tx store.Store, n lanyard.ServiceBusNamespace) (string, error) {
		s, err := tx.GetServiceBusSubscription(ctx, n.Name, topic, name)
		if err != nil {
			return "", err
		}
		return s.Topic + "/Subscriptions/" + s.Name, tx.DeleteServiceBusSubscription(ctx, n.Name, s.Topic, s.Name)
	})
}

// checkRule checks a rule's name, filter and action: a SQL filter needs an expression
// Service Bus would accept, a correlation filter at least one property to match, an
// action valid SQL action syntax.
func checkRule(r lanyard.ServiceBusRule) error {
	if r.Name != lanyard.DefaultRuleName {
		if err := checkServiceBusShortName("rule", r.Name); err != nil {
			return err
		}
	}
	switch r.FilterType {
	case lanyard.SQLFilter:
		if strings.TrimSpace(r.SQLExpression) == "" {
			return badServiceBus("A SqlFilter needs a sqlExpression.")
		}
		if _, err := sbfilter.ParseFilter(r.SQLExpression); err != nil {
			return badServiceBus("%s", err)
		}
	case lanyard.CorrelationFilter:
		c := r.Correlation
		if c.CorrelationID+c.MessageID+c.To+c.ReplyTo+c.Label+c.SessionID+c.ReplyToSessionID+c.ContentType == "" && len(c.Properties) == 0 {
			return badServiceBus("A CorrelationFilter needs at least one property to match.")
		}
	default:
		return badServiceBus("The filterType '%s' is invalid: use SqlFilter or CorrelationFilter.", clip(string(r.FilterType)))
	}
	if r.Action != "" {
		if _, err := sbfilter.ParseAction(r.Action); err != nil {
			return badServiceBus("%s", err)
		}
	}
	if n := utf8.RuneCountInString(r.SQLExpression); n > sbfilter.MaxExpressionLength {
		return badServiceBus("A rule's SQL expressions are limited to %d characters.", sbfilter.MaxExpressionLength)
	}
	return nil
}

// PutRule creates rule r of its subscription or replaces it. Rule expressions are stored
// as given; the messaging side evaluates them.
func (b *ServiceBus) PutRule(ctx context.Context, group string, r lanyard.ServiceBusRule) (lanyard.ServiceBusRule, bool, error) {
	if err := checkRule(r); err != nil {
		return r, false, err
	}
	var (
		out     lanyard.ServiceBusRule
		created bool
	)
	err := b.store().InTx(ctx, func(tx store.Store) error {
		if err := b.ruleSubscription(ctx, tx, group, &r); err != nil {
			return err
		}
		now := b.Directory.clock()
		var err error
		out, err = tx.UpdateServiceBusRule(ctx, r.Namespace, r.Topic, r.Subscription, r.Name, func(old lanyard.ServiceBusRule) (lanyard.ServiceBusRule, error) {
			nr := r
			nr.Name, nr.CreatedAt, nr.UpdatedAt = old.Name, old.CreatedAt, now
			return nr, nil
		})
		if !lanyard.IsNotFound(err) {
			return err
		}
		r.CreatedAt, r.UpdatedAt = now, now
		out, created = r, true
		return tx.CreateServiceBusRule(ctx, r)
	})
	if err != nil {
		return out, false, err
	}
	b.ruleChanged(out)
	return out, created, nil
}

// ruleSubscription checks that rule r's subscription exists in group and gives r the
// names its namespace, topic and subscription are stored under.
func (b *ServiceBus) ruleSubscription(ctx context.Context, tx store.Store, group string, r *lanyard.ServiceBusRule) error {
	t, err := b.topic(ctx, tx, group, r.Namespace, r.Topic)
	if err != nil {
		return err
	}
	s, err := tx.GetServiceBusSubscription(ctx, t.Namespace, t.Name, r.Subscription)
	if err != nil {
		return err
	}
	r.Namespace, r.Topic, r.Subscription = s.Namespace, s.Topic, s.Name
	return nil
}

func (b *ServiceBus) ruleChanged(r lanyard.ServiceBusRule) {
	b.changed(ServiceBusChange{Namespace: r.Namespace, Entity: r.Topic + "/Subscriptions/" + r.Subscription + "/Rules/" + r.Name})
}

// GetRule returns rule name of a subscription.
func (b *ServiceBus) GetRule(ctx context.Context, group, ns, topic, sub, name string) (lanyard.ServiceBusRule, error) {
	t, err := b.topic(ctx, b.store(), group, ns, topic)
	if err != nil {
		return lanyard.ServiceBusRule{}, err
	}
	return b.store().GetServiceBusRule(ctx, t.Namespace, t.Name, sub, name)
}

// ListRulesPage lists up to limit rules of a subscription whose names sort after after. A
// missing subscription is NotFound.
func (b *ServiceBus) ListRulesPage(ctx context.Context, group, ns, topic, sub, after string, limit int) ([]lanyard.ServiceBusRule, error) {
	t, err := b.topic(ctx, b.store(), group, ns, topic)
	if err != nil {
		return nil, err
	}
	s, err := b.store().GetServiceBusSubscription(ctx, t.Namespace, t.Name, sub)
	if err != nil {
		return nil, err
	}
	return b.store().ListServiceBusRulesPage(ctx, s.Namespace, s.Topic, s.Name, after, limit)
}

// DeleteRule deletes rule name of a subscription.
func (b *ServiceBus) DeleteRule(ctx context.Context, group, ns, topic, sub, name string) error {
	return b.deleteEntity(ctx, group, ns, "", func(tx store.Store, n lanyard.ServiceBusNamespace) (string, error) {
		r, err := tx.GetServiceBusRule(ctx, n.Name, topic, sub, name)
		if err != nil {
			return "", err
		}
		return r.Topic + "/Subscriptions/" + r.Subscription + "/Rules/" + r.Name, tx.DeleteServiceBusRule(ctx, n.Name, r.Topic, r.Subscription, r.Name)
	})
}

// checkServiceBusScope checks a scope in a namespace: the namespace must be in the group,
// and a queue or topic it names must exist (Service Bus's data roles are assigned there).
// What lies further below is not looked up.
func (s *Service) checkServiceBusScope(ctx context.Context, id lanyard.ResourceID) error {
	b := &ServiceBus{Directory: s}
	n, err := b.namespace(ctx, s.store, id.ResourceGroup, id.Names[0])
	if err != nil || len(id.Types) < 2 {
		return err
	}
	switch {
	case strings.EqualFold(id.Types[1], "queues"):
		_, err = s.store.GetServiceBusQueue(ctx, n.Name, id.Names[1])
	case strings.EqualFold(id.Types[1], "topics"):
		_, err = s.store.GetServiceBusTopic(ctx, n.Name, id.Names[1])
	}
	return err
}

// ServiceBusNamespaces resolves namespace names for the messaging side's authorizer.
type ServiceBusNamespaces struct{ Directory *Service }

// ResourceID returns namespace name's ARM id, the scope its role assignments are under.
func (n ServiceBusNamespaces) ResourceID(ctx context.Context, name string) (string, error) {
	ns, err := n.Directory.store.GetServiceBusNamespace(ctx, name)
	return ns.ResourceID, err
}
