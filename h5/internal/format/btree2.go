package format

import (
	"math/bits"
	"sync"
)

// Record types (B-tree "type" field) of the version 2 B-tree.
const (
	BTree2Test             = 0
	BTree2HugeIndirect     = 1  // fractal heap huge objects, indirect, unfiltered
	BTree2HugeFiltIndirect = 2  // ... indirect, filtered
	BTree2HugeDirect       = 3  // ... direct, unfiltered
	BTree2HugeFiltDirect   = 4  // ... direct, filtered
	BTree2LinkName         = 5  // dense group, name index
	BTree2LinkOrder        = 6  // dense group, creation order index
	BTree2SOHMIndex        = 7  // shared object header message index
	BTree2AttrName         = 8  // dense attributes, name index
	BTree2AttrOrder        = 9  // dense attributes, creation order index
	BTree2ChunkUnfiltered  = 10 // chunk index, unfiltered dataset
	BTree2ChunkFiltered    = 11 // chunk index, filtered dataset
)

const (
	btree2PrefixSize = 4 + 1 + 1 + 4 // signature, version, type, checksum
	btree2MaxDepth   = 32            // cumulative record counts overflow far sooner
	btree2CacheNodes = 1024
)

// btree2Level holds what H5B2__hdr_init derives for one depth of the tree
// (node_info[depth] in libhdf5): the most records a node of that depth holds,
// the most records in a subtree rooted at such a node, and the width of the
// "total records in child" field of a pointer to such a node.
type btree2Level struct {
	maxRecords    uint64
	cumMaxRecords uint64
	cumMaxSize    int
}

// BTree2 is an opened version 2 B-tree: its decoded header plus a cache of
// decoded nodes. It is safe for concurrent use.
type BTree2 struct {
	r            *Reader
	Addr         uint64
	Type         uint8
	NodeSize     uint32
	RecordSize   uint16
	Depth        uint16
	SplitPercent uint8
	MergePercent uint8
	RootAddr     uint64
	RootRecords  uint16
	TotalRecords uint64

	levels     []btree2Level
	maxRecSize int // width of the "number of records in child" field

	// mu guards the node cache and, once the tree is written to (Update),
	// the header fields and levels: readers take a snapshot of them.
	mu    sync.Mutex
	nodes map[uint64]*btree2Node
	wmu   sync.Mutex // serialises writers
}

type btree2Ptr struct {
	addr    uint64
	records uint64 // records in the child node itself
	total   uint64 // records in the child and below
}

type btree2Node struct {
	depth    uint16
	records  [][]byte
	children []btree2Ptr // internal nodes only: len(records)+1
}

// limitEncSize is H5VM_limit_enc_size: the bytes needed to encode values up
// to l, computed as floor(log2(l))/8 + 1.
func limitEncSize(l uint64) int {
	return log2Floor(l)/8 + 1
}

// log2Floor is H5VM_log2_gen: floor(log2(n)), and 0 for 0.
func log2Floor(n uint64) int {
	if n == 0 {
		return 0
	}
	return bits.Len64(n) - 1
}

// ReadBTree2 reads and checks the header of the version 2 B-tree at addr,
// and derives the node geometry exactly as libhdf5's H5B2__hdr_init does.
func ReadBTree2(r *Reader, addr uint64) (*BTree2, error) {
	const what = "v2 B-tree header"
	size := 4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + r.Sizes.Offset + 2 + r.Sizes.Length + 4
	d, err := r.ReadBlock(addr, size, "BTHD", what)
	if err != nil {
		return nil, err
	}
	b := &BTree2{r: r, Addr: addr, nodes: map[uint64]*btree2Node{}}
	b.Type = d.U8()
	b.NodeSize = d.U32()
	b.RecordSize = d.U16()
	b.Depth = d.U16()
	b.SplitPercent = d.U8()
	b.MergePercent = d.U8()
	b.RootAddr = d.Offset()
	b.RootRecords = d.U16()
	b.TotalRecords = d.Length()
	if err := d.Err(); err != nil {
		return nil, err
	}
	if err := b.initLevels(); err != nil {
		return nil, err
	}
	if b.RootAddr != Undefined && uint64(b.RootRecords) > b.levels[b.Depth].maxRecords {
		return nil, Corruptf(addr, what, "root node claims %d records, at most %d fit", b.RootRecords, b.levels[b.Depth].maxRecords)
	}
	return b, nil
}

