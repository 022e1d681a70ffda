package sqlmeta

import "sync"

// cacheTable is the owner's memory of rows it read (see blobOwner), valid for one epoch
// of ownership: whatever it held is dropped when the epoch changes.
//
// An entry may only be filled with what is still committed. A read that misses places a
// placeholder before it asks the database and fills it only if it is still in place; a
// write removes the key's entry, placeholder included, both when it begins and when it
// ends, and no placeholder is placed while a write of the key (or of all keys) is in
// flight. So a read that may have seen the state before a write cannot fill after it. A
// write may fill the entry with what it committed when it ends, if no other write of the
// key began or ended meanwhile: then nothing committed after it.
type cacheTable[K comparable, V any] struct {
	mu       sync.Mutex
	epoch    uint64
	slots    map[K]*cacheSlot[V]
	writing  map[K]*keyWrites // writes of a key in flight; kept across epochs
	events   uint64           // begins and ends of writes so far
	wide     int              // writes of every key in flight
	wideLast uint64           // events when one last began or ended
	limit    int
}

type keyWrites struct {
	n    int    // in flight
	last uint64 // events when a write of the key last began or ended
}

type cacheSlot[V any] struct {
	val    V
	filled bool
}

func newCacheTable[K comparable, V any](limit int) *cacheTable[K, V] {
	return &cacheTable[K, V]{slots: map[K]*cacheSlot[V]{}, writing: map[K]*keyWrites{}, limit: limit}
}

// get returns the value at k when it has one. On a miss it returns a placeholder to fill,
// or nil when a read must not fill.
func (c *cacheTable[K, V]) get(ep uint64, k K) (v V, hit bool, placeholder *cacheSlot[V]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at(ep) {
		return v, false, nil
	}
	if s, ok := c.slots[k]; ok && s.filled {
		return s.val, true, nil
	}
	if c.writing[k] != nil || c.wide > 0 {
		return v, false, nil
	}
	s := &cacheSlot[V]{} // replaces another read's placeholder, which then fills nothing
	c.put(k, s)
	return v, false, s
}

// peek returns the value at k when it has one, and places nothing.
func (c *cacheTable[K, V]) peek(ep uint64, k K) (v V, hit bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at(ep) {
		return v, false
	}
	if s, ok := c.slots[k]; ok && s.filled {
		return s.val, true
	}
	return v, false
}

// at moves the table to epoch ep, emptying it, when ep is newer; it reports false for an
// older ep, whose caller must neither read nor fill. Called with mu held.
func (c *cacheTable[K, V]) at(ep uint64) bool {
	if ep > c.epoch {
		c.epoch = ep
		clear(c.slots)
	}
	return ep == c.epoch
}

// put stores s at k, first making room when the table is full: any entries will do.
// Called with mu held.
func (c *cacheTable[K, V]) put(k K, s *cacheSlot[V]) {
	if _, ok := c.slots[k]; !ok && len(c.slots) >= c.limit {
		n := c.limit/16 + 1
		for old := range c.slots {
			delete(c.slots, old)
			if n--; n == 0 {
				break
			}
		}
	}
	c.slots[k] = s
}

// fill stores v in the placeholder get returned, if it is still in place.
func (c *cacheTable[K, V]) fill(ep uint64, k K, placeholder *cacheSlot[V], v V) {
	if placeholder == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ep == c.epoch && c.slots[k] == placeholder {
		placeholder.val, placeholder.filled = v, true
	}
}

// begin and end bracket a write of k, whether or not it commits. begin returns the
// ticket end takes. end fills the entry with v, when v is not nil, if the table is still
// at epoch ep and no other write of k began or ended since begin.
func (c *cacheTable[K, V]) begin(k K) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.writing[k]
	if w == nil {
		w = &keyWrites{}
		c.writing[k] = w
	}
	c.events++
	w.n, w.last = w.n+1, c.events
	delete(c.slots, k)
	return c.events
}

func (c *cacheTable[K, V]) end(k K, ticket uint64, ep uint64, v *V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.writing[k]
	alone := w.n == 1 && w.last == ticket && c.wideLast < ticket
	c.events++
	w.n, w.last = w.n-1, c.events
	if w.n == 0 {
		delete(c.writing, k)
	}
	delete(c.slots, k)
	if v != nil && alone && c.at(ep) {
		c.put(k, &cacheSlot[V]{val: *v, filled: true})
	}
}

// beginAll and endAll bracket a write that may change any key.
func (c *cacheTable[K, V]) beginAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events++
	c.wide, c.wideLast = c.wide+1, c.events
	clear(c.slots)
}

func (c *cacheTable[K, V]) endAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events++
	c.wide, c.wideLast = c.wide-1, c.events
	clear(c.slots)
}
