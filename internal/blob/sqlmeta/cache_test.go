package sqlmeta

import "testing"

func TestCacheTable(t *testing.T) {
	v := func(s string) *string { return &s }
	hit := func(c *cacheTable[string, string], ep uint64, k string) (string, bool) {
		got, ok, _ := c.get(ep, k)
		return got, ok
	}

	c := newCacheTable[string, string](100)
	_, ok, ph := c.get(1, "a")
	if ok || ph == nil {
		t.Fatal("a miss gives a placeholder")
	}
	c.fill(1, "a", ph, "A")
	if got, ok := hit(c, 1, "a"); !ok || got != "A" {
		t.Fatalf("after fill: %q %v", got, ok)
	}

	// A write that begins after the read placed its placeholder keeps the read from filling.
	_, _, ph = c.get(1, "b")
	w := c.begin("b")
	c.fill(1, "b", ph, "stale")
	if _, ok, ph := c.get(1, "b"); ok || ph != nil {
		t.Fatal("a read filled, or placed a placeholder, while a write was in flight")
	}
	c.end("b", w, 1, nil)
	if _, ok := hit(c, 1, "b"); ok {
		t.Fatal("a read that began before the write filled after it")
	}

	// A write alone fills what it committed.
	w = c.begin("c")
	c.end("c", w, 1, v("C"))
	if got, ok := hit(c, 1, "c"); !ok || got != "C" {
		t.Fatalf("a lone write kept %q %v", got, ok)
	}
	// Two overlapping writes: neither keeps anything, whichever ends first.
	w1 := c.begin("c")
	w2 := c.begin("c")
	c.end("c", w2, 1, v("C2"))
	c.end("c", w1, 1, v("C1"))
	if _, ok := hit(c, 1, "c"); ok {
		t.Fatal("an overlapped write kept its value")
	}
	// A write during which another began and ended keeps nothing.
	w1 = c.begin("c")
	w2 = c.begin("c")
	c.end("c", w2, 1, nil)
	c.end("c", w1, 1, v("C1"))
	if _, ok := hit(c, 1, "c"); ok {
		t.Fatal("a write kept its value after another one began and ended during it")
	}
	// A write of every key during a write keeps it from filling; and drops every entry.
	w = c.begin("d")
	c.beginAll()
	c.endAll()
	c.end("d", w, 1, v("D"))
	if _, ok := hit(c, 1, "d"); ok {
		t.Fatal("a write kept its value across a write of every key")
	}
	if _, ok := hit(c, 1, "a"); ok {
		t.Fatal("a write of every key left an entry")
	}
	c.beginAll()
	if _, _, ph := c.get(1, "e"); ph != nil {
		t.Fatal("a placeholder while a write of every key was in flight")
	}
	c.endAll()

	// A new epoch starts empty; a write or fill of the old one keeps nothing.
	w = c.begin("f")
	c.end("f", w, 1, v("F"))
	_, _, ph = c.get(1, "g")
	if _, ok := hit(c, 2, "f"); ok {
		t.Fatal("an entry outlived its epoch")
	}
	c.fill(1, "g", ph, "G")
	if _, ok := hit(c, 2, "g"); ok {
		t.Fatal("a fill of an old epoch was kept")
	}
	w = c.begin("h")
	c.end("h", w, 1, v("H"))
	if _, ok := hit(c, 2, "h"); ok {
		t.Fatal("a write of an old epoch was kept")
	}

	// A write is kept in a new epoch that no read has reached yet.
	w = c.begin("i")
	c.end("i", w, 3, v("I"))
	if got, ok := c.peek(3, "i"); !ok || got != "I" {
		t.Fatalf("a write in a new epoch kept %q %v", got, ok)
	}

	// Full, the table makes room.
	c = newCacheTable[string, string](16)
	for i := range 100 {
		k := string(rune('A' + i))
		_, _, ph := c.get(1, k)
		c.fill(1, k, ph, k)
	}
	if len(c.slots) > 16 {
		t.Fatalf("%d entries in a table of 16", len(c.slots))
	}
	if len(c.writing) != 0 {
		t.Fatalf("writes in flight left behind: %v", c.writing)
	}
}
