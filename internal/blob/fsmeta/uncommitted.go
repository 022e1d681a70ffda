package fsmeta

import (
	"context"
	"slices"
	"strings"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// ListUncommittedBlobs implements blob.MetaStore. Only committed names are indexed, so it
// scans the container's entries: include=uncommittedblobs is a rare, diagnostic listing.
func (s *Store) ListUncommittedBlobs(ctx context.Context, account, ctr, prefix, after string, limit int) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.st.container(account, ctr)
	if c == nil {
		return nil, blob.ErrContainerNotFound()
	}
	var out []string
	for n, e := range c.blobs {
		if e.rec == nil && len(e.blocks) > 0 && n > after && strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	if len(out) > max(limit, 0) {
		out = out[:max(limit, 0)]
	}
	return out, nil
}
