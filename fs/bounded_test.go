package fs

import "testing"

// TestBoundedCacheStaysWithinItsBudget: a bounded cache (that of text
// blocks here) holds no more than its budget (a value larger than it
// alone, while it is the last used), and evicts the least recently used
// value first.
func TestBoundedCacheStaysWithinItsBudget(t *testing.T) {
	c := newBoundedCache[textKey, []byte](10 << 10)
	a, b := &textForm{}, &textForm{}
	put := func(n *textForm, block int, size int) { c.put(textKey{n, block}, make([]byte, size), int64(size)) }
	get := func(n *textForm, block int) ([]byte, bool) { return c.get(textKey{n, block}) }
	for i := range 100 {
		put(a, i, 1<<10)
		if c.bytes() > 10<<10 {
			t.Fatalf("after %d blocks the cache holds %d bytes, budget %d", i+1, c.bytes(), 10<<10)
		}
	}
	if _, ok := get(a, 99); !ok {
		t.Error("the block put last was evicted")
	}
	if _, ok := get(a, 89); ok {
		t.Error("block 89 of 100 is still held: more than ten 1 KiB blocks in 10 KiB")
	}
	if _, ok := get(a, 90); !ok {
		t.Error("block 90, within the last ten, was evicted")
	}
	// Block 90 is now the most recently used: the next put evicts 91.
	put(b, 0, 1<<10)
	if _, ok := get(a, 90); !ok {
		t.Error("block 90, just read, was evicted before older ones")
	}
	if _, ok := get(a, 91); ok {
		t.Error("block 91, the least recently used, was kept")
	}
	put(b, 1, 64<<10)
	if _, ok := get(b, 1); !ok {
		t.Error("a block larger than the budget is not kept while it is the last used")
	}
	if got := c.bytes(); got != 64<<10 {
		t.Errorf("with a block larger than the budget the cache holds %d bytes, want that block's %d alone", got, 64<<10)
	}
	put(b, 1, 1<<10)
	if got := c.bytes(); got != 1<<10 {
		t.Errorf("a block put again is counted twice: %d bytes, want %d", got, 1<<10)
	}
}
