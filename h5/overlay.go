package h5

import (
	"io"
	"math/bits"
	"sort"
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
)

var _ format.WillNeeder = overlayReader{}

// overlay holds metadata written since the last commit. Structures the file
// already references are never changed in the file directly: their new
// bytes wait here, readers see them through the overlay, and a commit
// writes them through the journal (journal.go). Bytes are tracked
// individually so that a commit writes exactly what was changed, and never
// puts back stale bytes around a change.
type overlay struct {
	mu    sync.RWMutex
	pages map[int64]*overlayPage // by absolute offset / overlayPageSize
}

const overlayPageSize = 4096

type overlayPage struct {
	data  [overlayPageSize]byte
	dirty [overlayPageSize / 64]uint64
}

// set and clear mark the bytes [from, to) a word of the bitmap at a time:
// a B-tree node of 2 KiB, written on every chunk an append adds, took
// 2,048 steps byte by byte.
func (p *overlayPage) set(from, to int) {
	for i := from; i < to; {
		n := min(64-i&63, to-i)
		p.dirty[i>>6] |= bitRange(i&63, n)
		i += n
	}
}

func (p *overlayPage) clear(from, to int) bool {
	for i := from; i < to; {
		n := min(64-i&63, to-i)
		p.dirty[i>>6] &^= bitRange(i&63, n)
		i += n
	}
	for _, w := range p.dirty {
		if w != 0 {
			return false
		}
	}
	return true
}

// anyIn reports whether a byte of [from, to) is marked.
// A nil page marks none.
func (p *overlayPage) anyIn(from, to int) bool {
	found := false
	if p != nil {
		p.runs(from, to, func(int, int) { found = true })
	}
	return found
}

// bitRange is n set bits from bit lo on (lo+n <= 64).
func bitRange(lo, n int) uint64 {
	if n == 64 {
		return ^uint64(0)
	}
	return (1<<n - 1) << lo
}

// runs calls visit for every maximal run of dirty bytes in [from, to).
func (p *overlayPage) runs(from, to int, visit func(start, end int)) {
	i := from
	for i < to {
		w := p.dirty[i>>6] >> (i & 63)
		if w == 0 {
			i = (i | 63) + 1
			continue
		}
		i += bits.TrailingZeros64(w)
		if i >= to {
			return
		}
		start := i
		for i < to && p.dirty[i>>6]&(1<<(i&63)) != 0 {
			i++
		}
		visit(start, i)
	}
}

func newOverlay() *overlay { return &overlay{pages: map[int64]*overlayPage{}} }

// span calls visit for each page-sized piece of [off, off+n).
func span(off int64, n int, visit func(page int64, from, to, bufOff int)) {
	for done := 0; done < n; {
		pos := off + int64(done)
		page := pos / overlayPageSize
		from := int(pos % overlayPageSize)
		to := min(overlayPageSize, from+n-done)
		visit(page, from, to, done)
		done += to - from
	}
}

// write records p at absolute offset off.
func (o *overlay) write(p []byte, off int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	span(off, len(p), func(page int64, from, to, bufOff int) {
		pg := o.pages[page]
		if pg == nil {
			pg = &overlayPage{}
			o.pages[page] = pg
		}
		copy(pg.data[from:to], p[bufOff:])
		pg.set(from, to)
	})
}

// forget drops what the overlay holds for [off, off+n): space released
// before any commit saw it, or overwritten directly by data.
func (o *overlay) forget(off int64, n uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.pages) == 0 {
		return
	}
	for n > 0 {
		page := off / overlayPageSize
		from := int(off % overlayPageSize)
		to := int(min(uint64(overlayPageSize), uint64(from)+n))
		if pg := o.pages[page]; pg != nil && pg.clear(from, to) {
			delete(o.pages, page)
		}
		n -= uint64(to - from)
		off += int64(to - from)
	}
}

// patch copies the overlay's bytes over p, read from absolute offset off.
// The caller holds o.mu for reading.
func (o *overlay) patch(p []byte, off int64) {
	span(off, len(p), func(page int64, from, to, bufOff int) {
		pg := o.pages[page]
		if pg == nil {
			return
		}
		pg.runs(from, to, func(s, e int) {
			copy(p[bufOff+s-from:], pg.data[s:e])
		})
	})
}

// touches reports whether any byte of [off, off+n) waits in the overlay.
// It looks at whichever is fewer, the range's pages or the overlay's.
func (o *overlay) touches(off, n int64) bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if n <= 0 || len(o.pages) == 0 {
		return false
	}
	end := off + n
	if (end-1)/overlayPageSize-off/overlayPageSize < int64(len(o.pages)) {
		found := false
		span(off, int(n), func(page int64, from, to, _ int) {
			found = found || o.pages[page].anyIn(from, to)
		})
		return found
	}
	for page, pg := range o.pages {
		start := page * overlayPageSize
		from, to := max(off, start), min(end, start+overlayPageSize)
		if from < to && pg.anyIn(int(from-start), int(to-start)) {
			return true
		}
	}
	return false
}

// record is one run of changed bytes.
type record struct {
	off  int64
	data []byte
}

// records lists every changed run in file order, merged across pages.
func (o *overlay) records() []record {
	o.mu.RLock()
	defer o.mu.RUnlock()
	pages := make([]int64, 0, len(o.pages))
	for k := range o.pages {
		pages = append(pages, k)
	}
	sort.Slice(pages, func(i, j int) bool { return pages[i] < pages[j] })
	var out []record
	for _, k := range pages {
		pg := o.pages[k]
		pg.runs(0, overlayPageSize, func(s, e int) {
			off := k*overlayPageSize + int64(s)
			if n := len(out); n > 0 && out[n-1].off+int64(len(out[n-1].data)) == off {
				out[n-1].data = append(out[n-1].data, pg.data[s:e]...)
				return
			}
			out = append(out, record{off: off, data: append([]byte(nil), pg.data[s:e]...)})
		})
	}
	return out
}

// empty reports whether nothing is pending.
func (o *overlay) empty() bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return len(o.pages) == 0
}

// reset drops everything once a commit has put it in the file.
func (o *overlay) reset() {
	o.mu.Lock()
	o.pages = map[int64]*overlayPage{}
	o.mu.Unlock()
}

// overlayReader reads the file as the overlay says it now is. Space
// allocated since the last commit may lie past the file's physical end: it
// reads as zeros up to the allocated end, with the overlay's bytes on top.
type overlayReader struct {
	r   io.ReaderAt
	ov  *overlay
	end func() int64 // absolute end of allocated space
}

// WillNeed passes read hints (the chunks a sequential reader reaches
// next) to the file underneath.
func (or overlayReader) WillNeed(off, n int64) {
	if h, ok := or.r.(format.WillNeeder); ok {
		h.WillNeed(off, n)
	}
}

func (or overlayReader) ReadAt(p []byte, off int64) (int, error) {
	or.ov.mu.RLock()
	defer or.ov.mu.RUnlock()
	n, err := or.r.ReadAt(p, off)
	if n < len(p) && err == io.EOF {
		if end := or.end(); off+int64(len(p)) <= end {
			clear(p[n:])
			n, err = len(p), nil
		}
	}
	if len(or.ov.pages) > 0 {
		or.ov.patch(p[:n], off)
	}
	return n, err
}
