package fsmeta

import (
	"context"
	"sort"
	"strings"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// tagIndex indexes an account's committed blobs by tag: for each key, its values in
// order, and for each value the blobs that have it, as refs "container\x00name" (names
// hold no control characters) in order. An equality is then one ordered scan of one
// posting list, which pages without sorting.
type tagIndex map[string]*tagPostings

type tagPostings struct {
	values sortedSet
	refs   map[string]*sortedSet
}

func tagRef(container, name string) string { return container + "\x00" + name }

func (ix tagIndex) add(container, name string, tags blob.Tags) {
	for k, v := range tags {
		p := ix[k]
		if p == nil {
			p = &tagPostings{refs: map[string]*sortedSet{}}
			ix[k] = p
		}
		set := p.refs[v]
		if set == nil {
			set = &sortedSet{}
			p.refs[v] = set
			p.values.insert(v)
		}
		set.insert(tagRef(container, name))
	}
}

func (ix tagIndex) remove(container, name string, tags blob.Tags) {
	for k, v := range tags {
		p := ix[k]
		if p == nil {
			continue
		}
		set := p.refs[v]
		if set == nil {
			continue
		}
		set.remove(tagRef(container, name))
		if set.len() == 0 {
			delete(p.refs, v)
			p.values.remove(v)
		}
		if len(p.refs) == 0 {
			delete(ix, k)
		}
	}
}

// retag moves a blob's index entries from its old record's tags to the new one's; nil
// records have none.
func (s *state) retag(k blob.BlobKey, old, next *blob.BlobRecord) {
	var ot, nt blob.Tags
	if old != nil {
		ot = old.Tags
	}
	if next != nil {
		nt = next.Tags
	}
	if len(ot) == 0 && len(nt) == 0 {
		return
	}
	a := s.accounts[k.Account]
	if a == nil {
		return
	}
	if a.tags == nil {
		a.tags = tagIndex{}
	}
	a.tags.remove(k.Container, k.Name, ot)
	a.tags.add(k.Container, k.Name, nt)
}

// untagContainer drops the index entries of a container's blobs, before it goes.
func (s *state) untagContainer(acct, name string) {
	a := s.accounts[acct]
	c := s.container(acct, name)
	if a == nil || c == nil || len(a.tags) == 0 {
		return
	}
	for n, e := range c.blobs {
		if e.rec != nil {
			a.tags.remove(name, n, e.rec.Tags)
		}
	}
}

// FindBlobs implements blob.MetaStore.
func (s *Store) FindBlobs(ctx context.Context, account string, q *blob.TagQuery, after blob.TagMarker, limit int) ([]blob.TaggedBlob, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.st.accounts[account]
	if a == nil || limit <= 0 {
		return nil, nil
	}
	seek := q.Seek()
	p := a.tags[seek.Key]
	if p == nil {
		return nil, nil
	}
	prefix := ""
	if q.Container != "" {
		prefix = q.Container + "\x00"
	}
	from := ""
	if after != (blob.TagMarker{}) {
		from = tagRef(after.Container, after.Name)
	}
	var out []blob.TaggedBlob
	take := func(ref string) bool {
		ctr, name, _ := strings.Cut(ref, "\x00")
		c := a.containers[ctr]
		if c == nil {
			return true
		}
		e := c.blobs[name]
		if e == nil || e.rec == nil || !q.Match(e.rec.Tags) {
			return true
		}
		out = append(out, blob.TaggedBlob{Container: ctr, Name: name, Tags: e.rec.Tags.Clone()})
		return len(out) < limit
	}
	if seek.Exact {
		if set := p.refs[seek.Lo]; set != nil {
			set.scan(prefix, from, take)
		}
		return out, ctx.Err()
	}
	// A range: merge the posting lists of the values in it, then page in order.
	var refs []string
	collect := func(v string) {
		p.refs[v].scan(prefix, from, func(ref string) bool {
			refs = append(refs, ref)
			return true
		})
	}
	if seek.LoIncl && p.refs[seek.Lo] != nil && seek.InRange(seek.Lo) {
		collect(seek.Lo)
	}
	// Values strictly after Lo, up to Hi: a scan that starts at Lo, not at the first value.
	p.values.scan("", seek.Lo, func(v string) bool {
		if !seek.InRange(v) {
			return false // past Hi: values come in order
		}
		collect(v)
		return true
	})
	sort.Strings(refs)
	for _, ref := range refs {
		if !take(ref) {
			break
		}
	}
	return out, ctx.Err()
}
