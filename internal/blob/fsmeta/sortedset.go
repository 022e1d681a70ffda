package fsmeta

import (
	"sort"
	"strings"
)

// chunkMax bounds the chunks of a sortedSet; inserts move at most this many strings.
const chunkMax = 1024

// sortedSet is an ordered set of strings kept as a list of sorted chunks: inserts and
// deletes cost O(log n + chunkMax), ordered scans are sequential. It serves listings in
// name order without sorting on every page.
type sortedSet struct {
	chunks [][]string
	n      int
}

func (s *sortedSet) len() int { return s.n }

// chunkFor returns the index of the first chunk whose last element is >= v.
func (s *sortedSet) chunkFor(v string) int {
	return sort.Search(len(s.chunks), func(i int) bool {
		c := s.chunks[i]
		return c[len(c)-1] >= v
	})
}

func (s *sortedSet) insert(v string) {
	if len(s.chunks) == 0 {
		s.chunks = [][]string{{v}}
		s.n = 1
		return
	}
	ci := s.chunkFor(v)
	if ci == len(s.chunks) {
		ci--
	}
	c := s.chunks[ci]
	i := sort.SearchStrings(c, v)
	if i < len(c) && c[i] == v {
		return
	}
	c = append(c, "")
	copy(c[i+1:], c[i:])
	c[i] = v
	s.n++
	if len(c) <= chunkMax {
		s.chunks[ci] = c
		return
	}
	half := len(c) / 2
	left := append([]string(nil), c[:half]...)
	right := append([]string(nil), c[half:]...)
	s.chunks = append(s.chunks, nil)
	copy(s.chunks[ci+2:], s.chunks[ci+1:])
	s.chunks[ci], s.chunks[ci+1] = left, right
}

func (s *sortedSet) remove(v string) {
	ci := s.chunkFor(v)
	if ci == len(s.chunks) {
		return
	}
	c := s.chunks[ci]
	i := sort.SearchStrings(c, v)
	if i == len(c) || c[i] != v {
		return
	}
	c = append(c[:i], c[i+1:]...)
	s.n--
	if len(c) > 0 {
		s.chunks[ci] = c
		return
	}
	s.chunks = append(s.chunks[:ci], s.chunks[ci+1:]...)
}

// scan calls fn, in order, with the elements that start with prefix and sort strictly
// after after, until fn returns false.
func (s *sortedSet) scan(prefix, after string, fn func(string) bool) {
	from, strict := after, true
	if prefix > after {
		from, strict = prefix, false
	}
	first := s.chunkFor(from)
	for ci := first; ci < len(s.chunks); ci++ {
		c := s.chunks[ci]
		i := 0
		if ci == first {
			i = sort.SearchStrings(c, from)
			if strict && i < len(c) && c[i] == from {
				i++
			}
		}
		for ; i < len(c); i++ {
			if !strings.HasPrefix(c[i], prefix) {
				return // elements with the prefix are contiguous
			}
			if !fn(c[i]) {
				return
			}
		}
	}
}
