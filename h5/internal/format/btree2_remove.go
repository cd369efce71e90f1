package format

import "fmt"

// Removing records from version 2 B-trees as libhdf5 1.10 does (H5B2.c
// H5B2_remove, H5B2internal.c H5B2__remove_internal, H5B2leaf.c
// H5B2__remove_leaf / __swap_leaf, H5B2int.c H5B2__merge2 / __merge3 and
// the redistributions insertion shares): on the way down, a child holding
// only the merge threshold of records first takes records from a sibling
// or is merged with it, so the leaf can lose one; a record found in an
// internal node is swapped with its successor from the leftmost leaf of
// its right subtree; a root left with one record over two small children
// is merged into one, and the tree loses a level. Nodes merged away are
// freed. SWMR shadowing is not done.

// Remove deletes the record cmp finds equal (cmp as Search's) and returns
// it; ErrNotFound when there is none, the tree unchanged. It writes the
// nodes it changes and the header, and frees the nodes merges empty.
func (b *BTree2) Remove(s Space, cmp func(record []byte) int) ([]byte, error) {
	if b.Addr == Undefined {
		return nil, fmt.Errorf("v2 B-tree: no header to remove from")
	}
	if err := b.editable(b.levels); err != nil {
		return nil, err
	}
	// A merge joins two children of at most the merge threshold each and
	// the record between them (the root's collapse: of at most 2m+1
	// together): nodes too small to hold that would overflow, in libhdf5
	// too, which only makes such trees with nodes of a few records.
	for depth, l := range b.levels {
		if m := l.maxRecords * uint64(b.MergePercent) / 100; 2*m+2 > l.maxRecords {
			return nil, fmt.Errorf("v2 B-tree at 0x%x: nodes of depth %d (%d records) too small to merge: %w",
				b.Addr, depth, l.maxRecords, ErrUnsupported)
		}
	}
	b.wmu.Lock()
	defer b.wmu.Unlock()
	b.mu.Lock()
	t := &btree2Tx{b: b, s: s, fs: s, cmp: cmp,
		root:  btree2Ptr{addr: b.RootAddr, records: uint64(b.RootRecords), total: b.TotalRecords},
		depth: b.Depth, levels: b.levels, nodes: map[uint64]*btree2Node{}, dirty: map[uint64]bool{},
		freed: map[uint64]bool{}}
	b.mu.Unlock()
	if t.root.addr == Undefined || t.root.total == 0 {
		return nil, fmt.Errorf("v2 B-tree at 0x%x: record: %w", b.Addr, ErrNotFound)
	}
	var rec []byte
	var err error
	if t.depth > 0 {
		rec, err = t.removeInternal(t.depth, &t.root, nil, true)
	} else {
		rec, err = t.removeLeaf(&t.root)
	}
	if err != nil {
		return nil, err
	}
	t.root.total--
	t.hdrDirty = true
	return rec, t.commit()
}

// btree2Swap is where the record being removed sits in an internal node,
// to be exchanged with its successor from a leaf.
type btree2Swap struct {
	node *btree2Node
	addr uint64
	idx  int
}

// mergeNrec is node_info[depth].merge_nrec.
func (t *btree2Tx) mergeNrec(depth uint16) int {
	return int(t.levels[depth].maxRecords * uint64(t.b.MergePercent) / 100)
}

func (t *btree2Tx) free(addr uint64) {
	t.markDirty(addr)
	t.freed[addr] = true
}

func (t *btree2Tx) notFound() error {
	return fmt.Errorf("v2 B-tree at 0x%x: record: %w", t.b.Addr, ErrNotFound)
}

