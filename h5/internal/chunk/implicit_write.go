package chunk

import (
	"fmt"
	"math/bits"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// Writing through the implicit index (libhdf5 H5Dnone.c): there is no
// index structure. libhdf5 uses this index only for datasets without
// filters or unlimited dimensions whose storage is allocated early:
// H5D__none_idx_create allocates max_nchunks * chunk size bytes at once,
// and a chunk's address is the storage's plus its row-major position in
// the maximum chunk grid times the chunk size (H5D__none_idx_get_addr).
// Chunks are therefore always written in place.

var (
	_ Writer = (*implicitIndex)(nil)
	_ Placer = (*implicitIndex)(nil)
)

func openImplicitWriter(p Params) (Writer, error) {
	addr := p.Layout.Addr
	if p.Filtered {
		return nil, format.Corruptf(addr, "chunk index", "implicit chunk index for a dataset with filters")
	}
	maxd := p.MaxDims
	if maxd == nil {
		maxd = p.Dims
	}
	for _, m := range maxd {
		if m == format.Unlimited {
			return nil, format.Corruptf(addr, "chunk index", "implicit chunk index for a dataset with an unlimited dimension")
		}
	}
	x := newImplicitIndex(p)
	if _, ok := x.storageSize(); !ok {
		return nil, format.Corruptf(addr, "chunk index", "implicit chunk storage for grid %v overflows", x.grid)
	}
	x.base = addr
	return x, nil
}

// storageSize is the bytes of all chunks of the maximum grid.
func (x *implicitIndex) storageSize() (uint64, bool) {
	n := x.size
	for _, g := range x.grid {
		hi, lo := bits.Mul64(n, g)
		if hi != 0 {
			return 0, false
		}
		n = lo
	}
	return n, true
}

// chunkAddr is where the chunk at scaled goes, from the storage at base.
func (x *implicitIndex) chunkAddr(base uint64, scaled []uint64) (uint64, error) {
	if err := checkScaled(scaled, len(x.grid)); err != nil {
		return 0, err
	}
	for i := range scaled {
		if scaled[i] >= x.grid[i] {
			return 0, fmt.Errorf("chunk %v outside the implicit index's chunk grid %v: %w", scaled, x.grid, format.ErrCorrupt)
		}
	}
	return base + linearIndex(scaled, x.grid)*x.size, nil
}

// Place gives the chunk's address, allocating the storage of every chunk
// when there is none yet.
func (x *implicitIndex) Place(s Storage, scaled []uint64) (Placement, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	var pl Placement
	if x.base == format.Undefined {
		size, ok := x.storageSize()
		if !ok || size == 0 {
			return pl, format.Corruptf(x.p.Layout.Addr, "chunk index", "implicit chunk storage of %d bytes for grid %v", size, x.grid)
		}
		addr, err := s.Alloc(size)
		if err != nil {
			return pl, err
		}
		x.base, pl.FreshAddr, pl.FreshSize = addr, addr, size
	}
	addr, err := x.chunkAddr(x.base, scaled)
	if err != nil {
		return Placement{}, err
	}
	pl.Addr, pl.Fixed = addr, true
	return pl, nil
}

// Put checks that the chunk went where the index says: nothing is stored.
func (x *implicitIndex) Put(_ Storage, c Chunk) (uint64, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.base == format.Undefined {
		return 0, fmt.Errorf("chunk %v: the implicit index has no storage yet (Place allocates it): %w", c.Scaled, format.ErrUnsupported)
	}
	want, err := x.chunkAddr(x.base, c.Scaled)
	if err != nil {
		return 0, err
	}
	if c.Addr != want || c.Size > x.size || c.FilterMask != 0 {
		return 0, fmt.Errorf("chunk %v of %d bytes at 0x%x (mask %#x): the implicit index stores it at 0x%x, %d bytes unfiltered: %w",
			c.Scaled, c.Size, c.Addr, c.FilterMask, want, x.size, format.ErrUnsupported)
	}
	return x.base, nil
}
