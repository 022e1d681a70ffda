package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
	"github.com/lanyard-id/lanyard/internal/store/readcache"
)

// feedState follows the shared store's change feed. While the feed is down the node may
// have missed changes made by others; it keeps serving what it holds in memory for the
// grace period and then stops trusting it.
type feedState struct {
	grace time.Duration

	mu        sync.Mutex
	watching  bool // the store has a change feed at all
	up        bool
	downSince time.Time
	lastErr   error
	// down mirrors watching && !up for fresh, which every decision asks: a node whose feed
	// is up answers it without taking the lock.
	down atomic.Bool
}

// watch says the store has a change feed, not connected yet.
func (f *feedState) watch() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watching = true
	f.down.Store(!f.up)
}

func (f *feedState) setUp() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.up, f.lastErr = true, nil
	f.down.Store(false)
}

func (f *feedState) setDown(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.up || f.downSince.IsZero() {
		f.downSince = time.Now()
	}
	f.up, f.lastErr = false, err
	f.down.Store(f.watching)
}

// fresh reports whether what the node holds in memory may still be served: always for a
// store no other node shares, and for a shared one while its feed is up or has been down
// for less than the grace period.
func (f *feedState) fresh() error {
	if !f.down.Load() {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.watching || f.up {
		return nil
	}
	if since := time.Since(f.downSince); since > f.grace {
		return fmt.Errorf("the store's change feed has been down for %s (grace period %s): %w", since.Round(time.Second), f.grace, f.lastErr)
	}
	return nil
}

// ready reports whether the node is ready to serve: its change feed (if any) is up and the
// store answers.
func (f *feedState) ready() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.watching && !f.up {
		if f.downSince.IsZero() {
			return fmt.Errorf("the store's change feed has not connected yet")
		}
		return fmt.Errorf("the store's change feed is down since %s: %w", f.downSince.UTC().Format(time.RFC3339), f.lastErr)
	}
	return nil
}

// view is one in-memory view that must follow the store, and whether it does. A view
// whose reload failed is stale: the node reports not ready and refuses to decide from it
// (Server.fresh) until a retry succeeds.
type view struct {
	name   string
	topics []string // change-feed topics that invalidate it
	reload func(ctx context.Context) error

	mu         sync.Mutex
	staleSince time.Time // zero while up to date
	failures   int
	lastErr    error
	// staleViews counts the server's stale views, so that Server.fresh, which every
	// decision asks, answers without a lock while there are none.
	staleViews *atomic.Int32
}

func (v *view) failed(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.staleSince.IsZero() {
		v.staleSince = time.Now()
		v.staleViews.Add(1)
	}
	v.failures++
	v.lastErr = err
}

// caughtUp marks the view up to date and reports whether it was stale.
func (v *view) caughtUp() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	was := !v.staleSince.IsZero()
	if was {
		v.staleViews.Add(-1)
	}
	v.staleSince, v.failures, v.lastErr = time.Time{}, 0, nil
	return was
}

func (v *view) stale() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return !v.staleSince.IsZero()
}

// check is the view's readiness: nil while it is up to date.
func (v *view) check() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.staleSince.IsZero() {
		return nil
	}
	return fmt.Errorf("out of date since %s: %d reload(s) after a change failed, the last: %w",
		v.staleSince.UTC().Format(time.RFC3339Nano), v.failures, v.lastErr)
}

// retryTiming is how stale views are retried: after min, doubling up to max; from the
// resyncAfter-th retry on, every view is reloaded (a full resync), in case what failed
// hides a change another view missed too.
type retryTiming struct {
	min, max    time.Duration
	resyncAfter int
}

var defaultRetry = retryTiming{min: 50 * time.Millisecond, max: 2 * time.Second, resyncAfter: 3}

// reloadTimeout bounds one reload, so that a database that stops answering makes a view
// stale (and the node refuse) rather than hold the feed's loop.
const reloadTimeout = 5 * time.Second

// errStale is what a request decided from a stale view gets: a 503 in its protocol's
// shape (StoreUnavailable, temporarily_unavailable, ServerBusy).
func errStale(err error) error {
	return &lanyard.Error{Kind: lanyard.KindUnavailable, Code: "StoreUnavailable",
		Message: "This node's copy of the store is out of date; try again shortly.", Err: err}
}

// fresh reports whether the node may decide from memory: its change feed is up (or down
// for less than the grace period) and every view has applied every change announced.
// Authentication, RBAC decisions and token issuance fail closed while it returns an error.
func (s *Server) fresh() error {
	if err := s.feed.fresh(); err != nil {
		return errStale(err)
	}
	if s.staleViews.Load() == 0 {
		return nil
	}
	for _, v := range s.views {
		if err := v.check(); err != nil {
			return errStale(fmt.Errorf("%s: %w", v.name, err))
		}
	}
	return nil
}

