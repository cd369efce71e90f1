package h5

import (
	"container/list"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h5mount/h5mount/h5/internal/filter"
)

// chunkKey names one chunk of one dataset in the file's chunk cache.
type chunkKey struct {
	dataset uint64 // Dataset.cacheID: a redefined dataset's chunks are new ones
	index   uint64 // row-major chunk number
}

// A chunkBuf is one decoded chunk, shared by the cache and the readers that
// copy it out or pass it on. Its holders are the cache while it keeps the
// chunk and each caller of get or peek until it calls release; memory a
// decode took from decodedBufs goes back there when the last holder lets
// go. A sequential read of shuffled LZ4 chunks that left every decoded
// chunk to the collector spent a fifth of its time clearing fresh memory,
// faulting its pages in and handing it back to the system. A holder that
// never releases only keeps the memory from reuse.
type chunkBuf struct {
	data []byte
	mem  []byte // the decodedBufs buffer data lies in; nil: not reused
	refs atomic.Int32
}

// size is the memory b holds, which the cache counts against its budget:
// a small chunk may lie in a larger pooled buffer.
func (b *chunkBuf) size() int64 {
	if b.mem != nil {
		return int64(cap(b.mem))
	}
	return int64(len(b.data))
}

// release lets go of one hold on b (nil: none taken).
func (b *chunkBuf) release() {
	if b != nil && b.refs.Add(-1) == 0 && b.mem != nil {
		recycleDecoded(b.mem)
	}
}

// decodedBufs recycles the memory chunks are decoded into.
var decodedBufs filter.BufferPool

// poisonRecycled has recycled memory overwritten first, so that tests see
// a chunk reused while it was still held; recycled counts the chunks whose
// memory went back.
var (
	poisonRecycled bool
	recycled       atomic.Uint64
)

func recycleDecoded(mem []byte) {
	recycled.Add(1)
	if poisonRecycled {
		mem = mem[:cap(mem)]
		for i := range mem {
			mem[i] = 0xa5
		}
	}
	decodedBufs.Put(mem)
}

// Pins holds the decoded chunks whose memory ReadSlices and DecodedSpan
// hand out, keeping it from reuse until Release, and the dataset whose
// file ranges StoredRanges handed out on a writable file, keeping its
// bytes where they are (its changes wait) until Release. The zero value
// is ready for use, and again after Release. A read mostly pins one or
// two chunks: those take no allocation.
type Pins struct {
	first [2]*chunkBuf
	n     int // of first in use
	more  []*chunkBuf
	held  *sync.RWMutex // a Dataset's mu, read-locked
}

func (p *Pins) add(b *chunkBuf) {
	switch {
	case b == nil:
	case p.n < len(p.first):
		p.first[p.n] = b
		p.n++
	default:
		p.more = append(p.more, b)
	}
}

// Release lets go of the pinned chunks: the bytes handed out with them
// must no longer be used. Releasing twice is harmless.
func (p *Pins) Release() {
	for i, b := range p.first[:p.n] {
		b.release()
		p.first[i] = nil
	}
	p.n = 0
	for i, b := range p.more {
		b.release()
		p.more[i] = nil
	}
	p.more = p.more[:0]
	if p.held != nil {
		p.held.RUnlock()
		p.held = nil
	}
}

// chunkCache keeps decoded chunks up to a byte budget, least recently used
// first out, and always the chunk last used, even one larger than the
// whole budget: its decode held that memory anyway, and a chunk dropped as
// soon as it was decoded was decoded again for every read inside it (a
// cat of two 128 MiB gzip chunks through a 16 MiB cache took 32 s, h5py
// 1.9 s). Concurrent readers of one missing chunk wait for a single decode
// instead of decoding it twice.
type chunkCache struct {
	mu       sync.Mutex
	budget   int64 // as configured; see limit
	used     int64
	lru      *list.List // of *cacheEntry, front = most recent
	entries  map[chunkKey]*list.Element
	inflight map[chunkKey]*inflightChunk
	bands    map[uint64]bandClaim // by Dataset.cacheID
	claimed  atomic.Bool          // bands is not empty: readers without claims skip the lock
	shrink   *time.Timer          // evicts down to the budget once claims lapse
}

// A bandClaim is the memory a reader of a dataset needs to decode each
// chunk once: one row of chunks (every chunk sharing the first chunk
// coordinate), which a read of more than one dataset row crosses whole, and
// a reader going through the dataset in order again with every read. Through a
// cache smaller than that, every read decoded the row's chunks again: a
// cat of 256 MiB of (2048, 2048) float32 gzip chunks in rows of eight did
// not end in five minutes (h5py: 1.5 s).
type bandClaim struct {
	bytes  int64
	perRow uint64 // chunks in a row of chunks: chunk number / perRow is the row
	until  time.Time
}

// The cache grows for claimed rows of chunks up to maxBandFactor times its
// budget; a claim lapses bandHold after the read that made it.
const (
	maxBandFactor = 4
	bandHold      = 2 * time.Second
)

type cacheEntry struct {
	key chunkKey
	buf *chunkBuf
}

type inflightChunk struct {
	done    chan struct{}
	buf     *chunkBuf
	err     error
	waiters int32 // readers waiting for the decode, each owed a hold
}

func newChunkCache(budget int64) *chunkCache {
	return &chunkCache{budget: budget, lru: list.New(), entries: map[chunkKey]*list.Element{},
		inflight: map[chunkKey]*inflightChunk{}, bands: map[uint64]bandClaim{}}
}

