package h5

import (
	"errors"

	"github.com/h5mount/h5mount/h5/internal/chunk"
	"github.com/h5mount/h5mount/h5/internal/format"
)

// Sparse datasets answer lseek's SEEK_DATA and SEEK_HOLE: the bytes of
// chunks never written (and of contiguous storage never allocated) are
// holes, so cp --sparse, tar -S and friends copy a 2 TiB dataset holding
// one chunk as one chunk. A hole must read as zeros, so a dataset whose
// fill value is not zero, or whose bytes are converted, has none.

// maxSeekChunks bounds the stored chunks one seek considers; a dataset
// with more is all data to lseek (correct, merely not sparse).
const maxSeekChunks = 1 << 20

// maxSeekRuns bounds the runs SeekHole steps through; past it, it answers
// where it stopped, a hole of no length, and the caller's next SEEK_DATA
// carries on from there.
const maxSeekRuns = 1 << 16

var errTooManyChunks = errors.New("too many chunks to seek through")

// SeekData returns the first offset at or after off that holds data, or
// Size() when none does.
func (d *Dataset) SeekData(off int64) (int64, error) {
	return d.seek(off, true)
}

// SeekHole returns the first offset at or after off that lies in a hole,
// or Size() (the end of the dataset counts as a hole).
func (d *Dataset) SeekHole(off int64) (int64, error) {
	return d.seek(off, false)
}

func (d *Dataset) seek(off int64, data bool) (int64, error) {
	size := d.Size()
	if off < 0 {
		off = 0
	}
	if off >= size {
		return size, nil
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	allData := func() (int64, error) {
		if data {
			return off, nil
		}
		return size, nil
	}
	if d.conv != nil || !d.zeroFill() || d.hasExternal() {
		return allData()
	}
	switch d.layout.Class {
	case format.LayoutContiguous:
		if d.layout.Addr != format.Undefined {
			return allData()
		}
		if data {
			return size, nil
		}
		return off, nil
	case format.LayoutChunked:
	default:
		return allData()
	}
	g := d.geometry()
	stored, err := d.storedChunks(g)
	if errors.Is(err, errTooManyChunks) {
		return allData()
	}
	if err != nil {
		return 0, err
	}
	esize := int64(g.esize)
	e := uint64(off / esize)
	x := unravel(e, g.dims)
	if data {
		best, found := uint64(0), false
		box := make([]uint64, len(g.dims))
		for lin := range stored {
			origin := unravel(lin, g.grid)
			for i := range origin {
				origin[i] *= g.chunk[i]
				box[i] = min(origin[i]+g.chunk[i], g.dims[i])
			}
			if y, ok := nextInBox(x, origin, box); ok {
				if at := ravel(y, g.dims); !found || at < best {
					best, found = at, true
				}
			}
		}
		switch {
		case !found:
			return size, nil
		case best == e:
			return off, nil // inside an element that is data
		}
		return int64(best) * esize, nil
	}
	// Step run by run (a run: along the last dimension, inside one chunk)
	// while the runs are stored.
	last := len(g.dims) - 1
	for range maxSeekRuns {
		if !stored[chunkOf(x, g)] {
			at := int64(ravel(x, g.dims)) * esize
			return max(at, off), nil
		}
		end := min((x[last]/g.chunk[last]+1)*g.chunk[last], g.dims[last])
		x[last] = end
		for i := last; i > 0 && x[i] >= g.dims[i]; i-- {
			x[i] = 0
			x[i-1]++
		}
		if x[0] >= g.dims[0] {
			return size, nil
		}
	}
	return max(int64(ravel(x, g.dims))*esize, off), nil
}

// zeroFill reports whether unstored elements read as zero bytes.
func (d *Dataset) zeroFill() bool {
	for _, b := range d.fillVal {
		if b != 0 {
			return false
		}
	}
	return true
}

// storedChunks is the set of row-major chunk numbers with storage, stored
// or waiting in the write-back cache. The caller holds d.mu.
func (d *Dataset) storedChunks(g chunkGeometry) (map[uint64]bool, error) {
	idx, err := d.chunkIndex()
	if err != nil {
		return nil, err
	}
	stored := map[uint64]bool{}
	err = idx.Walk(func(c chunk.Chunk) error {
		if len(stored) >= maxSeekChunks {
			return errTooManyChunks
		}
		if len(c.Scaled) < len(g.grid) {
			return nil
		}
		for i := range g.grid {
			if c.Scaled[i] >= g.grid[i] {
				return nil // beyond the current extent: never read
			}
		}
		stored[ravel(c.Scaled, g.grid)] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if w := d.f.wr; w != nil {
		w.mu.Lock()
		for k := range w.dirty {
			if k.dataset == d.cacheID {
				stored[k.index] = true
			}
		}
		w.mu.Unlock()
	}
	return stored, nil
}

// chunkOf is the row-major number of the chunk holding element x.
func chunkOf(x []uint64, g chunkGeometry) uint64 {
	var lin uint64
	for i := range g.grid {
		lin = lin*g.grid[i] + x[i]/g.chunk[i]
	}
	return lin
}

func unravel(lin uint64, dims []uint64) []uint64 {
	x := make([]uint64, len(dims))
	for i := len(dims) - 1; i >= 0; i-- {
		if dims[i] == 0 {
			return x
		}
		x[i] = lin % dims[i]
		lin /= dims[i]
	}
	return x
}

// ravel is the row-major position of x in a grid of dims (a chunk's number
// from its scaled coordinates, an element's from its coordinates).
func ravel(x, dims []uint64) uint64 {
	var lin uint64
	for i := range dims {
		lin = lin*dims[i] + x[i]
	}
	return lin
}

// nextInBox finds the first point in row-major order at or after x inside
// the box [lo, hi).
func nextInBox(x, lo, hi []uint64) ([]uint64, bool) {
	rank := len(x)
	for k := rank - 1; k >= 0; k-- {
		// Keep x's coordinates before k, which must lie in the box.
		inside := true
		for i := 0; i < k; i++ {
			if x[i] < lo[i] || x[i] >= hi[i] {
				inside = false
				break
			}
		}
		if !inside {
			continue
		}
		// At k, the smallest coordinate in the box that is past x's (or
		// equal, at the last dimension, where nothing follows).
		want := x[k] + 1
		if k == rank-1 {
			want = x[k]
		}
		y := max(want, lo[k])
		if y >= hi[k] {
			continue
		}
		out := make([]uint64, rank)
		copy(out, x[:k])
		out[k] = y
		copy(out[k+1:], lo[k+1:])
		return out, true
	}
	return nil, false
}
