package fs

import (
	"container/list"
	"sync"
)

// boundedCache keeps values up to a total size, evicting the least
// recently used. The value put last is kept even when it alone is larger
// than the budget, so that a reader going through it in pieces does not
// make it again for every piece.
type boundedCache[K comparable, V any] struct {
	mu      sync.Mutex
	budget  int64
	used    int64
	lru     list.List // of *boundedEntry[K, V], most recently used first
	entries map[K]*list.Element
}

type boundedEntry[K comparable, V any] struct {
	key   K
	value V
	size  int64
}

func newBoundedCache[K comparable, V any](budget int64) *boundedCache[K, V] {
	return &boundedCache[K, V]{budget: budget, entries: map[K]*list.Element{}}
}

func (c *boundedCache[K, V]) get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*boundedEntry[K, V]).value, true
}

// put keeps value, which holds size bytes, under key.
func (c *boundedCache[K, V]) put(key K, value V, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.used -= e.Value.(*boundedEntry[K, V]).size
		c.lru.Remove(e)
	}
	c.entries[key] = c.lru.PushFront(&boundedEntry[K, V]{key: key, value: value, size: size})
	c.used += size
	for c.used > c.budget && c.lru.Len() > 1 {
		last := c.lru.Back()
		entry := last.Value.(*boundedEntry[K, V])
		c.lru.Remove(last)
		delete(c.entries, entry.key)
		c.used -= entry.size
	}
}

// bytes is what the cache holds.
func (c *boundedCache[K, V]) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}
