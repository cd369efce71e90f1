package chunk

import (
	"github.com/h5mount/h5mount/h5/internal/format"
)

// defaultBTreeK is libhdf5's default "indexed storage internal node K": a
// chunk B-tree node holds up to 2K entries.
const defaultBTreeK = 32

var _ Writer = (*btree1Index)(nil)

// capacity is the number of entries a node was allocated for.
func (b *btree1Index) capacity() int {
	k := int(b.p.BTreeK)
	if k <= 0 {
		k = defaultBTreeK
	}
	return 2 * k
}

func (b *btree1Index) nodeSize() uint64 {
	return uint64(format.BTree1NodeSize(b.p.R.Sizes, b.rank, b.capacity()))
}

// writeNode encodes n at addr and keeps it as the cached copy.
func (b *btree1Index) writeNode(s Storage, addr uint64, n *btree1Node) error {
	buf := format.EncodeChunkBTree1Node(b.p.R.Sizes, n.level, n.left, n.right, n.keys, n.children, b.capacity())
	if err := s.WriteAt(buf, addr); err != nil {
		return err
	}
	b.mu.Lock()
	b.nodes[addr] = n
	b.mu.Unlock()
	return nil
}

func (b *btree1Index) keyOf(c Chunk) format.ChunkKey {
	k := format.ChunkKey{Size: uint32(c.Size), FilterMask: c.FilterMask, Offsets: make([]uint64, b.rank)}
	for i := range k.Offsets {
		k.Offsets[i] = c.Scaled[i] * b.p.Layout.ChunkDims[i]
	}
	return k
}

// pastKey is the key just beyond a chunk, as libhdf5 closes a node: the
// chunk's offsets with the element size in the extra dimension.
func (b *btree1Index) pastKey(k format.ChunkKey) format.ChunkKey {
	return format.ChunkKey{Offsets: append([]uint64(nil), k.Offsets...), Extra: uint64(b.p.ElementSize)}
}

// Put inserts or updates a chunk's entry, splitting full nodes. The root
// keeps its address, as libhdf5 keeps it: a root split moves the old root's
// entries to a new node.
func (b *btree1Index) Put(s Storage, c Chunk) (uint64, error) {
	key := b.keyOf(c)
	root := b.p.Layout.Addr
	if root == format.Undefined {
		addr, err := s.Alloc(b.nodeSize())
		if err != nil {
			return 0, err
		}
		n := &btree1Node{left: format.Undefined, right: format.Undefined,
			keys: []format.ChunkKey{key, b.pastKey(key)}, children: []uint64{c.Addr}}
		if err := b.writeNode(s, addr, n); err != nil {
			return 0, err
		}
		b.p.Layout.Addr = addr
		return addr, nil
	}
	split, err := b.insert(s, root, key, c.Addr, 0)
	if err != nil {
		return 0, err
	}
	if split == nil {
		return root, nil
	}
	// The root split: move its (left half) content to a new node and make
	// the root the parent of both halves.
	old, err := b.node(root)
	if err != nil {
		return 0, err
	}
	moved, err := s.Alloc(b.nodeSize())
	if err != nil {
		return 0, err
	}
	left := &btree1Node{level: old.level, left: format.Undefined, right: split.addr, keys: old.keys, children: old.children}
	if err := b.writeNode(s, moved, left); err != nil {
		return 0, err
	}
	right, err := b.node(split.addr)
	if err != nil {
		return 0, err
	}
	right.left = moved
	if err := b.writeNode(s, split.addr, right); err != nil {
		return 0, err
	}
	newRoot := &btree1Node{level: old.level + 1, left: format.Undefined, right: format.Undefined,
		keys:     []format.ChunkKey{left.keys[0], split.key, right.keys[len(right.keys)-1]},
		children: []uint64{moved, split.addr}}
	return root, b.writeNode(s, root, newRoot)
}

type splitResult struct {
	key  format.ChunkKey // left key of the new right node
	addr uint64
}

