package format

import "fmt"

// Writing version 2 B-trees: record insertion and in-place update, leaving
// the tree as libhdf5 1.10 leaves it (H5B2.c H5B2_update, H5B2int.c
// H5B2__insert / __split1 / __split_root / __redistribute2 / __redistribute3,
// H5B2internal.c H5B2__insert_internal / __update_internal, H5B2leaf.c
// H5B2__insert_leaf / __update_leaf), without SWMR shadowing. Removal is in
// btree2_remove.go.

// BTree2Storage is where a v2 B-tree writes: relative addresses.
type BTree2Storage interface {
	WriteAt(p []byte, addr uint64) error
	Alloc(n uint64) (uint64, error)
}

// BTree2Create are the creation parameters of a v2 B-tree (H5B2_create_t).
type BTree2Create struct {
	Type         uint8
	NodeSize     uint32
	RecordSize   uint16
	SplitPercent uint8
	MergePercent uint8
}

// BTree2HeaderSize is the bytes of a v2 B-tree header (H5B2_HEADER_SIZE).
func BTree2HeaderSize(sizes Sizes) int {
	return btree2PrefixSize + 4 + 2 + 2 + 1 + 1 + sizes.Offset + 2 + sizes.Length
}

// CreateBTree2 allocates and writes the header of an empty v2 B-tree, as
// H5B2_create does: no root node until the first record goes in.
func CreateBTree2(r *Reader, s BTree2Storage, c BTree2Create) (*BTree2, error) {
	const what = "v2 B-tree header"
	b := &BTree2{r: r, Addr: Undefined, Type: c.Type, NodeSize: c.NodeSize, RecordSize: c.RecordSize,
		SplitPercent: c.SplitPercent, MergePercent: c.MergePercent, RootAddr: Undefined,
		nodes: map[uint64]*btree2Node{}}
	if err := b.initLevels(); err != nil {
		return nil, err
	}
	if err := b.editable(b.levels); err != nil {
		return nil, err
	}
	if b.levels[0].maxRecords > 0xffff {
		return nil, Unsupportedf(Undefined, what, "%d records per leaf node", b.levels[0].maxRecords)
	}
	addr, err := s.Alloc(uint64(BTree2HeaderSize(r.Sizes)))
	if err != nil {
		return nil, err
	}
	b.Addr = addr
	if err := s.WriteAt(b.encodeHeader(btree2Ptr{addr: Undefined}, 0), addr); err != nil {
		return nil, err
	}
	return b, nil
}

// encodeHeader is the header with the given root and depth.
func (b *BTree2) encodeHeader(root btree2Ptr, depth uint16) []byte {
	e := &Encoder{Sizes: b.r.Sizes}
	e.Bytes([]byte("BTHD"))
	e.U8(0)
	e.U8(b.Type)
	e.U32(b.NodeSize)
	e.U16(b.RecordSize)
	e.U16(depth)
	e.U8(b.SplitPercent)
	e.U8(b.MergePercent)
	e.Offset(root.addr)
	e.U16(uint16(root.records))
	e.Length(root.total)
	e.AppendChecksum()
	return e.Buf
}

// encodeNode is a node's image, node_size bytes with the checksum after the
// used part and zeros after that (H5B2__cache_leaf_serialize,
// H5B2__cache_int_serialize).
func (b *BTree2) encodeNode(addr uint64, n *btree2Node, levels []btree2Level) ([]byte, error) {
	what, sig := "v2 B-tree leaf node", "BTLF"
	if n.depth > 0 {
		what, sig = "v2 B-tree internal node", "BTIN"
	}
	if uint64(len(n.records)) > levels[n.depth].maxRecords {
		return nil, Corruptf(addr, what, "%d records, at most %d fit", len(n.records), levels[n.depth].maxRecords)
	}
	e := &Encoder{Sizes: b.r.Sizes, Buf: make([]byte, 0, b.NodeSize)}
	e.Bytes([]byte(sig))
	e.U8(0)
	e.U8(b.Type)
	for _, rec := range n.records {
		if len(rec) != int(b.RecordSize) {
			return nil, Corruptf(addr, what, "record of %d bytes in a tree of %d-byte records", len(rec), b.RecordSize)
		}
		e.Bytes(rec)
	}
	if n.depth > 0 {
		if len(n.children) != len(n.records)+1 {
			return nil, Corruptf(addr, what, "%d children for %d records", len(n.children), len(n.records))
		}
		for _, c := range n.children {
			e.Offset(c.addr)
			e.Uint(c.records, b.maxRecSize)
			if n.depth > 1 {
				e.Uint(c.total, levels[n.depth-1].cumMaxSize)
			}
		}
	}
	e.AppendChecksum()
	if len(e.Buf) > int(b.NodeSize) {
		return nil, Corruptf(addr, what, "%d bytes in a %d-byte node", len(e.Buf), b.NodeSize)
	}
	e.Zeros(int(b.NodeSize) - len(e.Buf))
	return e.Buf, nil
}

