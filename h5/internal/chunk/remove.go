package chunk

import (
	"fmt"

	"github.com/h5mount/h5mount/h5/internal/format"
)

var (
	_ Remover = (*btree1Index)(nil)
	_ Remover = (*btree2Index)(nil)
	_ Remover = (*fixedArray)(nil)
	_ Remover = (*extensibleArray)(nil)
)

func notStored(scaled []uint64) error {
	return fmt.Errorf("chunk %v: %w", scaled, format.ErrNotFound)
}

// Remove resets the chunk's element to the array's fill (an undefined
// address, size and mask 0), as H5D__farray_idx_remove does.
func (fa *fixedArray) Remove(s format.Space, scaled []uint64) error {
	return resetElement(fa, s, scaled)
}

// Remove resets the chunk's element to the array's fill, as
// H5D__earray_idx_remove does; the array keeps its blocks and statistics.
func (ea *extensibleArray) Remove(s format.Space, scaled []uint64) error {
	return resetElement(ea, s, scaled)
}

// resetElement is an array index's removal: the element of a stored chunk
// is set to the array's fill value (an undefined address).
func resetElement(array interface {
	Index
	Writer
}, s format.Space, scaled []uint64) error {
	if _, ok, err := array.Lookup(scaled); err != nil {
		return err
	} else if !ok {
		return notStored(scaled)
	}
	_, err := array.Put(s, Chunk{Scaled: scaled, Addr: format.Undefined})
	return err
}

// Remove deletes the chunk's record (H5D__bt2_idx_remove, H5B2_remove),
// merging and freeing nodes as libhdf5 does.
func (x *btree2Index) Remove(s format.Space, scaled []uint64) error {
	if len(scaled) != x.rank || x.bt == nil {
		return notStored(scaled)
	}
	_, err := x.bt.Remove(s, x.compare(scaled))
	return err
}

// Remove deletes the chunk's entry as H5B_remove does for chunk B-trees,
// whose critical key is each child's left key: no rebalancing; an entry
// leaves its node with its left key; a node's first entry going changes
// the node's left key, which its parent (and, where the node is its
// parent's first child, the levels above) and the left sibling's closing
// key follow; a node left with no entries is unlinked from its siblings,
// the left one taking its closing key, and freed — except the root, which
// stays as an empty leaf that the next insertion fills.
func (b *btree1Index) Remove(s format.Space, scaled []uint64) error {
	if err := checkScaled(scaled, b.rank); err != nil {
		return err
	}
	want := make([]uint64, b.rank)
	for i := range want {
		want[i] = scaled[i] * b.p.Layout.ChunkDims[i]
	}
	root := b.p.Layout.Addr
	if root == format.Undefined {
		return notStored(scaled)
	}
	_, err := b.remove(s, root, want, 0)
	return err
}

// removal is what removing under a node did to it.
type removal struct {
	emptied bool             // the node lost its last entry and is gone
	left    *format.ChunkKey // the node's new left key, when it changed
}

func (b *btree1Index) remove(s format.Space, addr uint64, want []uint64, depth int) (removal, error) {
	if depth > 64 {
		return removal{}, format.Corruptf(addr, "v1 B-tree node", "chunk B-tree deeper than 64 levels")
	}
	cached, err := b.node(addr)
	if err != nil {
		return removal{}, err
	}
	// Work on a copy: the cached node is shared with readers.
	n := &btree1Node{level: cached.level, left: cached.left, right: cached.right,
		keys: append([]format.ChunkKey(nil), cached.keys...), children: append([]uint64(nil), cached.children...)}
	i := -1
	for j := range n.children {
		if compareOffsets(n.keys[j].Offsets, want) <= 0 {
			i = j
		}
	}
	if i < 0 || n.level == 0 && compareOffsets(n.keys[i].Offsets, want) != 0 {
		return removal{}, fmt.Errorf("chunk at element %v: %w", want, format.ErrNotFound)
	}
	var below removal
	if n.level > 0 {
		if below, err = b.remove(s, n.children[i], want, depth+1); err != nil {
			return removal{}, err
		}
		if below.left != nil {
			n.keys[i] = *below.left
		}
	} else {
		below.emptied = true
	}
	var out removal
	if below.left != nil && i == 0 {
		out.left = &n.keys[0]
	}
	if below.emptied {
		if len(n.children) == 1 {
			if depth > 0 {
				return removal{emptied: true}, b.unlink(s, addr, n)
			}
			n.level, n.keys, n.children = 0, n.keys[:1], n.children[:0]
			return removal{}, b.writeNode(s, addr, n)
		}
		n.keys = append(n.keys[:i], n.keys[i+1:]...)
		n.children = append(n.children[:i], n.children[i+1:]...)
		if i == 0 {
			out.left = &n.keys[0]
		}
	}
	if err := b.writeNode(s, addr, n); err != nil {
		return removal{}, err
	}
	if out.left != nil && n.left != format.Undefined {
		// The left sibling's closing key is this node's left key.
		if err := b.editNode(s, n.left, func(sib *btree1Node) { sib.keys[len(sib.keys)-1] = *out.left }); err != nil {
			return removal{}, err
		}
	}
	if depth == 0 {
		out.left = nil
	}
	return out, nil
}

// unlink takes an emptied node out of its level: the left sibling takes
// its closing key and its right link, the right sibling its left link.
func (b *btree1Index) unlink(s format.Space, addr uint64, n *btree1Node) error {
	if n.left != format.Undefined {
		closing := n.keys[1]
		if err := b.editNode(s, n.left, func(sib *btree1Node) {
			sib.keys[len(sib.keys)-1] = closing
			sib.right = n.right
		}); err != nil {
			return err
		}
	}
	if n.right != format.Undefined {
		if err := b.editNode(s, n.right, func(sib *btree1Node) { sib.left = n.left }); err != nil {
			return err
		}
	}
	b.mu.Lock()
	delete(b.nodes, addr)
	b.mu.Unlock()
	s.Free(addr, b.nodeSize())
	return nil
}

// editNode rewrites the node at addr with change applied to a copy.
func (b *btree1Index) editNode(s format.Space, addr uint64, change func(*btree1Node)) error {
	cached, err := b.node(addr)
	if err != nil {
		return err
	}
	n := &btree1Node{level: cached.level, left: cached.left, right: cached.right,
		keys: append([]format.ChunkKey(nil), cached.keys...), children: append([]uint64(nil), cached.children...)}
	change(n)
	return b.writeNode(s, addr, n)
}