// claimBand records that dataset's reader goes through rows of chunks of
// the given bytes in order; a row larger than the budget widens the cache
// for a while (limit).
func (c *chunkCache) claimBand(dataset uint64, bytes int64, perRow uint64) {
	if bytes <= c.budget {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bands[dataset] = bandClaim{bytes: bytes, perRow: max(perRow, 1), until: time.Now().Add(bandHold)}
	c.claimed.Store(true)
	if c.shrink == nil {
		c.shrink = time.AfterFunc(bandHold, c.shrinkLapsed)
	}
}

// shrinkLapsed gives back what lapsed claims took, and waits for the
// others to lapse.
func (c *chunkCache) shrinkLapsed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shrink = nil
	c.evictOverBudget()
	if len(c.bands) > 0 {
		c.shrink = time.AfterFunc(bandHold, c.shrinkLapsed)
	}
}

// limit is the budget, widened to the rows of chunks claimed lately, up
// to maxBandFactor times the budget. The caller holds c.mu.
func (c *chunkCache) limit() int64 {
	if len(c.bands) == 0 {
		return c.budget
	}
	now := time.Now()
	claimed := int64(0)
	for id, b := range c.bands {
		if now.After(b.until) {
			delete(c.bands, id)
			continue
		}
		claimed += b.bytes
	}
	c.claimed.Store(len(c.bands) > 0)
	return max(c.budget, min(claimed, maxBandFactor*c.budget))
}

// currentLimit is limit for callers that do not hold c.mu; without
// claims it takes no lock.
func (c *chunkCache) currentLimit() int64 {
	if !c.claimed.Load() {
		return c.budget // every read of a dataset without wide rows of chunks asks
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limit()
}

// get returns the cached chunk, or decodes it with load exactly once,
// held for the caller, who releases it. load returns the decoded bytes and
// the decodedBufs memory they lie in, if they do.
func (c *chunkCache) get(k chunkKey, load func() (data, mem []byte, err error)) (*chunkBuf, error) {
	c.mu.Lock()
	if e, ok := c.entries[k]; ok {
		c.lru.MoveToFront(e)
		b := e.Value.(*cacheEntry).buf
		b.refs.Add(1)
		c.mu.Unlock()
		return b, nil
	}
	if w, ok := c.inflight[k]; ok {
		w.waiters++
		c.mu.Unlock()
		<-w.done
		return w.buf, w.err
	}
	w := &inflightChunk{done: make(chan struct{})}
	c.inflight[k] = w
	c.mu.Unlock()

	data, mem, err := load()
	if err == nil {
		w.buf = &chunkBuf{data: data, mem: mem}
	}
	w.err = err

	c.mu.Lock()
	delete(c.inflight, k)
	if b := w.buf; b != nil {
		b.refs.Store(2 + w.waiters) // the cache's, the loader's and the waiters'
		c.entries[k] = c.lru.PushFront(&cacheEntry{key: k, buf: b})
		c.used += b.size()
		c.evictOverBudget()
	}
	c.mu.Unlock()
	close(w.done)
	return w.buf, w.err
}

// evictOverBudget drops the least recently used chunks until the cache is
// within its limit or holds only the chunk last used. The caller holds
// c.mu.
//
// A row of chunks larger than the cache can grow to is read in a cycle,
// every read of it going through its chunks in the same order: least
// recently used first out then drops the very chunk the reader needs next,
// and every read decodes the whole row again (a cat of 256 MiB in (8192,
// 8) chunks, all in one row, ran at 9 MB/s). When the chunk to drop lies in
// the same row as the one just decoded, the new one goes instead: the row's
// chunks the cache holds stay for the next read, which decodes only the
// rest.
func (c *chunkCache) evictOverBudget() {
	limit := c.limit()
	for c.used > limit && c.lru.Len() > 1 {
		victim := c.lru.Back()
		newest := c.lru.Front()
		if c.sameRow(victim.Value.(*cacheEntry).key, newest.Value.(*cacheEntry).key) {
			victim = newest
		}
		ent := victim.Value.(*cacheEntry)
		c.lru.Remove(victim)
		delete(c.entries, ent.key)
		c.used -= ent.buf.size()
		ent.buf.release()
		if victim == newest {
			return
		}
	}
}

// sameRow reports whether two chunks lie in one row of chunks of a dataset
// whose claim the cache cannot hold. The caller holds c.mu.
func (c *chunkCache) sameRow(a, b chunkKey) bool {
	claim, ok := c.bands[a.dataset]
	return ok && a.dataset == b.dataset && claim.bytes > maxBandFactor*c.budget &&
		a.index/claim.perRow == b.index/claim.perRow
}

// peek returns a cached chunk, held for the caller and marked recently
// used, without loading it.
func (c *chunkCache) peek(k chunkKey) (*chunkBuf, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok {
		c.lru.MoveToFront(e)
		b := e.Value.(*cacheEntry).buf
		b.refs.Add(1)
		return b, true
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

// put stores data as the chunk's decoded content, replacing what was
// there. The cache never reuses data's memory.
func (c *chunkCache) put(k chunkKey, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := &chunkBuf{data: data}
	b.refs.Store(1)
	if e, ok := c.entries[k]; ok {
		ent := e.Value.(*cacheEntry)
		c.used += b.size() - ent.buf.size()
		ent.buf.release()
		ent.buf = b
		c.lru.MoveToFront(e)
	} else {
		c.entries[k] = c.lru.PushFront(&cacheEntry{key: k, buf: b})
		c.used += b.size()
	}
	c.evictOverBudget()
}

// drop forgets a chunk that no longer exists.
func (c *chunkCache) drop(k chunkKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok {
		c.lru.Remove(e)
		delete(c.entries, k)
		ent := e.Value.(*cacheEntry)
		c.used -= ent.buf.size()
		ent.buf.release()
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
