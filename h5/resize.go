package h5

import (
	"errors"
	"fmt"
	"math"
	"math/bits"

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
	d.lockToChange()
	defer d.doneChanging()
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
	if len(d.Filters) > 0 && d.layout.NoFilterEdgeChunks() {
		if err := d.loadChunksChangingEdge(dims); err != nil {
			return err
		}
	}
	d.f.wr.meta.Lock()
	err = d.f.rewriteMessage(d.Object, m, stored.EncodeDims(dims, d.f.r.Sizes))
	d.f.wr.meta.Unlock()
	if err != nil {
		return err
	}
	d.extent.Store(&dims)
	if l := d.layout; l.Version >= 4 && l.IndexType != format.IndexBTree1 && l.IndexType != format.IndexBTree2 {
		// The B-trees know nothing of the extent and keep their decoded
		// nodes (an appender grows the dataset with every write); the
		// other indexes are opened again for the new one.
		d.resetIndex()
	}
	d.invalidateAllocated()
	if rows > old[0] {
		return d.fillExposedRows(old[0], rows)
	}
	return d.pruneRows(rows, old[0])
}

// pruneRows does what libhdf5 does to the chunks of a dataset shrunk from
// oldRows to rows (H5D__chunk_prune_by_extent): chunks wholly past the new
// end leave the index and their space is freed; in a chunk the new end
// cuts, the rows past it are set to the fill value. A dataset that grows
// again (here or in libhdf5, which fills only chunks it finds missing)
// then shows the fill value there, never the rows the shrink took away.
// An implicit index keeps its chunks where they are, as in libhdf5; this
// engine fills their exposed rows when the dataset grows.
func (d *Dataset) pruneRows(rows, oldRows uint64) error {
	g := d.geometry()
	c0 := g.chunk[0]
	w := d.f.wr
	w.mu.Lock()
	for k, dc := range w.dirty {
		if dc.d == d && dc.scaled[0]*c0 >= rows {
			delete(w.dirty, k)
			w.dirtyBytes -= int64(len(dc.data))
		}
	}
	w.mu.Unlock()
	if rows%c0 != 0 {
		if err := d.fillExposedRows(rows, min(oldRows, (rows/c0+1)*c0)); err != nil {
			return err
		}
	}
	cw, err := d.chunkWriter()
	if err != nil {
		return err
	}
	remover, ok := cw.(chunk.Remover)
	if !ok {
		return nil
	}
	idx, err := d.chunkIndex()
	if err != nil {
		return err
	}
	var gone []chunk.Chunk
	err = idx.Walk(func(c chunk.Chunk) error {
		if c.Scaled[0]*c0 >= rows {
			c.Scaled = append([]uint64(nil), c.Scaled...)
			gone = append(gone, c)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(gone) == 0 {
		return nil
	}
	// The index removing the chunks is the one reads use (every Remover
	// is its own Writer): nothing to open again.
	defer d.invalidateAllocated()
	for _, c := range gone {
		d.f.wr.meta.Lock()
		err := remover.Remove(storage{d.f}, c.Scaled)
		d.f.wr.meta.Unlock()
		if errors.Is(err, format.ErrNotFound) {
			// Walked to but not found by its key: the index contradicts itself.
			err = fmt.Errorf("%v: %w", err, ErrCorrupt)
		}
		if err != nil {
			return fmt.Errorf("h5: dataset at 0x%x: removing chunk %v past the new end: %w", d.Addr, c.Scaled, err)
		}
		d.f.free(c.Addr, c.Size)
		d.f.chunks.drop(chunkKey{dataset: d.cacheID, index: ravel(c.Scaled, g.grid)})
	}
	return nil
}

// loadChunksChangingEdge makes pending copies of the stored chunks that
// are partial edge chunks in one of the current extent and dims but not in
// the other, in a layout that stores partial edge chunks unfiltered: each
// is decoded as it is stored now, and is stored again as the new extent
// wants it (libhdf5 rewrites them likewise, H5D__chunk_update_old_edge_chunks).
// Only the chunk rows holding the old and the new end can change: they are
// looked up, not found by walking the index, which an appender would do on
// every write.
func (d *Dataset) loadChunksChangingEdge(dims []uint64) error {
	idx, err := d.chunkIndex()
	if err != nil {
		return err
	}
	cur := d.geometry()
	next := cur
	next.dims = dims
	// A chunk row changes only where one of the two ends cuts it, and
	// only if it lies inside both extents.
	c0 := cur.chunk[0]
	var changing [][]uint64
	for i, end := range []uint64{cur.dims[0], dims[0]} {
		row := end / c0
		if end%c0 == 0 || row*c0 >= min(cur.dims[0], dims[0]) || i == 1 && row == cur.dims[0]/c0 {
			continue
		}
		found, err := d.chunksInRows(idx, &cur, row, row)
		if err != nil {
			return err
		}
		for _, sc := range found {
			if cur.isEdgeChunk(sc) != next.isEdgeChunk(sc) {
				changing = append(changing, sc)
			}
		}
	}
	for _, sc := range changing {
		if _, err := d.dirtyChunkFor(idx, &cur, sc, false); err != nil {
			return err
		}
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
	touched, err := d.chunksInRows(idx, &g, from/c0, (to-1)/c0)
	if err != nil {
		return err
	}
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

// bandLookups is the number of chunk positions up to which the chunks of a
// band of chunk rows are found by looking each position up rather than by
// walking the whole index.
const bandLookups = 4096

// chunksInRows returns the coordinates of the chunks in chunk rows first
// through last that are stored or pending. A small band (a writer
// appending rows grows the dataset a chunk row at a time) is looked up
// position by position: a walk of the whole index and of every pending
// chunk on each growth made appending quadratic (80,000 appends of a chunk
// each took minutes). A large band (a truncate far past the end) walks the
// index, which visits only the chunks stored. A chunk may be listed twice.
func (d *Dataset) chunksInRows(idx chunk.Index, g *chunkGeometry, first, last uint64) ([][]uint64, error) {
	across := uint64(1)
	for _, n := range g.grid[1:] {
		hi, lo := bits.Mul64(across, n)
		if hi != 0 {
			across = math.MaxUint64
			break
		}
		across = lo
	}
	w := d.f.wr
	var found [][]uint64
	if rows := last - first + 1; across <= bandLookups && rows <= bandLookups/max(across, 1) {
		scaled := make([]uint64, len(g.grid))
		for r := first; r <= last; r++ {
			for i := uint64(0); i < across; i++ {
				scaled[0] = r
				unravelInto(i, g.grid[1:], scaled[1:])
				ok := w.pending(chunkKey{dataset: d.cacheID, index: ravel(scaled, g.grid)}) != nil
				if !ok {
					var err error
					if _, ok, err = idx.Lookup(scaled); err != nil {
						return nil, err
					}
				}
				if ok {
					found = append(found, append([]uint64(nil), scaled...))
				}
			}
		}
		return found, nil
	}
	err := idx.Walk(func(c chunk.Chunk) error {
		if c.Scaled[0] >= first && c.Scaled[0] <= last {
			found = append(found, append([]uint64(nil), c.Scaled...))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	for _, dc := range w.dirty {
		if dc.d == d && dc.scaled[0] >= first && dc.scaled[0] <= last {
			found = append(found, dc.scaled)
		}
	}
	w.mu.Unlock()
	return found, nil
}

// unravelInto sets scaled to the coordinates of position i in grid,
// row-major.
func unravelInto(i uint64, grid, scaled []uint64) {
	for k := len(grid) - 1; k >= 0; k-- {
		scaled[k] = i % grid[k]
		i /= grid[k]
	}
}
