package chunk

import (
	"fmt"
	"math"

	"github.com/h5mount/h5mount/h5/internal/format"
)

// libhdf5's creation parameters of a chunk v2 B-tree (H5Dpkg.h), used when
// the layout message gives none.
const (
	defaultBT2NodeSize     = 2048
	defaultBT2SplitPercent = 100
	defaultBT2MergePercent = 40
)

var _ Writer = (*btree2Index)(nil)

// openBTree2Writer is the v2 B-tree index as a writer. A dataset never
// written has no B-tree yet: the first Put creates its header (and root
// leaf) as H5D__bt2_idx_create and the first H5B2_update do.
func openBTree2Writer(p Params) (Writer, error) {
	if p.Layout.Addr == format.Undefined {
		return newBTree2Index(p, p.Filtered), nil
	}
	idx, err := openBTree2Index(p)
	if err != nil {
		return nil, err
	}
	return idx.(*btree2Index), nil
}

// encode is a chunk's record (H5D__bt2_unfilt_encode, H5D__bt2_filt_encode).
func (x *btree2Index) encode(c Chunk) ([]byte, error) {
	if len(c.Scaled) != x.rank {
		return nil, fmt.Errorf("chunk %v in a rank-%d chunk index: %w", c.Scaled, x.rank, format.ErrCorrupt)
	}
	e := &format.Encoder{Sizes: x.p.R.Sizes, Buf: make([]byte, 0, x.recordSize())}
	e.Offset(c.Addr)
	if x.filtered {
		// The record's nbytes is a uint32 in libhdf5, stored in
		// chunk_size_len bytes.
		if c.Size > math.MaxUint32 || x.sizeLen < 8 && c.Size>>(8*uint(x.sizeLen)) != 0 {
			return nil, fmt.Errorf("chunk %v: %d filtered bytes do not fit the index's %d-byte size field: %w",
				c.Scaled, c.Size, x.sizeLen, format.ErrUnsupported)
		}
		e.Uint(c.Size, x.sizeLen)
		e.U32(c.FilterMask)
	}
	for _, s := range c.Scaled {
		e.U64(s)
	}
	return e.Buf, nil
}

// Put records a chunk's address (and, filtered, its size and filter mask):
// H5D__bt2_idx_insert, an H5B2_update that modifies the chunk's record when
// it exists and inserts it, splitting and redistributing nodes as libhdf5
// does, when not.
func (x *btree2Index) Put(s Storage, c Chunk) (uint64, error) {
	rec, err := x.encode(c)
	if err != nil {
		return 0, err
	}
	if x.bt == nil {
		l := x.p.Layout
		typ := uint8(format.BTree2ChunkUnfiltered)
		if x.filtered {
			typ = format.BTree2ChunkFiltered
		}
		cp := format.BTree2Create{Type: typ, NodeSize: l.BT2NodeSize, RecordSize: uint16(x.recordSize()),
			SplitPercent: l.BT2SplitPercent, MergePercent: l.BT2MergePercent}
		if cp.NodeSize == 0 {
			cp.NodeSize = defaultBT2NodeSize
		}
		if cp.SplitPercent == 0 {
			cp.SplitPercent = defaultBT2SplitPercent
		}
		if cp.MergePercent == 0 {
			cp.MergePercent = defaultBT2MergePercent
		}
		bt, err := format.CreateBTree2(x.p.R, s, cp)
		if err != nil {
			return 0, err
		}
		x.bt = bt
	}
	if _, err := x.bt.Update(s, x.compare(c.Scaled), rec); err != nil {
		return 0, err
	}
	return x.bt.Addr, nil
}
