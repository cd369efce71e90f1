package chunk

import (
	"sync"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// implicitIndex serves datasets whose chunks were all allocated at creation,
// one after another in row-major chunk order over the maximum extent: a
// chunk's address is computed, nothing is stored.
type implicitIndex struct {
	p    Params
	grid []uint64
	size uint64

	// writing: the storage's address (Undefined until allocated)
	mu   sync.Mutex
	base uint64
}

func newImplicitIndex(p Params) *implicitIndex {
	maxd := p.MaxDims
	if maxd == nil {
		maxd = p.Dims
	}
	grid := gridDims(maxd, p.Layout.ChunkDims)
	for i, g := range grid {
		if g == format.Unlimited {
			grid[i] = gridDims(p.Dims, p.Layout.ChunkDims)[i]
		}
	}
	return &implicitIndex{p: p, grid: grid, size: p.ChunkBytes(), base: p.Layout.Addr}
}

func (x *implicitIndex) Lookup(scaled []uint64) (Chunk, bool, error) {
	if err := checkScaled(scaled, len(x.grid)); err != nil {
		return Chunk{}, false, err
	}
	for i := range scaled {
		if scaled[i] >= x.grid[i] {
			return Chunk{}, false, nil
		}
	}
	idx := linearIndex(scaled, x.grid)
	return Chunk{Scaled: scaled, Addr: x.p.Layout.Addr + idx*x.size, Size: x.size}, true, nil
}

func (x *implicitIndex) Walk(visit func(Chunk) error) error {
	cur := gridDims(x.p.Dims, x.p.Layout.ChunkDims)
	n := uint64(1)
	for _, g := range cur {
		n *= g
	}
	for i := uint64(0); i < n; i++ {
		c, ok, err := x.Lookup(unlinear(i, cur))
		if err != nil {
			return err
		}
		if ok {
			if err := visit(c); err != nil {
				return err
			}
		}
	}
	return nil
}
