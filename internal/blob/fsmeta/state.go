package fsmeta

import (
	"github.com/lanyard-id/lanyard/internal/blob"
)

// state is the whole metadata, in memory. The journal and snapshots on disk are how it
// survives restarts; every change goes through apply, live or on replay.
type state struct {
	accounts map[string]*account
}

type account struct {
	containers map[string]*container
	names      sortedSet
	tags       tagIndex // nil until a blob has tags
}

type container struct {
	c     blob.Container
	blobs map[string]*entry
	names sortedSet // names of committed blobs, for listings
}

// entry is everything known about one blob name: the committed version and the staged
// blocks. An entry with neither is removed.
type entry struct {
	rec    *blob.BlobRecord
	blocks map[string]blob.Block
	idLen  int // decoded length of the staged block ids
}

func newState() *state { return &state{accounts: map[string]*account{}} }

func (s *state) container(acct, name string) *container {
	a := s.accounts[acct]
	if a == nil {
		return nil
	}
	return a.containers[name]
}

func (s *state) entry(k blob.BlobKey) (*container, *entry) {
	c := s.container(k.Account, k.Container)
	if c == nil {
		return nil, nil
	}
	return c, c.blobs[k.Name]
}

// apply performs one mutation. It assumes the mutation was validated against the
// state (live) or was valid when it was journaled (replay), and tolerates records whose
// target is gone, so that replay never fails on a record that had no effect.
func (s *state) apply(m mutation) {
	switch m.op {
	case opPutContainer:
		a := s.accounts[m.container.Account]
		if a == nil {
			a = &account{containers: map[string]*container{}}
			s.accounts[m.container.Account] = a
		}
		if c := a.containers[m.container.Name]; c != nil {
			c.c = m.container
			return
		}
		a.containers[m.container.Name] = &container{c: m.container, blobs: map[string]*entry{}}
		a.names.insert(m.container.Name)
	case opMovContainer:
		s.move(m.key.Account, m.key.Container, m.container)
	case opDelContainer:
		a := s.accounts[m.key.Account]
		if a == nil {
			return
		}
		s.untagContainer(m.key.Account, m.key.Container)
		delete(a.containers, m.key.Container)
		a.names.remove(m.key.Container)
	case opSpliceBlob:
		c, e := s.entry(m.key)
		if e == nil || e.rec == nil {
			return // cannot happen: the store journals a splice only over a committed version
		}
		rec := *m.blob
		if rec.Extents == nil {
			// Replayed: the record holds the properties, the splice the extents. A
			// commit's own record is whole already.
			xs, err := m.splice.apply(e.rec.Extents)
			if err != nil {
				return
			}
			rec.Extents = xs
		}
		s.retag(m.key, e.rec, &rec)
		e.rec = &rec
		if m.drop {
			e.blocks, e.idLen = nil, 0
		}
		c.gc(m.key.Name, e)
	case opPutBlob, opDelBlob:
		c, e := s.entry(m.key)
		if c == nil {
			return
		}
		if e == nil {
			e = &entry{}
			c.blobs[m.key.Name] = e
		}
		if m.blob != nil && e.rec == nil {
			c.names.insert(m.key.Name)
		}
		if m.blob == nil && e.rec != nil {
			c.names.remove(m.key.Name)
		}
		s.retag(m.key, e.rec, m.blob)
		e.rec = m.blob
		if m.drop {
			e.blocks, e.idLen = nil, 0
		}
		c.gc(m.key.Name, e)
	case opPutBlock:
		c, e := s.entry(m.key)
		if c == nil {
			return
		}
		if e == nil {
			e = &entry{}
			c.blobs[m.key.Name] = e
		}
		if e.blocks == nil {
			e.blocks = map[string]blob.Block{}
		}
		e.blocks[m.block.ID] = m.block
		e.idLen = blob.BlockIDLength(m.block.ID)
	case opDropBlocks:
		c, e := s.entry(m.key)
		if e == nil {
			return
		}
		for _, id := range m.ids {
			delete(e.blocks, id)
		}
		if len(e.blocks) == 0 {
			e.blocks, e.idLen = nil, 0
		}
		c.gc(m.key.Name, e)
	}
}

// move gives the container acct/name, with its blobs and blocks, to's account and name,
// and to as its record. A missing source or an existing target cannot happen live (the
// store checks under the containers' locks) nor on replay (the record was valid then).
func (s *state) move(acct, name string, to blob.Container) {
	c := s.container(acct, name)
	if c == nil || s.container(to.Account, to.Name) != nil {
		return
	}
	s.untagContainer(acct, name)
	a := s.accounts[acct]
	delete(a.containers, name)
	a.names.remove(name)
	ta := s.accounts[to.Account]
	if ta == nil {
		ta = &account{containers: map[string]*container{}}
		s.accounts[to.Account] = ta
	}
	c.c = to
	ta.containers[to.Name] = c
	ta.names.insert(to.Name)
	for n, e := range c.blobs {
		if e.rec == nil {
			continue
		}
		// Records handed out are snapshots: the moved blob gets a new one.
		r := *e.rec
		r.Container = to.Name
		e.rec = &r
		s.retag(blob.BlobKey{Account: to.Account, Container: to.Name, Name: n}, nil, e.rec)
	}
}

// gc forgets an entry that holds nothing.
func (c *container) gc(name string, e *entry) {
	if e.rec == nil && len(e.blocks) == 0 {
		delete(c.blobs, name)
	}
}

// contents returns the content ids a container's records reference.
func (c *container) contents() []blob.ContentID {
	var ids []blob.ContentID
	for _, e := range c.blobs {
		ids = append(ids, e.contents()...)
	}
	return ids
}

func (e *entry) contents() []blob.ContentID {
	var ids []blob.ContentID
	if e.rec != nil {
		for _, x := range e.rec.Extents {
			if x.Content != "" {
				ids = append(ids, x.Content)
			}
		}
		ids = append(ids, blob.SnapshotContents(e.rec.Snapshots)...)
	}
	for _, b := range e.blocks {
		if b.Content != "" {
			ids = append(ids, b.Content)
		}
	}
	return ids
}

// dump returns mutations that rebuild the state from empty, for a snapshot.
func (s *state) dump(emit func(mutation) error) error {
	for _, a := range s.accounts {
		for _, c := range a.containers {
			if err := emit(mutation{op: opPutContainer, container: c.c}); err != nil {
				return err
			}
			for name, e := range c.blobs {
				k := blob.BlobKey{Account: c.c.Account, Container: c.c.Name, Name: name}
				if e.rec != nil {
					if err := emit(mutation{op: opPutBlob, key: k, blob: e.rec}); err != nil {
						return err
					}
				}
				for _, b := range e.blocks {
					if err := emit(mutation{op: opPutBlock, key: k, block: b}); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}