// Update inserts rec, or, when the tree holds a record cmp finds equal,
// replaces that record with rec: H5B2_update with a modify callback that
// stores the new record (as H5D__bt2_mod_cb does for chunk records). cmp
// compares the key of rec with a record, as Search's. It writes every node
// it changes, and the header when the root, depth or counts change.
func (b *BTree2) Update(s BTree2Storage, cmp func(record []byte) int, rec []byte) (inserted bool, err error) {
	if len(rec) != int(b.RecordSize) {
		return false, fmt.Errorf("v2 B-tree at 0x%x: record of %d bytes, the tree holds %d-byte records", b.Addr, len(rec), b.RecordSize)
	}
	if b.Addr == Undefined {
		return false, fmt.Errorf("v2 B-tree: no header to update")
	}
	b.wmu.Lock()
	defer b.wmu.Unlock()
	if err := b.editable(b.levels); err != nil {
		return false, err
	}
	b.mu.Lock()
	t := &btree2Tx{b: b, s: s, cmp: cmp, rec: append([]byte(nil), rec...),
		root:  btree2Ptr{addr: b.RootAddr, records: uint64(b.RootRecords), total: b.TotalRecords},
		depth: b.Depth, levels: b.levels, nodes: map[uint64]*btree2Node{}, dirty: map[uint64]bool{}}
	b.mu.Unlock()
	st, err := t.update()
	if err != nil {
		return false, err
	}
	return st == btree2InsertDone, t.commit()
}

// Update outcomes, H5B2_update_status_t.
type btree2Status int

const (
	btree2ModifyDone btree2Status = iota
	btree2InsertDone
	btree2ChildFull
)

// btree2Tx is one Update: private copies of the nodes it touches, written
// and installed in the cache at commit.
type btree2Tx struct {
	b        *BTree2
	s        BTree2Storage
	cmp      func([]byte) int
	rec      []byte
	root     btree2Ptr
	depth    uint16
	levels   []btree2Level
	hdrDirty bool
	nodes    map[uint64]*btree2Node
	dirty    map[uint64]bool
	order    []uint64 // dirty nodes, in the order they were first changed
	freed    map[uint64]bool
	fs       Space // where freed nodes go: removals only
}

func (t *btree2Tx) markDirty(addr uint64) {
	if !t.dirty[addr] {
		t.dirty[addr] = true
		t.order = append(t.order, addr)
	}
}

// editable checks what H5B2_create asserts of its parameters, for a tree
// read from a file before it is changed: a damaged header's percentages
// would otherwise have nodes split while empty (split_nrec 0) or merged
// back as soon as they were split.
func (b *BTree2) editable(levels []btree2Level) error {
	if b.SplitPercent == 0 || b.SplitPercent > 100 || b.MergePercent == 0 || b.MergePercent >= b.SplitPercent/2 {
		return fmt.Errorf("v2 B-tree at 0x%x: split %d%%, merge %d%%: %w", b.Addr, b.SplitPercent, b.MergePercent, ErrUnsupported)
	}
	for depth, l := range levels {
		// A full node of two records splits into an empty one and one of
		// one (libhdf5's H5B2__split1 too).
		if l.maxRecords < 3 {
			return fmt.Errorf("v2 B-tree at 0x%x: nodes of depth %d hold %d record(s), too few to split: %w",
				b.Addr, depth, l.maxRecords, ErrUnsupported)
		}
		if l.maxRecords*uint64(b.SplitPercent)/100 == 0 {
			return fmt.Errorf("v2 B-tree at 0x%x: nodes of depth %d split with no record (%d%% of %d): %w",
				b.Addr, depth, b.SplitPercent, l.maxRecords, ErrUnsupported)
		}
	}
	return nil
}

