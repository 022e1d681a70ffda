package blob

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Config holds what a Service is built from.
type Config struct {
	Meta    MetaStore
	Content ContentStore
	Logger  *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// GCInterval is how often expired uncommitted blocks are collected; an hour when
	// zero, never when negative.
	GCInterval time.Duration
	// BlockTTL is how long an uncommitted block lives; UncommittedBlockTTL when zero.
	BlockTTL time.Duration
	// SharedContent says other processes (nodes of one cluster) write the same content
	// store. Then a file no record references may be another node's upload in progress,
	// and a freed file may still be read by another node: recovery removes only
	// unreferenced files older than SharedOrphanAge, and freed content is deleted
	// SharedDeleteDelay after it was freed.
	SharedContent bool
	// RehydrateDelay is how long a rehydration from Archive takes;
	// DefaultRehydrateDelay when zero, none when negative.
	RehydrateDelay time.Duration
	// Policy returns an account's blob versioning and soft delete settings, read by
	// every write that keeps what it replaces; all off when nil.
	Policy func(ctx context.Context, account string) (Policy, error)
}

// Safety margins for a content store several nodes share.
const (
	// SharedOrphanAge exceeds any upload's duration (a block lives at most its TTL, and
	// blocks are committed by reference).
	SharedOrphanAge = UncommittedBlockTTL + 24*time.Hour
	// SharedDeleteDelay exceeds any download's duration on another node.
	SharedDeleteDelay = 15 * time.Minute
)

// ContentAger is implemented by content stores that can tell when a file was last written.
// Recovery of a shared store needs it.
type ContentAger interface {
	ModTime(ctx context.Context, id ContentID) (time.Time, error)
}

// Service implements the Blob Storage operations. It is safe for concurrent use; it
// takes no lock of its own around a blob, relying on the MetaStore's transactions, so
// operations on different blobs proceed in parallel.
type Service struct {
	meta     MetaStore
	content  ContentStore
	log      *slog.Logger
	now      func() time.Time
	blockTTL time.Duration
	reclaim  *reclaimer
	shared   bool
	combiner combiner
	// rehydrateDelay: see Config.RehydrateDelay.
	rehydrateDelay time.Duration
	policyOf       func(ctx context.Context, account string) (Policy, error)
	purges         purgeQueue

	stop chan struct{}
	done sync.WaitGroup
}

// Open builds a Service and recovers from whatever state a crash left: content files no
// record references are removed, expired blocks are collected. Once Open succeeds the
// Service owns both stores and closes them in Close; when it fails, they stay the
// caller's to close.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Meta == nil || cfg.Content == nil {
		return nil, fmt.Errorf("blob: Open needs a MetaStore and a ContentStore")
	}
	s := &Service{
		meta:     cfg.Meta,
		content:  cfg.Content,
		log:      cfg.Logger,
		now:      cfg.Now,
		blockTTL: cfg.BlockTTL,
		policyOf: cfg.Policy,
		stop:     make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.blockTTL == 0 {
		s.blockTTL = UncommittedBlockTTL
	}
	switch s.rehydrateDelay = cfg.RehydrateDelay; {
	case s.rehydrateDelay == 0:
		s.rehydrateDelay = DefaultRehydrateDelay
	case s.rehydrateDelay < 0:
		s.rehydrateDelay = 0
	}
	s.reclaim = newReclaimer(s.content, s.log)
	s.shared = cfg.SharedContent
	if s.shared {
		s.reclaim.delay = SharedDeleteDelay
	}
	if err := s.recover(ctx); err != nil {
		return nil, err
	}
	if err := s.CollectGarbage(ctx); err != nil {
		return nil, err
	}
	interval := cfg.GCInterval
	if interval == 0 {
		interval = time.Hour
	}
	if interval > 0 {
		s.done.Add(1)
		go s.gcLoop(interval)
	}
	return s, nil
}