// removeInternal is H5B2__remove_internal on the node of the given depth
// ptr points to; root says it is the root. Only the root collapses: in a
// tree libhdf5 built no other internal node has a single record.
func (t *btree2Tx) removeInternal(depth uint16, ptr *btree2Ptr, swap *btree2Swap, root bool) ([]byte, error) {
	n, err := t.get(*ptr, depth)
	if err != nil {
		return nil, err
	}
	merge := t.mergeNrec(depth - 1)
	var next *btree2Ptr
	collapsed := false
	if root && len(n.records) == 1 && int(n.children[0].records+n.children[1].records) <= 2*merge+1 {
		if err := t.merge2(depth, ptr, n, 0); err != nil {
			return nil, err
		}
		t.free(ptr.addr)
		*ptr = btree2Ptr{addr: n.children[0].addr, records: n.children[0].records, total: ptr.total}
		t.depth--
		next, collapsed = ptr, true
	} else {
		idx, c := 0, -1
		find := func() {
			if swap != nil {
				idx = 0
				return
			}
			if idx, c = t.locate(n.records); c >= 0 {
				idx++
			}
		}
		find()
		for retries := 2; int(n.children[idx].records) <= merge; retries-- {
			nrec := len(n.records)
			if nrec == 0 {
				return nil, Corruptf(ptr.addr, "v2 B-tree internal node", "no records")
			}
			more := func(i int) bool { return int(n.children[i].records) > merge }
			switch {
			case idx == 0:
				if retries > 0 && more(1) {
					err = t.redistribute2(depth, n, 0)
				} else {
					err = t.merge2(depth, ptr, n, 0)
				}
			case idx == nrec:
				if retries > 0 && more(idx-1) {
					err = t.redistribute2(depth, n, idx-1)
				} else {
					err = t.merge2(depth, ptr, n, idx-1)
				}
			default:
				if retries > 0 && (more(idx+1) || more(idx-1)) {
					err = t.redistribute3(depth, n, idx)
				} else {
					err = t.merge3(depth, ptr, n, idx)
				}
			}
			if err != nil {
				return nil, err
			}
			find()
		}
		if swap == nil && c == 0 {
			swap = &btree2Swap{node: n, addr: ptr.addr, idx: idx - 1}
		}
		if swap != nil && depth == 1 {
			if err := t.swapLeaf(n, idx, swap); err != nil {
				return nil, err
			}
		}
		t.markDirty(ptr.addr)
		next = &n.children[idx]
	}
	var rec []byte
	if depth > 1 {
		rec, err = t.removeInternal(depth-1, next, swap, collapsed)
	} else {
		rec, err = t.removeLeaf(next)
	}
	if err != nil {
		return nil, err
	}
	if !collapsed {
		next.total--
	}
	return rec, nil
}

// removeLeaf is H5B2__remove_leaf. A leaf left empty (only the root can
// be) is freed.
func (t *btree2Tx) removeLeaf(ptr *btree2Ptr) ([]byte, error) {
	n, err := t.get(*ptr, 0)
	if err != nil {
		return nil, err
	}
	idx, c := t.locate(n.records)
	if c != 0 {
		return nil, t.notFound()
	}
	rec := n.records[idx]
	n.records = append(n.records[:idx:idx], n.records[idx+1:]...)
	if len(n.records) == 0 {
		t.free(ptr.addr)
		ptr.addr = Undefined
	} else {
		t.markDirty(ptr.addr)
	}
	ptr.records--
	return rec, nil
}

// swapLeaf is H5B2__swap_leaf: the record being removed changes places
// with the first record of child idx of n, a leaf, which is its successor.
func (t *btree2Tx) swapLeaf(n *btree2Node, idx int, swap *btree2Swap) error {
	p := n.children[idx]
	leaf, err := t.get(p, 0)
	if err != nil {
		return err
	}
	if len(leaf.records) == 0 {
		return Corruptf(p.addr, "v2 B-tree leaf node", "no records")
	}
	leaf.records[0], swap.node.records[swap.idx] = swap.node.records[swap.idx], leaf.records[0]
	t.markDirty(p.addr)
	t.markDirty(swap.addr)
	return nil
}