// splitNrec is node_info[depth].split_nrec.
func (t *btree2Tx) splitNrec(depth uint16) int {
	return int(t.levels[depth].maxRecords * uint64(t.b.SplitPercent) / 100)
}

// get returns the private, changeable copy of the node at ptr.
func (t *btree2Tx) get(ptr btree2Ptr, depth uint16) (*btree2Node, error) {
	if n := t.nodes[ptr.addr]; n != nil {
		if n.depth != depth || uint64(len(n.records)) != ptr.records {
			return nil, Corruptf(ptr.addr, "v2 B-tree node", "node referenced with two different shapes")
		}
		return n, nil
	}
	n, err := t.b.node(ptr, depth, t.levels)
	if err != nil {
		return nil, err
	}
	if depth > 0 && len(n.records) == 0 {
		return nil, Corruptf(ptr.addr, "v2 B-tree internal node", "no records")
	}
	c := &btree2Node{depth: depth, records: append([][]byte(nil), n.records...)}
	if depth > 0 {
		c.children = append([]btree2Ptr(nil), n.children...)
	}
	t.nodes[ptr.addr] = c
	return c, nil
}

// newNode allocates an empty node (H5B2__create_leaf, H5B2__create_internal).
func (t *btree2Tx) newNode(depth uint16) (uint64, *btree2Node, error) {
	addr, err := t.s.Alloc(uint64(t.b.NodeSize))
	if err != nil {
		return 0, nil, err
	}
	if t.nodes[addr] != nil {
		return 0, nil, fmt.Errorf("v2 B-tree at 0x%x: storage allocated 0x%x twice", t.b.Addr, addr)
	}
	n := &btree2Node{depth: depth}
	t.nodes[addr] = n
	t.markDirty(addr)
	return addr, n, nil
}

// locate is H5B2__locate_record: a binary search leaving idx at the last
// record compared and c the comparison with it.
func (t *btree2Tx) locate(records [][]byte) (idx, c int) {
	lo, hi := 0, len(records)
	c = -1
	for lo < hi && c != 0 {
		idx = (lo + hi) / 2
		if c = t.cmp(records[idx]); c < 0 {
			hi = idx
		} else {
			lo = idx + 1
		}
	}
	return idx, c
}

// total is the records in a node and below it.
func total(n *btree2Node) uint64 {
	t := uint64(len(n.records))
	for _, c := range n.children {
		t += c.total
	}
	return t
}

func (t *btree2Tx) exists() error {
	return fmt.Errorf("v2 B-tree at 0x%x: record is already in the tree: %w", t.b.Addr, ErrCorrupt)
}

// update is H5B2_update.
func (t *btree2Tx) update() (btree2Status, error) {
	if t.root.addr == Undefined {
		if t.depth != 0 {
			return 0, Corruptf(t.b.Addr, "v2 B-tree header", "depth %d without a root node", t.depth)
		}
		addr, _, err := t.newNode(0)
		if err != nil {
			return 0, err
		}
		t.root = btree2Ptr{addr: addr}
		t.hdrDirty = true
	}
	var st btree2Status
	var err error
	if t.depth > 0 {
		st, err = t.updateInternal(t.depth, &t.root)
	} else {
		st, err = t.updateLeaf(&t.root)
	}
	if err != nil {
		return 0, err
	}
	switch st {
	case btree2ChildFull:
		// The nodes down to the leaf are full: the insert algorithm.
		return btree2InsertDone, t.insert()
	case btree2InsertDone:
		t.hdrDirty = true
	}
	return st, nil
}

// updateLeaf is H5B2__update_leaf.
func (t *btree2Tx) updateLeaf(ptr *btree2Ptr) (btree2Status, error) {
	n, err := t.get(*ptr, 0)
	if err != nil {
		return 0, err
	}
	idx, c := 0, -1
	if len(n.records) > 0 {
		idx, c = t.locate(n.records)
		if c != 0 {
			if int(ptr.records) >= t.splitNrec(0) {
				return btree2ChildFull, nil
			}
			if c > 0 {
				idx++
			}
		}
	}
	if c == 0 {
		n.records[idx] = t.rec
		t.markDirty(ptr.addr)
		return btree2ModifyDone, nil
	}
	if uint64(len(n.records)) >= t.levels[0].maxRecords {
		return 0, Corruptf(ptr.addr, "v2 B-tree leaf node", "full leaf")
	}
	n.records = insertAt(n.records, idx, t.rec)
	ptr.records++
	ptr.total++
	t.markDirty(ptr.addr)
	return btree2InsertDone, nil
}