// Ready reports whether the service can store data: nil, or why not (a full disk).
// Reads and deletions may work either way. Stores report through a Ready() error
// method; one without it counts as ready.
func (s *Service) Ready() error {
	for _, st := range []any{s.meta, s.content} {
		if r, ok := st.(interface{ Ready() error }); ok {
			if err := r.Ready(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close stops background work and closes both stores.
func (s *Service) Close() error {
	close(s.stop)
	s.done.Wait()
	err1 := s.meta.Close()
	err2 := s.content.Close()
	if err1 != nil {
		return fmt.Errorf("blob: closing metadata: %w", err1)
	}
	if err2 != nil {
		return fmt.Errorf("blob: closing content: %w", err2)
	}
	return nil
}

// recover removes content files no record references: uploads a crash interrupted, and
// content whose deletion was pending.
func (s *Service) recover(ctx context.Context) error {
	live := map[ContentID]struct{}{}
	if err := s.meta.Contents(ctx, func(id ContentID) error {
		live[id] = struct{}{}
		return nil
	}); err != nil {
		return fmt.Errorf("blob: recovery: listing referenced content: %w", err)
	}
	ager, _ := s.content.(ContentAger)
	if s.shared && ager == nil {
		s.log.Warn("blob: recovery keeps unreferenced content: the shared content store cannot tell file ages")
		return nil
	}
	var orphans []ContentID
	if err := s.content.Walk(ctx, func(id ContentID) error {
		if _, ok := live[id]; ok {
			return nil
		}
		if s.shared {
			// Possibly another node's upload in progress: only old files are orphans.
			t, err := ager.ModTime(ctx, id)
			if err != nil || s.now().Sub(t) < SharedOrphanAge {
				return nil
			}
		}
		orphans = append(orphans, id)
		return nil
	}); err != nil {
		return fmt.Errorf("blob: recovery: listing content: %w", err)
	}
	if len(orphans) > 0 {
		s.log.Info("blob: recovery removes unreferenced content", "count", len(orphans))
		if err := s.content.Remove(ctx, orphans...); err != nil {
			return fmt.Errorf("blob: recovery: removing unreferenced content: %w", err)
		}
	}
	return nil
}

// CollectGarbage drops uncommitted blocks older than the block TTL, soft-deleted
// containers whose retention has ended, and the soft-deleted states of blobs this
// process knows to have expired.
func (s *Service) CollectGarbage(ctx context.Context) error {
	blocks, err := s.meta.ExpireBlocks(ctx, s.now().Add(-s.blockTTL))
	if err != nil {
		return fmt.Errorf("blob: expiring blocks: %w", err)
	}
	s.reclaim.free(blockContents(blocks))
	if err := s.purgeDeleted(ctx, "", s.now()); err != nil {
		return fmt.Errorf("blob: purging deleted containers: %w", err)
	}
	s.purgeDue(ctx)
	return nil
}

func (s *Service) gcLoop(interval time.Duration) {
	defer s.done.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.CollectGarbage(context.Background()); err != nil {
				s.log.Warn("blob: garbage collection", "err", err)
			}
		}
	}
}

// release frees the content a commit stopped referencing: what the previous version and
// the dropped blocks referenced, minus what the new version still does. Only the extents
// between the two versions' common prefix and suffix can have stopped being referenced,
// which keeps an append or a page write to a blob of many extents cheap.
func (s *Service) release(res BlobResult, next *BlobRecord) {
	var prev, cur []Extent
	if res.Prev != nil {
		prev = res.Prev.Extents
	}
	if next != nil {
		cur = next.Extents
	}
	p := 0
	for p < len(prev) && p < len(cur) && prev[p] == cur[p] {
		p++
	}
	q := 0
	for q < len(prev)-p && q < len(cur)-p && prev[len(prev)-1-q] == cur[len(cur)-1-q] {
		q++
	}
	candidates := map[ContentID]struct{}{}
	for _, e := range prev[p : len(prev)-q] {
		candidates[e.Content] = struct{}{}
	}
	for _, b := range res.Dropped {
		candidates[b.Content] = struct{}{}
	}
	delete(candidates, "")
	// A candidate may still be referenced anywhere in the new version (the other piece
	// of a page extent that was cut, a block listed twice).
	for i := 0; i < len(cur) && len(candidates) > 0; i++ {
		delete(candidates, cur[i].Content)
	}
	// Or by an earlier state, which a write of the blob keeps (commit lists those the
	// committed record has as Prev's).
	if res.Prev != nil {
		for i := 0; i < len(res.Prev.Snapshots) && len(candidates) > 0; i++ {
			for _, e := range res.Prev.Snapshots[i].Record.Extents {
				delete(candidates, e.Content)
			}
		}
	}
	if len(candidates) == 0 {
		return
	}
	ids := make([]ContentID, 0, len(candidates))
	for id := range candidates {
		ids = append(ids, id)
	}
	s.reclaim.free(ids)
}

func blockContents(blocks []Block) []ContentID {
	var ids []ContentID
	for _, b := range blocks {
		if b.Content != "" {
			ids = append(ids, b.Content)
		}
	}
	return ids
}

// timestamp returns the time a write records: UTC, at the millisecond precision every
// MetaStore keeps.
func (s *Service) timestamp() time.Time { return s.now().UTC().Truncate(time.Millisecond) }
