package chunk

import (
	"github.com/h5mount/h5mount/h5/internal/format"
)

// btree2Index is the version 2 B-tree chunk index (layout version 4, index
// type 5), which libhdf5 picks for datasets with more than one unlimited
// dimension. Records (H5Dbtree2.c) are ordered by scaled chunk coordinates:
//
//	type 10 (unfiltered): chunk address, scaled offset u64 per dimension
//	type 11 (filtered):   chunk address, stored size (sizeLen bytes),
//	                      filter mask u32, scaled offset u64 per dimension
type btree2Index struct {
	p          Params
	bt         *format.BTree2
	rank       int
	filtered   bool
	sizeLen    int
	chunkBytes uint64
}

func openBTree2Index(p Params) (Index, error) {
	l := p.Layout
	bt, err := format.ReadBTree2(p.R, l.Addr)
	if err != nil {
		return nil, err
	}
	var filtered bool
	switch bt.Type {
	case format.BTree2ChunkUnfiltered:
	case format.BTree2ChunkFiltered:
		filtered = true
	default:
		return nil, format.Corruptf(l.Addr, "v2 B-tree header", "record type %d in a chunk index", bt.Type)
	}
	x := newBTree2Index(p, filtered)
	x.bt = bt
	if want := x.recordSize(); int(bt.RecordSize) != want {
		return nil, format.Corruptf(l.Addr, "v2 B-tree header", "chunk records of %d bytes, expected %d", bt.RecordSize, want)
	}
	return x, nil
}

// newBTree2Index sets up the record geometry of a chunk B-tree, before or
// without reading its header.
func newBTree2Index(p Params, filtered bool) *btree2Index {
	l := p.Layout
	x := &btree2Index{p: p, rank: len(l.ChunkDims), filtered: filtered}
	// layout->size of libhdf5: the chunk dimensions times the element size.
	x.chunkBytes = layoutChunkBytes(&p)
	if filtered {
		x.sizeLen = filteredSizeLen(&p)
	}
	return x
}

// recordSize is the bytes of one chunk record (H5D__bt2_idx_create's
// rrec_size).
func (x *btree2Index) recordSize() int {
	n := x.p.R.Sizes.Offset + 8*x.rank
	if x.filtered {
		n += x.sizeLen + 4
	}
	return n
}

// decode turns a record into a Chunk.
func (x *btree2Index) decode(rec []byte) (Chunk, error) {
	d := format.NewDecoder(rec, x.p.Layout.Addr, "v2 B-tree chunk record", x.p.R.Sizes)
	c := Chunk{Addr: d.Offset(), Size: x.chunkBytes, Scaled: make([]uint64, x.rank)}
	if x.filtered {
		c.Size = d.Uint(x.sizeLen)
		c.FilterMask = d.U32()
	}
	for i := range c.Scaled {
		c.Scaled[i] = d.U64()
	}
	return c, d.Err()
}

// scaledAt reads dimension i of a record's scaled offset.
func (x *btree2Index) scaledAt(rec []byte, i int) uint64 {
	pos := x.p.R.Sizes.Offset + 8*i
	if x.filtered {
		pos += x.sizeLen + 4
	}
	return format.DecodeUint(rec[pos : pos+8])
}

func (x *btree2Index) Lookup(scaled []uint64) (Chunk, bool, error) {
	if len(scaled) != x.rank || x.bt == nil {
		return Chunk{}, false, nil
	}
	rec, found, err := x.bt.Search(x.compare(scaled))
	if err != nil || !found {
		return Chunk{}, false, err
	}
	c, err := x.decode(rec)
	if err != nil {
		return Chunk{}, false, err
	}
	if c.Addr == format.Undefined {
		return Chunk{}, false, nil
	}
	return c, true, nil
}

// compare is H5D__bt2_compare: the wanted scaled offsets against a
// record's, row-major.
func (x *btree2Index) compare(scaled []uint64) func(rec []byte) int {
	return func(rec []byte) int {
		for i, want := range scaled {
			have := x.scaledAt(rec, i)
			if want < have {
				return -1
			}
			if want > have {
				return 1
			}
		}
		return 0
	}
}

func (x *btree2Index) Walk(visit func(Chunk) error) error {
	if x.bt == nil {
		return nil
	}
	return x.bt.Walk(func(rec []byte) error {
		c, err := x.decode(rec)
		if err != nil {
			return err
		}
		if c.Addr == format.Undefined {
			return nil
		}
		return visit(c)
	})
}
