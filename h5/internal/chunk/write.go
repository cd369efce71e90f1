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
