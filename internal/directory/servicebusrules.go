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
		if err := b.ruleSubscription(ctx, tx, group, &r); err != nil {
			return err
		}
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
	b.ruleChanged(r)
	return r, nil
}
