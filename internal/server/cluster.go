package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

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
}

func (f *feedState) setUp() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.up, f.lastErr = true, nil
}

func (f *feedState) setDown(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.up || f.downSince.IsZero() {
		f.downSince = time.Now()
	}
	f.up, f.lastErr = false, err
}

// fresh reports whether what the node holds in memory may still be served: always for a
// store no other node shares, and for a shared one while its feed is up or has been down
// for less than the grace period.
func (f *feedState) fresh() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.watching || f.up {
		return nil
	}
	if since := time.Since(f.downSince); since > f.grace {
		return fmt.Errorf("the store's change feed has been down for %s (grace period %s): %v", since.Round(time.Second), f.grace, f.lastErr)
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
		return fmt.Errorf("the store's change feed is down since %s: %v", f.downSince.UTC().Format(time.RFC3339), f.lastErr)
	}
	return nil
}

// reloader is one in-memory view that must follow the store.
type reloader struct {
	name   string
	topics []string // change-feed topics that invalidate it
	reload func(ctx context.Context) error
}

// follow applies the store's change feed to the in-memory views: each notification
// reloads the views that depend on the changed table, and a resync reloads them all.
// Notifications arriving together are coalesced, so a burst of writes costs one reload.
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
	for {
		var batch []string
		select {
		case <-ctx.Done():
			return
		case t := <-pending:
			batch = append(batch, t)
		}
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
		s.apply(ctx, batch)
	}
}

func (s *Server) apply(ctx context.Context, topics []string) {
	for _, r := range s.reloaders {
		if !touches(r.topics, topics) {
			continue
		}
		if err := r.reload(ctx); err != nil {
			s.logger.Error("could not reload after a change made by another node", "view", r.name, "err", err)
			continue
		}
		s.logger.Debug("reloaded after a change", "view", r.name, "topics", topics)
	}
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

// reloaders lists the in-memory views of this server and what invalidates each.
func (s *Server) buildReloaders(cache *readcache.Store, reloadRBAC, reloadKeys func(context.Context) error, forgetTokens func()) {
	s.reloaders = []reloader{
		{"read cache", readcache.Topics, func(context.Context) error { cache.Flush(); return nil }},
		// A token cached for an identity another node removed or disabled must not be served.
		{"managed-identity tokens", []string{"identities", "apps", "app_user_identities", "resource_groups"}, func(context.Context) error { forgetTokens(); return nil }},
		{"role assignments", []string{"role_definitions", "role_assignments"}, reloadRBAC},
		{"signing keys", []string{"signing_keys"}, reloadKeys},
	}
}

// health serves /healthz (the process is alive) and /readyz (the node can serve: the
// store answers and, when shared, its change feed is connected).
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	status, body := http.StatusOK, map[string]string{"status": "ok"}
	if r.URL.Path == "/readyz" {
		err := s.feed.ready()
		if err == nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			_, err = s.store.GetSetting(ctx, settingTenant)
			cancel()
		}
		if err == nil {
			err = s.blobReady()
		}
		if err != nil {
			status, body = http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()}
		} else {
			body["status"] = "ready"
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
