package rbac

import "maps"

// index is a persistent map from an ASCII-lower-cased key to V. It spreads keys over 4,096
// small Go maps behind a two-level table, so a copy-on-write change copies one 16-slot
// leaf and one map of a few dozen entries, while the index as a whole is 256 pointers to
// copy. Readers never lock: a published index is never written again.
type index[V any] struct {
	leaves [256]*[16]map[string]V
}

// get returns the value for key, which must already be lower-cased.
func (x *index[V]) get(key string) V {
	h := fnv(key)
	var zero V
	l := x.leaves[h&255]
	if l == nil {
		return zero
	}
	return l[(h>>8)&15][key]
}

// lookup is get that also reports whether key is present.
func (x *index[V]) lookup(key string) (V, bool) {
	h := fnv(key)
	l := x.leaves[h&255]
	if l == nil {
		var zero V
		return zero, false
	}
	v, ok := l[(h>>8)&15][key]
	return v, ok
}

// getBytes is get for a key in a byte slice; it does not allocate.
func (x *index[V]) getBytes(key []byte) V {
	h := fnvBytes(key)
	var zero V
	l := x.leaves[h&255]
	if l == nil {
		return zero
	}
	return l[(h>>8)&15][string(key)]
}

// set stores v under key, copying the leaf and map it touches so that indexes sharing them
// are unchanged. x itself must be the caller's own copy.
func (x *index[V]) set(key string, v V) {
	m := x.cow(key)
	m[key] = v
}

// del removes key, copying what it touches like set.
func (x *index[V]) del(key string) {
	h := fnv(key)
	l := x.leaves[h&255]
	if l == nil {
		return
	}
	if _, ok := l[(h>>8)&15][key]; !ok {
		return
	}
	m := x.cow(key)
	delete(m, key)
}

func (x *index[V]) cow(key string) map[string]V {
	h := fnv(key)
	var nl [16]map[string]V
	if l := x.leaves[h&255]; l != nil {
		nl = *l
	}
	slot := (h >> 8) & 15
	m := maps.Clone(nl[slot])
	if m == nil {
		m = make(map[string]V, 1)
	}
	nl[slot] = m
	x.leaves[h&255] = &nl
	return m
}

// setInPlace stores v under key without copying. Only for an index no one else can see
// yet, such as one being bulk-built.
func (x *index[V]) setInPlace(key string, v V) {
	h := fnv(key)
	l := x.leaves[h&255]
	if l == nil {
		l = new([16]map[string]V)
		x.leaves[h&255] = l
	}
	slot := (h >> 8) & 15
	if l[slot] == nil {
		l[slot] = make(map[string]V, 4)
	}
	l[slot][key] = v
}

// fnv and fnvBytes are FNV-1a.
func fnv(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func fnvBytes(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

// mapInPlace replaces every value v with f(v). Like setInPlace, only for an index no one
// else can see yet.
func (x *index[V]) mapInPlace(f func(V) V) {
	for _, l := range x.leaves {
		if l == nil {
			continue
		}
		for _, m := range l {
			for k, v := range m {
				m[k] = f(v)
			}
		}
	}
}