// updateInternal is H5B2__update_internal.
func (t *btree2Tx) updateInternal(depth uint16, ptr *btree2Ptr) (btree2Status, error) {
	n, err := t.get(*ptr, depth)
	if err != nil {
		return 0, err
	}
	idx, c := t.locate(n.records)
	if c == 0 {
		n.records[idx] = t.rec
		t.markDirty(ptr.addr)
		return btree2ModifyDone, nil
	}
	if c > 0 {
		idx++
	}
	var st btree2Status
	if depth > 1 {
		st, err = t.updateInternal(depth-1, &n.children[idx])
	} else {
		st, err = t.updateLeaf(&n.children[idx])
	}
	if err != nil {
		return 0, err
	}
	switch st {
	case btree2InsertDone:
		t.markDirty(ptr.addr)
		ptr.total++
	case btree2ChildFull:
		if len(n.records) >= t.splitNrec(depth) {
			// This node is full too: if the child could split, the
			// insertion goes back up to where there is room.
			limit := 2*t.splitNrec(depth-1) - 1
			pair := func(a, b int) bool { return int(n.children[a].records+n.children[b].records) >= limit }
			var could bool
			switch {
			case idx == 0:
				could = pair(0, 1)
			case idx == len(n.records):
				could = pair(idx-1, idx)
			default:
				could = pair(idx-1, idx) || pair(idx, idx+1)
			}
			if could {
				return btree2ChildFull, nil
			}
		}
		// "Dodge sideways" into the insert algorithm from this node.
		if err := t.insertInternal(depth, ptr); err != nil {
			return 0, err
		}
		st = btree2InsertDone
	}
	return st, nil
}

// insert is H5B2__insert.
func (t *btree2Tx) insert() error {
	if t.root.addr == Undefined {
		addr, _, err := t.newNode(0)
		if err != nil {
			return err
		}
		t.root = btree2Ptr{addr: addr}
	} else if int(t.root.records) >= t.splitNrec(t.depth) {
		if err := t.splitRoot(); err != nil {
			return err
		}
	}
	t.hdrDirty = true
	if t.depth > 0 {
		return t.insertInternal(t.depth, &t.root)
	}
	return t.insertLeaf(&t.root)
}

// insertLeaf is H5B2__insert_leaf.
func (t *btree2Tx) insertLeaf(ptr *btree2Ptr) error {
	n, err := t.get(*ptr, 0)
	if err != nil {
		return err
	}
	if uint64(len(n.records)) >= t.levels[0].maxRecords {
		return Corruptf(ptr.addr, "v2 B-tree leaf node", "full leaf")
	}
	idx := 0
	if len(n.records) > 0 {
		var c int
		idx, c = t.locate(n.records)
		if c == 0 {
			return t.exists()
		}
		if c > 0 {
			idx++
		}
	}
	n.records = insertAt(n.records, idx, t.rec)
	ptr.records++
	ptr.total++
	t.markDirty(ptr.addr)
	return nil
}

// insertInternal is H5B2__insert_internal: full children on the way down
// are split or have records moved to a sibling first.
func (t *btree2Tx) insertInternal(depth uint16, ptr *btree2Ptr) error {
	n, err := t.get(*ptr, depth)
	if err != nil {
		return err
	}
	find := func() (int, error) {
		idx, c := t.locate(n.records)
		if c == 0 {
			return 0, t.exists()
		}
		if c > 0 {
			idx++
		}
		return idx, nil
	}
	idx, err := find()
	if err != nil {
		return err
	}
	split := t.splitNrec(depth - 1)
	// Redistribution may move the insertion point into a full sibling;
	// after two tries, split.
	for retries := 2; int(n.children[idx].records) >= split; retries-- {
		nrec := len(n.records)
		switch {
		case idx == 0:
			if retries > 0 && int(n.children[1].records) < split {
				err = t.redistribute2(depth, n, 0)
			} else {
				err = t.split1(depth, ptr, n, 0)
			}
		case idx == nrec:
			if retries > 0 && int(n.children[idx-1].records) < split {
				err = t.redistribute2(depth, n, idx-1)
			} else {
				err = t.split1(depth, ptr, n, idx)
			}
		default:
			if retries > 0 && (int(n.children[idx+1].records) < split || int(n.children[idx-1].records) < split) {
				err = t.redistribute3(depth, n, idx)
			} else {
				err = t.split1(depth, ptr, n, idx)
			}
		}
		if err != nil {
			return err
		}
		if idx, err = find(); err != nil {
			return err
		}
	}
	ptr.total++
	t.markDirty(ptr.addr)
	if depth > 1 {
		return t.insertInternal(depth-1, &n.children[idx])
	}
	return t.insertLeaf(&n.children[idx])
}