// initLevels computes node_info[] and max_nrec_size as H5B2__hdr_init does.
func (b *BTree2) initLevels() error {
	const what = "v2 B-tree header"
	if b.RecordSize != 0 && b.Depth <= btree2MaxDepth && uint64(b.NodeSize) > uint64(b.r.FileSize()) && b.RootAddr != Undefined {
		return Corruptf(b.Addr, what, "node size %d in a %d-byte file", b.NodeSize, b.r.FileSize())
	}
	levels, maxRecSize, err := b.levelsFor(b.Depth)
	if err != nil {
		return err
	}
	b.levels, b.maxRecSize = levels, maxRecSize
	return nil
}

// levelsFor computes node_info[0..depth] and max_nrec_size for this tree's
// node and record sizes (H5B2__hdr_init; H5B2__split_root adds one level).
func (b *BTree2) levelsFor(depth uint16) ([]btree2Level, int, error) {
	const what = "v2 B-tree header"
	if b.RecordSize == 0 {
		return nil, 0, Corruptf(b.Addr, what, "record size 0")
	}
	if depth > btree2MaxDepth {
		return nil, 0, Corruptf(b.Addr, what, "depth %d", depth)
	}
	if b.NodeSize <= btree2PrefixSize {
		return nil, 0, Corruptf(b.Addr, what, "node size %d", b.NodeSize)
	}
	// H5B2_NUM_LEAF_REC
	leafMax := uint64(b.NodeSize-btree2PrefixSize) / uint64(b.RecordSize)
	if leafMax == 0 {
		return nil, 0, Corruptf(b.Addr, what, "node size %d holds no %d-byte record", b.NodeSize, b.RecordSize)
	}
	levels := make([]btree2Level, int(depth)+1)
	levels[0] = btree2Level{maxRecords: leafMax, cumMaxRecords: leafMax, cumMaxSize: 0}
	maxRecSize := limitEncSize(leafMax)
	for u := 1; u <= int(depth); u++ {
		// H5B2_INT_POINTER_SIZE(h, u) and H5B2_NUM_INT_REC(h, u)
		ptr := uint64(b.r.Sizes.Offset + maxRecSize + levels[u-1].cumMaxSize)
		avail := uint64(b.NodeSize)
		if avail < btree2PrefixSize+ptr {
			return nil, 0, Corruptf(b.Addr, what, "node size %d too small for depth %d", b.NodeSize, u)
		}
		maxRec := (avail - btree2PrefixSize - ptr) / (uint64(b.RecordSize) + ptr)
		if maxRec == 0 {
			return nil, 0, Corruptf(b.Addr, what, "node size %d holds no record at depth %d", b.NodeSize, u)
		}
		// cum_max_nrec = (max_nrec + 1) * cum_max_nrec[u-1] + max_nrec
		hi, lo := bits.Mul64(maxRec+1, levels[u-1].cumMaxRecords)
		cum, carry := bits.Add64(lo, maxRec, 0)
		if hi != 0 || carry != 0 {
			return nil, 0, Corruptf(b.Addr, what, "record count overflows at depth %d", u)
		}
		levels[u] = btree2Level{maxRecords: maxRec, cumMaxRecords: cum, cumMaxSize: limitEncSize(cum)}
	}
	return levels, maxRecSize, nil
}

// pointerSize is the on-disk size of a child pointer in a node of the given
// depth (H5B2_INT_POINTER_SIZE).
func (b *BTree2) pointerSize(levels []btree2Level, depth uint16) int {
	return b.r.Sizes.Offset + b.maxRecSize + levels[depth-1].cumMaxSize
}

// node reads (or finds in the cache) the node at ptr, of the given depth;
// levels is the node geometry of the header snapshot being followed.
func (b *BTree2) node(ptr btree2Ptr, depth uint16, levels []btree2Level) (*btree2Node, error) {
	b.mu.Lock()
	n := b.nodes[ptr.addr]
	b.mu.Unlock()
	if n != nil {
		if n.depth != depth || uint64(len(n.records)) != ptr.records {
			return nil, Corruptf(ptr.addr, "v2 B-tree node", "node referenced with two different shapes")
		}
		return n, nil
	}
	n, err := b.readNode(ptr, depth, levels)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if len(b.nodes) >= btree2CacheNodes {
		b.nodes = map[uint64]*btree2Node{}
	}
	b.nodes[ptr.addr] = n
	b.mu.Unlock()
	return n, nil
}

