package h5

import (
	"fmt"

	"github.com/h5mount/h5mount/h5/internal/chunk"
	"github.com/h5mount/h5mount/h5/internal/format"
)

// Growable reports whether the dataset can change its first dimension:
// chunked, with a first dimension whose maximum exceeds one row, in a
// writable file.
func (d *Dataset) Growable() bool {
	return d.f.wr != nil && d.layout.Class == format.LayoutChunked && len(d.space.MaxDims) > 0 &&
		d.space.Kind == SpaceSimple && (d.space.MaxDims[0] == Unlimited || d.space.MaxDims[0] > d.space.Dims[0])
}

// RowBytes is the size of one index along the first dimension.
func (d *Dataset) RowBytes() int64 {
	n := int64(d.Type.Size)
	for _, x := range d.dims()[1:] {
		n *= int64(x)
	}
	return n
}

// Resize sets the first dimension to rows, growing or shrinking the
// dataset, as H5Dset_extent does along that dimension. Rows that come into
// view read as the fill value.
func (d *Dataset) Resize(rows uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.resizeLocked(rows)
}

func (d *Dataset) resizeLocked(rows uint64) error {
	if !d.Growable() {
		return fmt.Errorf("h5: dataset at 0x%x cannot change its shape: %w", d.Addr, ErrNoSpace)
	}
	if max := d.space.MaxDims[0]; max != Unlimited && rows > max {
		return fmt.Errorf("h5: dataset at 0x%x: %d rows exceed the maximum %d: %w", d.Addr, rows, max, ErrNoSpace)
	}
	old := d.dims()
	if rows == old[0] {
		return nil
	}
	m := d.header().Find(format.MsgDataspace)
	if m == nil || m.Shared() {
		return fmt.Errorf("h5: dataset at 0x%x: shared dataspace cannot change: %w", d.Addr, ErrUnsupported)
	}
	stored, err := format.DecodeDataspace(m.Data, m.Addr, d.f.r.Sizes)
	if err != nil {
		return err
	}
	dims := append([]uint64(nil), old...)
	dims[0] = rows
	if n := (&Dataspace{Kind: SpaceSimple, Dims: dims}).NumElements(); n > uint64(1<<63-1)/uint64(d.Type.Size) {
		return fmt.Errorf("h5: dataset at 0x%x: %d rows overflow: %w", d.Addr, rows, ErrNoSpace)
	}
	d.f.wr.meta.Lock()
	err = d.f.rewriteMessage(d.Object, m, stored.EncodeDims(dims, d.f.r.Sizes))
	d.f.wr.meta.Unlock()
	if err != nil {
		return err
	}
	d.extent.Store(&dims)
	d.resetIndex()
	d.invalidateAllocated()
	if rows > old[0] {
		return d.fillExposedRows(old[0], rows)
	}
	return nil
}

// fillExposedRows writes the fill value into chunks that already exist and
// overlap rows [from, to): they may hold stale data there (a shrink left it,
// or the writer of an edge chunk did). Chunks that do not exist read as the
// fill value already and stay unallocated.
func (d *Dataset) fillExposedRows(from, to uint64) error {
	idx, err := d.chunkIndex()
	if err != nil {
		return err
	}
	g := d.geometry()
	c0 := g.chunk[0]
	var touched [][]uint64
	err = idx.Walk(func(c chunk.Chunk) error {
		if start := c.Scaled[0] * c0; start < to && start+c0 > from {
			touched = append(touched, append([]uint64(nil), c.Scaled...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	w := d.f.wr
	w.mu.Lock()
	for _, dc := range w.dirty {
		if dc.d == d {
			if start := dc.scaled[0] * c0; start < to && start+c0 > from {
				touched = append(touched, dc.scaled)
			}
		}
	}
	w.mu.Unlock()
	rowChunkBytes := g.chunkBytes / c0
	for _, sc := range touched {
		dc, err := d.dirtyChunkFor(idx, &g, sc, false)
		if err != nil {
			return err
		}
		start := sc[0] * c0
		a, b := max(from, start)-start, min(to, start+c0)-start
		fillPattern(dc.data[a*rowChunkBytes:b*rowChunkBytes], a*rowChunkBytes, d.fillVal)
	}
	return nil
}
