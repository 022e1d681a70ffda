package server

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/config"
	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/messaging"
	"github.com/lanyard-id/lanyard/internal/servicebus"
)

// openServiceBus opens the queue store and the AMQP broker (it serves no namespace until
// syncServiceBus), and keeps the store in step with queues deleted through the API.
func (s *Server) openServiceBus(ctx context.Context, f *foundation, svc *services, ep endpoints) error {
	queues, err := s.openQueues(ctx)
	if err != nil {
		return fmt.Errorf("service bus queue store: %w", err)
	}
	s.queues = queues
	broker, err := servicebus.New(servicebus.Config{
		Store: queues, Entities: f.cached, Rules: svc.serviceBus,
		Authorizer: &access.Authorizer{Access: svc.access, Verifier: s.verifier(ep.issuerURL(s.tenant.ID)),
			Resources: directory.ServiceBusNamespaces{Directory: svc.directory}, Recorder: s.obs, Service: "servicebus"},
		Certificates: f.ca, Metrics: servicebus.NewMetrics(s.obs.metrics.Registerer()), Logger: s.logger,
		BindHost: s.cfg.ServiceBusBindHost,
	})
	if err != nil {
		return err
	}
	s.serviceBus = broker
	svc.counts = queueCounts{store: queues, entities: f.cached}
	servicebus.WatchDepths(s.obs.metrics.Registerer(), s.allQueues, queues)
	svc.serviceBus.FreeAddress = s.serviceBusAddress
	svc.directory.OnServiceBusChange = func(c directory.ServiceBusChange) {
		ctx := context.WithoutCancel(ctx)
		// A queue, topic, subscription or namespace made again under the same name starts
		// empty. A topic's deletion takes its subscriptions' messages (DeleteQueue).
		var err error
		switch {
		case c.Deleted && c.Entity == "":
			err = queues.DeleteNamespace(ctx, strings.ToLower(c.Namespace))
		case c.Deleted && !strings.Contains(c.Entity, "/Rules/"):
			err = queues.DeleteQueue(ctx, strings.ToLower(c.Namespace), strings.ToLower(c.Entity))
		}
		if err != nil {
			s.logger.Error("deleting the messages of a deleted entity or namespace failed", "namespace", c.Namespace, "entity", c.Entity, "err", err)
		}
		if c.Entity == "" {
			_ = s.syncServiceBus(ctx)
		}
	}
	s.readiness.add("service bus queues", queues.Ready)
	return nil
}

// syncServiceBus makes the broker serve the namespaces in the store. A namespace whose
// address is beyond loopback is left unserved unless the node allows it.
func (s *Server) syncServiceBus(ctx context.Context) error {
	if s.serviceBus == nil {
		return nil
	}
	all, err := s.store.ListServiceBusNamespaces(ctx, "")
	if err != nil {
		return fmt.Errorf("list Service Bus namespaces: %w", err)
	}
	served := all[:0]
	for _, n := range all {
		host, _, _ := net.SplitHostPort(n.Listen)
		if s.cfg.ServiceBusBindHost != "" {
			host = s.cfg.ServiceBusBindHost
		}
		if n.Listen == "" || !s.cfg.AllowNonLoopback && !config.IsLoopback(host) {
			s.logger.Error("a Service Bus namespace's listen address is beyond loopback: not served (set allowNonLoopback to serve it)", "namespace", n.Name, "listen", n.Listen)
			continue
		}
		served = append(served, n)
	}
	s.serviceBus.Sync(served)
	return nil
}

// serviceBusAddress picks a new namespace's address: serviceBus.defaultListen while no
// namespace holds it and it can be bound, else a free loopback port.
func (s *Server) serviceBusAddress() (string, error) {
	def := s.cfg.ServiceBusDefaultListen
	if _, port, err := net.SplitHostPort(def); err == nil && port != "0" {
		all, err := s.store.ListServiceBusNamespaces(context.Background(), "")
		if err != nil {
			return "", err
		}
		taken := false
		for _, n := range all {
			taken = taken || strings.EqualFold(n.Listen, def)
		}
		if !taken {
			if l, err := net.Listen("tcp", def); err == nil {
				_ = l.Close()
				return def, nil
			}
		}
	}
	return freeLoopbackAddress()
}

// allQueues lists every queue and subscription of every namespace, for the depth gauges.
func (s *Server) allQueues(ctx context.Context) ([]messaging.Queue, error) {
	nss, err := s.store.ListServiceBusNamespaces(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []messaging.Queue
	for _, n := range nss {
		after := ""
		for {
			page, err := s.store.ListServiceBusQueuesPage(ctx, n.Name, after, 500)
			if err != nil {
				return nil, err
			}
			for _, q := range page {
				out = append(out, servicebus.QueueOf(q))
			}
			if len(page) < 500 {
				break
			}
			after = page[len(page)-1].Name
		}
		subs, err := s.allSubscriptions(ctx, n.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, subs...)
	}
	return out, nil
}

// allSubscriptions lists the subscriptions of every topic of namespace ns, as queues.
func (s *Server) allSubscriptions(ctx context.Context, ns string) ([]messaging.Queue, error) {
	var out []messaging.Queue
	after := ""
	for {
		topics, err := s.store.ListServiceBusTopicsPage(ctx, ns, after, 500)
		if err != nil {
			return nil, err
		}
		for _, t := range topics {
			subAfter := ""
			for {
				page, err := s.store.ListServiceBusSubscriptionsPage(ctx, ns, t.Name, subAfter, 500)
				if err != nil {
					return nil, err
				}
				for _, sub := range page {
					out = append(out, servicebus.SubscriptionQueue(sub))
				}
				if len(page) < 500 {
					break
				}
				subAfter = page[len(page)-1].Name
			}
		}
		if len(topics) < 500 {
			return out, nil
		}
		after = topics[len(topics)-1].Name
	}
}

// queueCounts answers the management API's countDetails from the queue store.
type queueCounts struct {
	store    messaging.Store
	entities interface {
		GetServiceBusQueue(ctx context.Context, namespace, name string) (lanyard.ServiceBusQueue, error)
		GetServiceBusSubscription(ctx context.Context, namespace, topic, name string) (lanyard.ServiceBusSubscription, error)
	}
}

func (c queueCounts) EntityCounts(ctx context.Context, namespace, path string) (lanyard.ServiceBusCounts, error) {
	var q messaging.Queue
	if topic, sub, ok := strings.Cut(path, "/Subscriptions/"); ok {
		s, err := c.entities.GetServiceBusSubscription(ctx, namespace, topic, sub)
		if err != nil {
			return lanyard.ServiceBusCounts{}, err
		}
		q = servicebus.SubscriptionQueue(s)
	} else {
		qq, err := c.entities.GetServiceBusQueue(ctx, namespace, path)
		if err != nil {
			return lanyard.ServiceBusCounts{}, err
		}
		q = servicebus.QueueOf(qq)
	}
	n, err := c.store.Counts(ctx, q)
	return lanyard.ServiceBusCounts{Active: n.Active, DeadLetter: n.DeadLetter, Scheduled: n.Scheduled}, err
}
