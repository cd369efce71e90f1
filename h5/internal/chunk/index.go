// Package chunk finds the stored chunks of a chunked dataset through any of
// HDF5's chunk indexes, behind one interface.
package chunk

import (
	"github.com/h5mount/h5mount/h5/internal/format"
)

// Chunk says where one chunk is stored.
type Chunk struct {
	Scaled     []uint64 // chunk coordinates: element offset / chunk dimension
	Addr       uint64
	Size       uint64 // stored (possibly filtered) bytes
	FilterMask uint32
}

// Index finds chunks by their scaled coordinates.
type Index interface {
	// Lookup returns the chunk at the scaled coordinates, or ok=false when
	// it was never written (it then reads as the fill value).
	Lookup(scaled []uint64) (c Chunk, ok bool, err error)
	// Walk visits every stored chunk once.
	Walk(visit func(Chunk) error) error
}

// Params describe the dataset an index belongs to.
type Params struct {
	R           *format.Reader
	Layout      *format.Layout
	Dims        []uint64 // current dataset dimensions
	MaxDims     []uint64 // maximum dimensions (Unlimited for unlimited)
	ElementSize uint32
	Filtered    bool // the dataset has a filter pipeline
	// BTreeK is the file's "indexed storage internal node K" (0: libhdf5's
	// default, 32): chunk B-tree nodes are allocated for 2K entries.
	BTreeK uint16
}

// ChunkBytes is the unfiltered size of one chunk.
func (p *Params) ChunkBytes() uint64 {
	n := uint64(p.ElementSize)
	for _, c := range p.Layout.ChunkDims {
		n *= c
	}
	return n
}

// Open returns the index a layout message describes. An undefined index
// address means no chunk was ever written.
func Open(p Params) (Index, error) {
	l := p.Layout
	if l.Addr == format.Undefined {
		return emptyIndex{}, nil
	}
	if l.Version < 4 {
		return newBTree1Index(p), nil
	}
	switch l.IndexType {
	case format.IndexBTree1:
		return newBTree1Index(p), nil
	case format.IndexSingle:
		return newSingleIndex(p), nil
	case format.IndexImplicit:
		return newImplicitIndex(p), nil
	case format.IndexFixedArray:
		return openFixedArray(p)
	case format.IndexExtensible:
		return openExtensibleArray(p)
	case format.IndexBTree2:
		return openBTree2Index(p)
	}
	return nil, format.Unsupportedf(l.Addr, "chunk index", "index type %d", l.IndexType)
}

type emptyIndex struct{}

func (emptyIndex) Lookup([]uint64) (Chunk, bool, error) { return Chunk{}, false, nil }
func (emptyIndex) Walk(func(Chunk) error) error         { return nil }

// gridDims is the number of chunks along each dimension for the given
// extents (rounding up, so partial edge chunks count).
func gridDims(extent, chunk []uint64) []uint64 {
	g := make([]uint64, len(chunk))
	for i := range chunk {
		if chunk[i] == 0 {
			continue
		}
		if i < len(extent) {
			if extent[i] == format.Unlimited {
				g[i] = format.Unlimited
				continue
			}
			g[i] = (extent[i] + chunk[i] - 1) / chunk[i]
		}
	}
	return g
}

// linearIndex is the row-major position of scaled in a grid.
func linearIndex(scaled, grid []uint64) uint64 {
	var idx uint64
	for i := range scaled {
		idx = idx*grid[i] + scaled[i]
	}
	return idx
}

// unlinear turns a row-major position back into scaled coordinates.
func unlinear(idx uint64, grid []uint64) []uint64 {
	s := make([]uint64, len(grid))
	for i := len(grid) - 1; i >= 0; i-- {
		if grid[i] == 0 {
			continue
		}
		s[i] = idx % grid[i]
		idx /= grid[i]
	}
	return s
}