func (b *BTree2) readNode(ptr btree2Ptr, depth uint16, levels []btree2Level) (*btree2Node, error) {
	what, sig := "v2 B-tree leaf node", "BTLF"
	if depth > 0 {
		what, sig = "v2 B-tree internal node", "BTIN"
	}
	addr := ptr.addr
	if addr == Undefined {
		return nil, Corruptf(addr, what, "undefined child address")
	}
	if ptr.records > levels[depth].maxRecords {
		return nil, Corruptf(addr, what, "%d records, at most %d fit", ptr.records, levels[depth].maxRecords)
	}
	nrec := int(ptr.records)
	// The exact size of the node with its checksum at the end, as
	// H5B2__cache_{leaf,int}_verify_chksum compute it.
	used := btree2PrefixSize + nrec*int(b.RecordSize)
	if depth > 0 {
		used += (nrec + 1) * b.pointerSize(levels, depth)
	}
	if used > int(b.NodeSize) {
		return nil, Corruptf(addr, what, "%d records need %d bytes, node size is %d", nrec, used, b.NodeSize)
	}
	d, err := b.r.ReadBlock(addr, used, sig, what)
	if err != nil {
		return nil, err
	}
	if t := d.U8(); t != b.Type {
		return nil, Corruptf(addr, what, "record type %d in a B-tree of type %d", t, b.Type)
	}
	n := &btree2Node{depth: depth, records: make([][]byte, nrec)}
	for i := range n.records {
		n.records[i] = d.Bytes(int(b.RecordSize))
	}
	if depth > 0 {
		n.children = make([]btree2Ptr, nrec+1)
		child := levels[depth-1]
		for i := range n.children {
			c := btree2Ptr{addr: d.Offset(), records: d.Uint(b.maxRecSize)}
			if depth > 1 {
				c.total = d.Uint(child.cumMaxSize)
			} else {
				c.total = c.records
			}
			if d.Err() == nil && (c.records > child.maxRecords || c.total > child.cumMaxRecords || c.total < c.records) {
				d.Corrupt("child %d claims %d records (%d below)", i, c.records, c.total)
			}
			n.children[i] = c
		}
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return n, nil
}

// root is a snapshot of the header: the root pointer, the depth and the
// node geometry, consistent with each other even while a writer updates
// the tree.
func (b *BTree2) root() (ptr btree2Ptr, ok bool, depth uint16, levels []btree2Level) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.RootAddr == Undefined {
		return btree2Ptr{}, false, 0, nil
	}
	return btree2Ptr{addr: b.RootAddr, records: uint64(b.RootRecords), total: b.TotalRecords}, true, b.Depth, b.levels
}

// Walk visits every record in key order. A record aliases a cached node and
// must not be modified or kept past the call. Each node is visited at most
// once, so a file whose nodes are shared or loop is reported, not followed.
func (b *BTree2) Walk(visit func(record []byte) error) error {
	root, ok, rootDepth, levels := b.root()
	if !ok {
		return nil
	}
	seen := map[uint64]bool{}
	var walk func(ptr btree2Ptr, depth uint16) error
	walk = func(ptr btree2Ptr, depth uint16) error {
		if seen[ptr.addr] {
			return Corruptf(ptr.addr, "v2 B-tree node", "node reached twice")
		}
		seen[ptr.addr] = true
		n, err := b.node(ptr, depth, levels)
		if err != nil {
			return err
		}
		for i, rec := range n.records {
			if depth > 0 {
				if err := walk(n.children[i], depth-1); err != nil {
					return err
				}
			}
			if err := visit(rec); err != nil {
				return err
			}
		}
		if depth > 0 {
			return walk(n.children[len(n.records)], depth-1)
		}
		return nil
	}
	return walk(root, rootDepth)
}

// Search finds a record by key, descending from the root as H5B2_find does.
// cmp compares the wanted key with a record: negative if the wanted key sorts
// before the record, zero if the record is the one wanted, positive if after.
// The record returned aliases a cached node and must not be modified.
func (b *BTree2) Search(cmp func(record []byte) int) (record []byte, found bool, err error) {
	ptr, ok, depth, levels := b.root()
	if !ok {
		return nil, false, nil
	}
	for {
		n, err := b.node(ptr, depth, levels)
		if err != nil {
			return nil, false, err
		}
		// Binary search for the first record not before the wanted key.
		lo, hi := 0, len(n.records)
		for lo < hi {
			mid := int(uint(lo+hi) >> 1)
			c := cmp(n.records[mid])
			if c == 0 {
				return n.records[mid], true, nil
			}
			if c > 0 {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		if depth == 0 {
			return nil, false, nil
		}
		// Depth falls by one per step, so this loop ends.
		ptr = n.children[lo]
		depth--
	}
}