// insert adds key→child under the node at addr. It returns the new right
// sibling when the node split.
func (b *btree1Index) insert(s Storage, addr uint64, key format.ChunkKey, child uint64, depth int) (*splitResult, error) {
	if depth > 64 {
		return nil, format.Corruptf(addr, "v1 B-tree node", "chunk B-tree deeper than 64 levels")
	}
	n, err := b.node(addr)
	if err != nil {
		return nil, err
	}
	// Work on a copy: the cached node is shared with readers.
	n = &btree1Node{level: n.level, left: n.left, right: n.right,
		keys: append([]format.ChunkKey(nil), n.keys...), children: append([]uint64(nil), n.children...)}
	count := len(n.children)
	// i: the last entry whose left key <= key.
	i := -1
	for j := 0; j < count; j++ {
		if compareOffsets(n.keys[j].Offsets, key.Offsets) <= 0 {
			i = j
		}
	}
	if n.level == 0 {
		if i >= 0 && compareOffsets(n.keys[i].Offsets, key.Offsets) == 0 {
			n.keys[i].Size, n.keys[i].FilterMask = key.Size, key.FilterMask
			n.children[i] = child
			return nil, b.writeNode(s, addr, n)
		}
		pos := i + 1
		n.keys = insertKey(n.keys, pos, key)
		n.children = insertAddr(n.children, pos, child)
		if pos == count { // the new last chunk: the closing key moves past it
			last := len(n.keys) - 1
			if compareOffsets(n.keys[last].Offsets, key.Offsets) <= 0 {
				n.keys[last] = b.pastKey(key)
			}
		}
	} else {
		c := max(i, 0)
		split, err := b.insert(s, n.children[c], key, child, depth+1)
		if err != nil {
			return nil, err
		}
		if compareOffsets(key.Offsets, n.keys[c].Offsets) < 0 {
			n.keys[c] = format.ChunkKey{Offsets: key.Offsets}
		}
		last := len(n.keys) - 1
		if compareOffsets(n.keys[last].Offsets, key.Offsets) <= 0 {
			n.keys[last] = b.pastKey(key)
		}
		if split != nil {
			n.keys = insertKey(n.keys, c+1, split.key)
			n.children = insertAddr(n.children, c+1, split.addr)
		}
	}
	if len(n.children) <= b.capacity() {
		return nil, b.writeNode(s, addr, n)
	}
	return b.split(s, addr, n)
}

// split moves the upper half of an overfull node to a new right sibling.
func (b *btree1Index) split(s Storage, addr uint64, n *btree1Node) (*splitResult, error) {
	mid := len(n.children) / 2
	newAddr, err := s.Alloc(b.nodeSize())
	if err != nil {
		return nil, err
	}
	right := &btree1Node{level: n.level, left: addr, right: n.right,
		keys: append([]format.ChunkKey(nil), n.keys[mid:]...), children: append([]uint64(nil), n.children[mid:]...)}
	left := &btree1Node{level: n.level, left: n.left, right: newAddr,
		keys: append([]format.ChunkKey(nil), n.keys[:mid+1]...), children: append([]uint64(nil), n.children[:mid]...)}
	if n.right != format.Undefined {
		sib, err := b.node(n.right)
		if err != nil {
			return nil, err
		}
		sib = &btree1Node{level: sib.level, left: newAddr, right: sib.right, keys: sib.keys, children: sib.children}
		if err := b.writeNode(s, n.right, sib); err != nil {
			return nil, err
		}
	}
	// The new node is written before the node that points to it.
	if err := b.writeNode(s, newAddr, right); err != nil {
		return nil, err
	}
	if err := b.writeNode(s, addr, left); err != nil {
		return nil, err
	}
	return &splitResult{key: format.ChunkKey{Offsets: right.keys[0].Offsets}, addr: newAddr}, nil
}

func insertKey(keys []format.ChunkKey, i int, k format.ChunkKey) []format.ChunkKey {
	keys = append(keys, format.ChunkKey{})
	copy(keys[i+1:], keys[i:])
	keys[i] = k
	return keys
}

func insertAddr(a []uint64, i int, v uint64) []uint64 {
	a = append(a, 0)
	copy(a[i+1:], a[i:])
	a[i] = v
	return a
}