// follow applies the store's change feed to the in-memory views: each notification
// reloads the views that depend on the changed table, and a resync reloads them all.
// Notifications arriving together are coalesced, so a burst of writes costs one reload.
// A view whose reload fails is retried with backoff (s.retry) until it succeeds.
func (s *Server) follow(ctx context.Context, feed store.ChangeFeed) {
	pending := make(chan string, 1024)
	go func() {
		_ = feed.Watch(ctx, func(topic string) {
			select {
			case pending <- topic:
			default: // full: a resync covers whatever was dropped
				select {
				case pending <- store.TopicResync:
				default:
				}
			}
		})
	}()
	var (
		retry   <-chan time.Time // nil while no retry is due
		delay   = s.retry.min
		retries int // since the views were last all up to date
	)
	for {
		var batch []string
		select {
		case <-ctx.Done():
			return
		case <-retry:
			retry = nil
			if retries++; retries >= s.retry.resyncAfter {
				batch = []string{store.TopicResync}
				s.logger.Warn("reloads keep failing: reloading every view", "retries", retries)
			}
		case t := <-pending:
			batch = append(batch, t)
			// Gather what else arrives in the next few milliseconds.
			timer := time.NewTimer(5 * time.Millisecond)
		gather:
			for {
				select {
				case t := <-pending:
					batch = append(batch, t)
				case <-timer.C:
					break gather
				}
			}
		}
		if !s.apply(ctx, batch) {
			delay, retries, retry = s.retry.min, 0, nil
			continue
		}
		if retry == nil {
			retry = time.After(delay)
			delay = min(2*delay, s.retry.max)
		}
	}
}

// apply reloads the views topics touch, and every stale one; it reports whether any view
// is stale after it.
func (s *Server) apply(ctx context.Context, topics []string) (stale bool) {
	for _, v := range s.views {
		if !touches(v.topics, topics) && !v.stale() {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, reloadTimeout)
		err := v.reload(rctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			v.failed(err)
			stale = true
			s.logger.Error("could not reload after a change made by another node; the node refuses to decide from it until a retry succeeds", "view", v.name, "err", err)
			continue
		}
		if v.caughtUp() {
			s.logger.Info("reloaded a view that was out of date", "view", v.name)
		}
		s.logger.Debug("reloaded after a change", "view", v.name, "topics", topics)
	}
	return stale
}

func touches(watched, changed []string) bool {
	for _, c := range changed {
		if c == store.TopicResync {
			return true
		}
		for _, w := range watched {
			if w == c {
				return true
			}
		}
	}
	return false
}

// buildViews lists the in-memory views of this server and what invalidates each, and
// reports each to /readyz.
func (s *Server) buildViews(cache *readcache.Store, reloadRBAC, reloadKeys, reloadRevocations func(context.Context) error, forgetTokens func()) {
	s.views = []*view{
		{name: "read cache", topics: readcache.Topics, reload: func(context.Context) error { cache.Flush(); return nil }},
		// A token cached for an identity another node removed or disabled must not be served.
		{name: "managed-identity tokens", topics: []string{"identities", "apps", "app_user_identities", "resource_groups"}, reload: func(context.Context) error { forgetTokens(); return nil }},
		{name: "role assignments", topics: []string{"role_definitions", "role_assignments"}, reload: reloadRBAC},
		{name: "signing keys", topics: []string{"signing_keys"}, reload: reloadKeys},
		{name: "revocations", topics: []string{"revocations"}, reload: reloadRevocations},
		// Servers another node created, moved or deleted: this node's listeners follow.
		{name: "postgres servers", topics: []string{"postgres_servers", "resource_groups"}, reload: s.syncPostgres},
		{name: "service bus namespaces", topics: []string{"servicebus_namespaces", "resource_groups"}, reload: s.syncServiceBus},
	}
	for _, v := range s.views {
		v.staleViews = &s.staleViews
		s.readiness.add(v.name, v.check)
	}
}

// readiness is what /readyz reports: named components, each saying what keeps it from
// serving (nil: nothing). A part of the node that can fail on its own adds itself with
// one line, e.g. s.readiness.add("blob metadata", meta.Ready).
type readiness struct {
	mu         sync.Mutex
	components []component
}

type component struct {
	name  string
	check func() error
}

// add reports check under name. Call it while the server is built, before it serves.
func (r *readiness) add(name string, check func() error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.components = append(r.components, component{name, check})
}

// report checks every component: what each says ("ok" or why not), and an error naming
// every component that is not ready, nil when all are.
func (r *readiness) report() (map[string]string, error) {
	r.mu.Lock()
	components := slices.Clone(r.components)
	r.mu.Unlock()
	states := make(map[string]string, len(components))
	var errs []error
	for _, c := range components {
		if err := c.check(); err != nil {
			states[c.name] = err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
			continue
		}
		states[c.name] = "ok"
	}
	return states, errors.Join(errs...)
}

// storeAnswers is the store's readiness: it answers a read.
func (s *Server) storeAnswers() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := s.store.GetSetting(ctx, settingTenant)
	return err
}

// health serves /healthz (the process is alive) and /readyz (the node can serve: every
// component of s.readiness is ready: the store answers, its change feed is connected when
// shared, and every in-memory view is up to date).
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	status, body := http.StatusOK, map[string]any{"status": "ok"}
	if r.URL.Path == "/readyz" {
		components, err := s.readiness.report()
		body["components"] = components
		if err != nil {
			status = http.StatusServiceUnavailable
			body["status"], body["reason"] = "not ready", strings.ReplaceAll(err.Error(), "\n", "; ")
		} else {
			body["status"] = "ready"
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
