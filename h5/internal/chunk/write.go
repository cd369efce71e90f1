package chunk

import "github.com/h5mount/h5mount/h5/internal/format"

// Storage is what an index needs to change the file: writing at relative
// addresses and allocating space.
type Storage interface {
	WriteAt(p []byte, addr uint64) error
	Alloc(n uint64) (uint64, error)
}

// Writer is an index that can record new and moved chunks. Put records that
// the chunk at c.Scaled is now stored at c.Addr, c.Size bytes, filter mask
// c.FilterMask. It writes the index structures it changes; an index whose
// own address changes (a first chunk in an empty index) returns it as
// newAddr, for the caller to store in the layout message.
type Writer interface {
	Put(s Storage, c Chunk) (newAddr uint64, err error)
}

// NewBTree1Writer returns a v1 B-tree index for a dataset that has none yet:
// its first Put creates the root node.
func NewBTree1Writer(p Params) Writer { return newBTree1Index(p) }

// OpenWriter returns the writer for the dataset's chunk index, whether or
// not the index exists yet (a dataset never written has none: the first Put
// creates it and returns its address).
func OpenWriter(p Params) (Writer, error) {
	l := p.Layout
	if l.Version < 4 || l.IndexType == format.IndexBTree1 {
		return newBTree1Index(p), nil
	}
	switch l.IndexType {
	case format.IndexImplicit:
		return openImplicitWriter(p)
	case format.IndexFixedArray:
		return openFixedArrayWriter(p)
	case format.IndexExtensible:
		return openExtensibleArrayWriter(p)
	case format.IndexBTree2:
		return openBTree2Writer(p)
	}
	return nil, format.Unsupportedf(l.Addr, "chunk index", "writing through index type %d", l.IndexType)
}

// Placer is a chunk index that decides where chunks are stored: the
// implicit index, whose chunks lie one after another, in row-major order of
// the maximum chunk grid, in storage allocated for all of them at once.
// The engine asks Place before it allocates space for a chunk; when the
// placement is Fixed, the chunk must be written at Addr (its space is
// already the index's, whatever the chunk's stored size), and Put then
// refuses any other address.
//
// An index whose storage does not exist yet (a dataset never written)
// allocates all of it in Place, as libhdf5 does at creation (early
// allocation); FreshAddr and FreshSize then give that storage. Every chunk
// in it reads as stored, so the caller fills it with the fill value before
// writing the chunk; the Put that follows returns FreshAddr as the index's
// new address, for the layout message.
type Placer interface {
	Place(s Storage, scaled []uint64) (Placement, error)
}

// Placement is where Place says a chunk goes.
type Placement struct {
	Addr  uint64 // the chunk's address, when Fixed
	Fixed bool   // the chunk must be stored at Addr; false: the caller allocates
	// Storage this call allocated (FreshSize 0 when none), to be filled
	// with the fill value.
	FreshAddr, FreshSize uint64
}

// Remover is an index that can forget chunks, as libhdf5's indexes do when
// a dataset shrinks (H5D__chunk_prune_by_extent removes every chunk wholly
// outside the new extent). Remove drops the entry of the chunk at scaled,
// writing the index structures it changes and freeing through s those the
// removal empties; the chunk's own storage is the caller's to free. An
// index with no such entry returns an error wrapping format.ErrNotFound.
//
// The implicit index has no Remover: its chunks' places are fixed, and
// libhdf5 leaves them stored too (H5D__none_idx_remove).
type Remover interface {
	Remove(s format.Space, scaled []uint64) error
}