// merge2 is H5B2__merge2: child idx+1 of n and the record between moves
// into child idx; the emptied node is freed. ptr points to n.
func (t *btree2Tx) merge2(depth uint16, ptr *btree2Ptr, n *btree2Node, idx int) error {
	lp, rp := n.children[idx], n.children[idx+1]
	left, err := t.get(lp, depth-1)
	if err != nil {
		return err
	}
	right, err := t.get(rp, depth-1)
	if err != nil {
		return err
	}
	recs := append(append(append([][]byte(nil), left.records...), n.records[idx]), right.records...)
	left.records = recs
	if depth > 1 {
		left.children = append(append([]btree2Ptr(nil), left.children...), right.children...)
	}
	n.children[idx] = btree2Ptr{addr: lp.addr, records: uint64(len(recs)), total: lp.total + rp.total + 1}
	n.records = append(n.records[:idx:idx], n.records[idx+1:]...)
	n.children = append(n.children[:idx+1:idx+1], n.children[idx+2:]...)
	ptr.records--
	t.markDirty(lp.addr)
	t.markDirty(ptr.addr)
	t.free(rp.addr)
	return nil
}

// merge3 is H5B2__merge3: children idx-1, idx and idx+1 of n become two,
// the left one holding half of all their records (and the two between
// them) rounded down; the right node is freed.
func (t *btree2Tx) merge3(depth uint16, ptr *btree2Ptr, n *btree2Node, idx int) error {
	var kids [3]*btree2Node
	for i := range kids {
		k, err := t.get(n.children[idx-1+i], depth-1)
		if err != nil {
			return err
		}
		kids[i] = k
	}
	var recs [][]byte
	var ptrs []btree2Ptr
	for i, k := range kids {
		if i > 0 {
			recs = append(recs, n.records[idx-2+i])
		}
		recs = append(recs, k.records...)
		ptrs = append(ptrs, k.children...)
	}
	newL := (len(recs) - 1) / 2
	kids[0].records = append([][]byte(nil), recs[:newL]...)
	kids[1].records = append([][]byte(nil), recs[newL+1:]...)
	if depth > 1 {
		kids[0].children = append([]btree2Ptr(nil), ptrs[:newL+1]...)
		kids[1].children = append([]btree2Ptr(nil), ptrs[newL+1:]...)
	}
	n.records[idx-1] = recs[newL]
	l, m, r := n.children[idx-1], n.children[idx], n.children[idx+1]
	n.children[idx-1] = btree2Ptr{addr: l.addr, records: uint64(len(kids[0].records)), total: total(kids[0])}
	n.children[idx] = btree2Ptr{addr: m.addr, records: uint64(len(kids[1].records)), total: total(kids[1])}
	n.records = append(n.records[:idx:idx], n.records[idx+1:]...)
	n.children = append(n.children[:idx+1:idx+1], n.children[idx+2:]...)
	ptr.records--
	t.markDirty(l.addr)
	t.markDirty(m.addr)
	t.markDirty(ptr.addr)
	t.free(r.addr)
	return nil
}

// Delete frees every node of the tree and its header (H5B2_delete). The
// tree must not be used afterwards.
func (b *BTree2) Delete(s Space) error {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	root, ok, depth, levels := b.root()
	var nodes []uint64
	if ok {
		seen := map[uint64]bool{}
		var walk func(ptr btree2Ptr, depth uint16) error
		walk = func(ptr btree2Ptr, depth uint16) error {
			if seen[ptr.addr] {
				return Corruptf(ptr.addr, "v2 B-tree node", "node reached twice")
			}
			seen[ptr.addr] = true
			nodes = append(nodes, ptr.addr)
			if depth == 0 {
				return nil
			}
			n, err := b.readNode(ptr, depth, levels)
			if err != nil {
				return err
			}
			for _, c := range n.children {
				if err := walk(c, depth-1); err != nil {
					return err
				}
			}
			return nil
		}
		if err := walk(root, depth); err != nil {
			return err
		}
	}
	for _, a := range nodes {
		s.Free(a, uint64(b.NodeSize))
	}
	s.Free(b.Addr, uint64(BTree2HeaderSize(b.r.Sizes)))
	b.mu.Lock()
	b.nodes = map[uint64]*btree2Node{}
	b.RootAddr, b.RootRecords, b.TotalRecords, b.Depth = Undefined, 0, 0, 0
	b.mu.Unlock()
	return nil
}
