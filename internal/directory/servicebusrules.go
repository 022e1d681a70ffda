package directory

import (
	"context"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

// AddRule creates rule r of its subscription, as a rule manager's add-rule does over
// AMQP: with PutRule's checks, but a rule of that name already there is a Conflict
// (Service Bus's MessagingEntityAlreadyExists), not replaced.
func (b *ServiceBus) AddRule(ctx context.Context, group string, r lanyard.ServiceBusRule) (lanyard.ServiceBusRule, error) {
	if err := checkRule(r); err != nil {
		return r, err
	}
	err := b.store().InTx(ctx, func(tx store.Store) error {
		t, err := b.topic(ctx, tx, group, r.Namespace, r.Topic)
		if err != nil {
			return err
		}
		s, err := tx.GetServiceBusSubscription(ctx, t.Namespace, t.Name, r.Subscription)
		if err != nil {
			return err
		}
		r.Namespace, r.Topic, r.Subscription = s.Namespace, s.Topic, s.Name
		now := b.Directory.clock()
		r.CreatedAt, r.UpdatedAt = now, now
		return tx.CreateServiceBusRule(ctx, r)
	})
	if lanyard.IsConflict(err) {
		return r, lanyard.Errorf(lanyard.KindConflict, "The rule '%s' already exists on the subscription.", clip(r.Name)).WithCode("Conflict")
	}
	if err != nil {
		return r, err
	}
	b.changed(ServiceBusChange{Namespace: r.Namespace, Entity: r.Topic + "/Subscriptions/" + r.Subscription + "/Rules/" + r.Name})
	return r, nil
}
