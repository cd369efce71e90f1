package h5

import (
	"container/list"
	"sync"
)

// chunkKey names one chunk of one dataset in the file's chunk cache.
type chunkKey struct {
	dataset uint64 // Dataset.cacheID: a redefined dataset's chunks are new ones
	index   uint64 // row-major chunk number
}

// chunkCache keeps decoded chunks up to a byte budget, least recently used
// first out. Concurrent readers of one missing chunk wait for a single
// decode instead of decoding it twice.
type chunkCache struct {
	mu       sync.Mutex
	budget   int64
	used     int64
	lru      *list.List // of *cacheEntry, front = most recent
	entries  map[chunkKey]*list.Element
	inflight map[chunkKey]*inflightChunk
}

type cacheEntry struct {
	key  chunkKey
	data []byte
}

type inflightChunk struct {
	done chan struct{}
	data []byte
	err  error
}

func newChunkCache(budget int64) *chunkCache {
	return &chunkCache{budget: budget, lru: list.New(), entries: map[chunkKey]*list.Element{}, inflight: map[chunkKey]*inflightChunk{}}
}

// get returns the cached chunk, or decodes it with load exactly once.
func (c *chunkCache) get(k chunkKey, load func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	if e, ok := c.entries[k]; ok {
		c.lru.MoveToFront(e)
		data := e.Value.(*cacheEntry).data
		c.mu.Unlock()
		return data, nil
	}
	if w, ok := c.inflight[k]; ok {
		c.mu.Unlock()
		<-w.done
		return w.data, w.err
	}
	w := &inflightChunk{done: make(chan struct{})}
	c.inflight[k] = w
	c.mu.Unlock()

	w.data, w.err = load()

	c.mu.Lock()
	delete(c.inflight, k)
	if w.err == nil && int64(len(w.data)) <= c.budget {
		c.entries[k] = c.lru.PushFront(&cacheEntry{key: k, data: w.data})
		c.used += int64(len(w.data))
		for c.used > c.budget {
			back := c.lru.Back()
			ent := back.Value.(*cacheEntry)
			c.lru.Remove(back)
			delete(c.entries, ent.key)
			c.used -= int64(len(ent.data))
		}
	}
	c.mu.Unlock()
	close(w.done)
	return w.data, w.err
}

// peek returns a cached chunk, marking it recently used, without loading
// it.
func (c *chunkCache) peek(k chunkKey) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*cacheEntry).data, true
	}
	return nil, false
}

// contains reports whether a chunk is cached or being decoded, without
// touching its rank: read-ahead must not spend a worker waiting on a decode
// already under way.
func (c *chunkCache) contains(k chunkKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, cached := c.entries[k]
	_, loading := c.inflight[k]
	return cached || loading
}

// put stores data as the chunk's decoded content, replacing what was there.
func (c *chunkCache) put(k chunkKey, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok {
		ent := e.Value.(*cacheEntry)
		c.used += int64(len(data)) - int64(len(ent.data))
		ent.data = data
		c.lru.MoveToFront(e)
	} else if int64(len(data)) <= c.budget {
		c.entries[k] = c.lru.PushFront(&cacheEntry{key: k, data: data})
		c.used += int64(len(data))
	}
	for c.used > c.budget {
		back := c.lru.Back()
		ent := back.Value.(*cacheEntry)
		c.lru.Remove(back)
		delete(c.entries, ent.key)
		c.used -= int64(len(ent.data))
	}
}

// drop forgets a chunk that no longer exists.
func (c *chunkCache) drop(k chunkKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok {
		c.lru.Remove(e)
		delete(c.entries, k)
		c.used -= int64(len(e.Value.(*cacheEntry).data))
	}
}

// CachedBytes is the memory the file holds in decoded chunks: the chunk
// cache and chunks written but not yet stored. Programs that bound their
// memory count it apart from the rest of their heap.
func (f *File) CachedBytes() int64 {
	f.chunks.mu.Lock()
	n := f.chunks.used
	f.chunks.mu.Unlock()
	if f.wr != nil {
		f.wr.mu.Lock()
		n += f.wr.dirtyBytes
		f.wr.mu.Unlock()
	}
	return n
}