// splitRoot is H5B2__split_root: a new internal root over the old root,
// which is then split in two. The tree grows one level.
func (t *btree2Tx) splitRoot() error {
	levels, _, err := t.b.levelsFor(t.depth + 1)
	if err != nil {
		return err
	}
	if err := t.b.editable(levels); err != nil {
		return err
	}
	t.depth++
	t.levels = levels
	old := t.root
	addr, n, err := t.newNode(t.depth)
	if err != nil {
		return err
	}
	n.children = []btree2Ptr{old}
	t.root = btree2Ptr{addr: addr, records: 0, total: old.total}
	t.hdrDirty = true
	return t.split1(t.depth, &t.root, n, 0)
}

// split1 is H5B2__split1: child idx of n (a node of the given depth, which
// ptr points to) moves its upper half to a new right sibling, its middle
// record up into n.
func (t *btree2Tx) split1(depth uint16, ptr *btree2Ptr, n *btree2Node, idx int) error {
	leftPtr := n.children[idx]
	left, err := t.get(leftPtr, depth-1)
	if err != nil {
		return err
	}
	rightAddr, right, err := t.newNode(depth - 1)
	if err != nil {
		return err
	}
	old := len(left.records)
	if old == 0 {
		return Corruptf(leftPtr.addr, "v2 B-tree node", "split with no record")
	}
	mid := old / 2
	middle := left.records[mid]
	right.records = append([][]byte(nil), left.records[mid+1:]...)
	left.records = append([][]byte(nil), left.records[:mid]...)
	if depth > 1 {
		right.children = append([]btree2Ptr(nil), left.children[mid+1:]...)
		left.children = append([]btree2Ptr(nil), left.children[:mid+1]...)
	}
	n.records = insertAt(n.records, idx, middle)
	n.children = insertAt(n.children, idx+1, btree2Ptr{})
	n.children[idx] = btree2Ptr{addr: leftPtr.addr, records: uint64(len(left.records)), total: total(left)}
	n.children[idx+1] = btree2Ptr{addr: rightAddr, records: uint64(len(right.records)), total: total(right)}
	ptr.records++
	t.markDirty(leftPtr.addr)
	t.markDirty(rightAddr)
	t.markDirty(ptr.addr)
	return nil
}

// redistribute2 is H5B2__redistribute2: children idx and idx+1 of n share
// their records (and the one between them in n) evenly, the one with fewer
// getting the odd record.
func (t *btree2Tx) redistribute2(depth uint16, n *btree2Node, idx int) error {
	left, err := t.get(n.children[idx], depth-1)
	if err != nil {
		return err
	}
	right, err := t.get(n.children[idx+1], depth-1)
	if err != nil {
		return err
	}
	l, r := len(left.records), len(right.records)
	var newL int
	if l < r {
		newL = l + r - (l+r)/2 // new_right_nrec = (l+r)/2
	} else {
		newL = (l + r) / 2
	}
	t.spread(depth, n, idx, []*btree2Node{left, right}, []int{newL, l + r - newL})
	return nil
}

// redistribute3 is H5B2__redistribute3: children idx-1, idx and idx+1 of n
// share their records, the middle one getting a third rounded down.
func (t *btree2Tx) redistribute3(depth uint16, n *btree2Node, idx int) error {
	var kids []*btree2Node
	for i := idx - 1; i <= idx+1; i++ {
		k, err := t.get(n.children[i], depth-1)
		if err != nil {
			return err
		}
		kids = append(kids, k)
	}
	all := len(kids[0].records) + len(kids[1].records) + len(kids[2].records)
	newM := all / 3
	newL := (all - newM) / 2
	t.spread(depth, n, idx-1, kids, []int{newL, newM, all - newL - newM})
	return nil
}

