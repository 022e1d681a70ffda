package servicebus

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/sbfilter"
)

// The fakes' side of topics: subscriptions, rules, and grants at a scope.

func (a *fakeAuthorizer) allowAt(principal, action, scope string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.at == nil {
		a.at = map[string][]string{}
	}
	a.at[principal+"|"+action] = append(a.at[principal+"|"+action], scope)
}

// grants reports whether principal may do action at scope (below the namespace, or a
// full resource id): a namespace-wide grant, or one at scope or above it.
func (a *fakeAuthorizer) grants(principal, action, scope string) bool {
	if a.allowed[principal+"|"+action] {
		return true
	}
	if i := strings.Index(scope, "/namespaces/"); i >= 0 {
		_, scope, _ = strings.Cut(scope[i+len("/namespaces/"):], "/")
	}
	for _, g := range a.at[principal+"|"+action] {
		if strings.EqualFold(scope, g) || strings.HasPrefix(strings.ToLower(scope), strings.ToLower(g)+"/") {
			return true
		}
	}
	return false
}

func subKey(topic, sub string) string { return strings.ToLower(topic + "/" + sub) }

func (e *fakeEntities) GetServiceBusSubscription(_ context.Context, _, topic, name string) (lanyard.ServiceBusSubscription, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.subs[subKey(topic, name)]
	if !ok {
		return s, lanyard.Errorf(lanyard.KindNotFound, "no subscription %s/%s", topic, name)
	}
	return s, nil
}

func (e *fakeEntities) ListServiceBusSubscriptionsPage(_ context.Context, _, topic, after string, limit int) ([]lanyard.ServiceBusSubscription, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []lanyard.ServiceBusSubscription
	for _, s := range e.subs {
		if strings.EqualFold(s.Topic, topic) && strings.ToLower(s.Name) > strings.ToLower(after) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out[:min(len(out), limit)], nil
}

func (e *fakeEntities) ListServiceBusRulesPage(_ context.Context, _, topic, sub, after string, limit int) ([]lanyard.ServiceBusRule, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []lanyard.ServiceBusRule
	for _, r := range e.rules[subKey(topic, sub)] {
		if strings.ToLower(r.Name) > strings.ToLower(after) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out[:min(len(out), limit)], nil
}

// AddRule and DeleteRule stand for the directory's (whose checks directory's tests
// prove): a name taken is a conflict, a filter that does not parse is invalid.
func (e *fakeEntities) AddRule(_ context.Context, _ string, r lanyard.ServiceBusRule) (lanyard.ServiceBusRule, error) {
	if r.FilterType == lanyard.SQLFilter {
		if _, err := sbfilter.ParseFilter(r.SQLExpression); err != nil {
			return r, lanyard.Errorf(lanyard.KindInvalid, "%s", err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	k := subKey(r.Topic, r.Subscription)
	if _, ok := e.subs[k]; !ok {
		return r, lanyard.Errorf(lanyard.KindNotFound, "no subscription")
	}
	for _, old := range e.rules[k] {
		if strings.EqualFold(old.Name, r.Name) {
			return r, lanyard.Errorf(lanyard.KindConflict, "The rule '%s' already exists.", r.Name)
		}
	}
	r.CreatedAt = time.Now()
	e.rules[k] = append(e.rules[k], r)
	return r, nil
}

func (e *fakeEntities) DeleteRule(_ context.Context, _, _, topic, sub, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := subKey(topic, sub)
	for i, r := range e.rules[k] {
		if strings.EqualFold(r.Name, name) {
			e.rules[k] = slices.Delete(e.rules[k], i, i+1)
			return nil
		}
	}
	return lanyard.Errorf(lanyard.KindNotFound, "no rule %s", name)
}

// subscribe adds subscription name to topic with rules (none: no rule at all).
func (e *fakeEntities) subscribe(topic, name string, rules ...lanyard.ServiceBusRule) lanyard.ServiceBusSubscription {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.subs == nil {
		e.subs, e.rules = map[string]lanyard.ServiceBusSubscription{}, map[string][]lanyard.ServiceBusRule{}
	}
	s := lanyard.NewServiceBusSubscription("orders-ns", topic, name)
	s.LockDuration, s.MaxDeliveryCount = 2*time.Second, 2
	e.subs[subKey(topic, name)] = s
	for _, r := range rules {
		r.Namespace, r.Topic, r.Subscription = "orders-ns", topic, name
		e.rules[subKey(topic, name)] = append(e.rules[subKey(topic, name)], r)
	}
	return s
}

func sqlRule(name, expr, action string) lanyard.ServiceBusRule {
	return lanyard.ServiceBusRule{Name: name, FilterType: lanyard.SQLFilter, SQLExpression: expr, Action: action}
}

func defaultRule() lanyard.ServiceBusRule { return sqlRule(lanyard.DefaultRuleName, "1=1", "") }

// drain receives (peek-lock, completing) everything subscription sub holds, and checks
// by a peek that nothing is left.
func drain(t *testing.T, c *azservicebus.Client, topic, sub string, n int) []*azservicebus.ReceivedMessage {
	t.Helper()
	r, err := c.NewReceiverForSubscription(topic, sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	got := receive(t, r, n)
	for _, m := range got {
		if err := r.CompleteMessage(t.Context(), m, nil); err != nil {
			t.Fatalf("complete on %s: %v", sub, err)
		}
	}
	left, err := r.PeekMessages(t.Context(), 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n || len(left) != 0 {
		t.Fatalf("%s: received %v, and %d more left; want %d", sub, ids(got), len(left), n)
	}
	return got
}

func ids(ms []*azservicebus.ReceivedMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.MessageID
	}
	sort.Strings(out)
	return out
}

func ptr[T any](v T) *T { return &v }
