package fsmeta

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestSortedSet checks the chunked set against a plain sorted slice, with enough
// elements to split chunks many times.
func TestSortedSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s sortedSet
	ref := map[string]bool{}
	for i := range 20000 {
		v := strconv.Itoa(rng.IntN(6000))
		if rng.IntN(3) == 0 {
			s.remove(v)
			delete(ref, v)
		} else {
			s.insert(v)
			ref[v] = true
		}
		if i%2500 != 0 {
			continue
		}
		want := make([]string, 0, len(ref))
		for k := range ref {
			want = append(want, k)
		}
		slices.Sort(want)
		if s.len() != len(want) {
			t.Fatalf("len %d, want %d", s.len(), len(want))
		}
		for _, q := range []struct {
			prefix, after string
			limit         int
		}{{"", "", 1 << 30}, {"1", "", 50}, {"12", "123", 1 << 30}, {"", "5", 10}, {"9", "95", 3}, {"", "99999", 5}} {
			var got []string
			s.scan(q.prefix, q.after, func(v string) bool {
				got = append(got, v)
				return len(got) < q.limit
			})
			var exp []string
			for _, v := range want {
				if strings.HasPrefix(v, q.prefix) && v > q.after && len(exp) < q.limit {
					exp = append(exp, v)
				}
			}
			if !slices.Equal(got, exp) {
				t.Fatalf("scan(%q, %q, %d) = %d items, want %d", q.prefix, q.after, q.limit, len(got), len(exp))
			}
		}
	}
	for _, c := range s.chunks {
		if len(c) == 0 || len(c) > chunkMax || !slices.IsSorted(c) {
			t.Fatalf("bad chunk of %d", len(c))
		}
	}
}