// spread lays the records of the consecutive children kids of n, starting
// at child first, and the records of n between them, out again in order so
// that child i holds counts[i] records.
func (t *btree2Tx) spread(depth uint16, n *btree2Node, first int, kids []*btree2Node, counts []int) {
	var recs [][]byte
	var ptrs []btree2Ptr
	for i, k := range kids {
		if i > 0 {
			recs = append(recs, n.records[first+i-1])
		}
		recs = append(recs, k.records...)
		ptrs = append(ptrs, k.children...)
	}
	pos, ppos := 0, 0
	for i, k := range kids {
		if i > 0 {
			n.records[first+i-1] = recs[pos]
			pos++
		}
		k.records = append([][]byte(nil), recs[pos:pos+counts[i]]...)
		pos += counts[i]
		if depth > 1 {
			k.children = append([]btree2Ptr(nil), ptrs[ppos:ppos+counts[i]+1]...)
			ppos += counts[i] + 1
		}
		c := &n.children[first+i]
		c.records, c.total = uint64(counts[i]), total(k)
		t.markDirty(c.addr)
	}
}

func insertAt[T any](s []T, i int, v T) []T {
	s = append(s, v)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

// commit writes the changed nodes and the header, then makes the new tree
// what readers see.
func (t *btree2Tx) commit() error {
	b := t.b
	var order []uint64
	for _, addr := range t.order {
		if !t.freed[addr] {
			order = append(order, addr)
		}
	}
	images := make([][]byte, len(order))
	for i, addr := range order {
		img, err := b.encodeNode(addr, t.nodes[addr], t.levels)
		if err != nil {
			return err
		}
		images[i] = img
	}
	for i, addr := range order {
		if err := t.s.WriteAt(images[i], addr); err != nil {
			return err
		}
	}
	if t.hdrDirty {
		if t.root.records > t.levels[t.depth].maxRecords || t.root.records > 0xffff {
			return Corruptf(b.Addr, "v2 B-tree header", "root with %d records", t.root.records)
		}
		if err := t.s.WriteAt(b.encodeHeader(t.root, t.depth), b.Addr); err != nil {
			return err
		}
	}
	b.mu.Lock()
	if len(b.nodes)+len(order) > btree2CacheNodes {
		b.nodes = map[uint64]*btree2Node{}
	}
	for _, addr := range order {
		b.nodes[addr] = t.nodes[addr]
	}
	for addr := range t.freed {
		delete(b.nodes, addr)
	}
	b.RootAddr, b.RootRecords, b.TotalRecords = t.root.addr, uint16(t.root.records), t.root.total
	b.Depth, b.levels = t.depth, t.levels
	b.mu.Unlock()
	for _, addr := range t.order {
		if t.freed[addr] {
			t.fs.Free(addr, uint64(b.NodeSize))
		}
	}
	return nil
}

// Verify reads the whole tree from the file, not the cache, and checks what
// libhdf5 relies on: node signatures, types and checksums, record counts
// within each node's maximum, every pointer's record counts matching its
// subtree, the header's totals, and the records in strictly increasing
// order by less (nil: no order check).
func (b *BTree2) Verify(less func(a, b []byte) bool) error {
	fresh, err := ReadBTree2(b.r, b.Addr)
	if err != nil {
		return err
	}
	root, ok, depth, levels := fresh.root()
	if !ok {
		if fresh.TotalRecords != 0 || fresh.RootRecords != 0 {
			return Corruptf(b.Addr, "v2 B-tree header", "no root but %d records", fresh.TotalRecords)
		}
		return nil
	}
	var prev []byte
	seen := map[uint64]bool{}
	var walk func(ptr btree2Ptr, depth uint16) error
	walk = func(ptr btree2Ptr, depth uint16) error {
		if seen[ptr.addr] {
			return Corruptf(ptr.addr, "v2 B-tree node", "node reached twice")
		}
		seen[ptr.addr] = true
		n, err := fresh.readNode(ptr, depth, levels)
		if err != nil {
			return err
		}
		if got := total(n); got != ptr.total {
			return Corruptf(ptr.addr, "v2 B-tree node", "%d records below, its pointer says %d", got, ptr.total)
		}
		for i, rec := range n.records {
			if depth > 0 {
				if err := walk(n.children[i], depth-1); err != nil {
					return err
				}
			}
			if less != nil && prev != nil && !less(prev, rec) {
				return Corruptf(ptr.addr, "v2 B-tree node", "record %d out of order", i)
			}
			prev = rec
		}
		if depth > 0 {
			return walk(n.children[len(n.records)], depth-1)
		}
		return nil
	}
	return walk(root, depth)
}
