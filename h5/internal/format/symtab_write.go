package format

import (
	"bytes"
	"fmt"
	"sort"
)

// Editing old-style groups: a local heap holding the names, symbol table
// nodes (SNOD) holding up to 2·leafK entries sorted by name, and a v1
// B-tree of type 0 over them whose keys are heap offsets of names (child i
// holds the names in (key i, key i+1]; key 0 is the empty name), as
// libhdf5's H5Gstab.c, H5Gnode.c, H5B.c and H5HL*.c keep them. The B-tree
// root and the heap header never move, so the symbol table message stays
// as it is.

// SymbolTableK are a file's K values for group B-trees: SNODs hold up to
// 2·Leaf entries, B-tree nodes up to 2·Internal children.
type SymbolTableK struct{ Leaf, Internal int }

func (k SymbolTableK) normalized() SymbolTableK {
	if k.Leaf <= 0 {
		k.Leaf = 4
	}
	if k.Internal <= 0 {
		k.Internal = 16
	}
	return k
}

// Local heap constants (H5HL_FREE_NULL, H5HL_ALIGN).
const (
	heapFreeNull = 1
	heapAlign    = 8
)

func alignHeap(n uint64) uint64 { return (n + heapAlign - 1) &^ (heapAlign - 1) }

type heapFree struct{ off, size uint64 }

// localHeap is a local heap being edited.
type localHeap struct {
	addr     uint64
	dataAddr uint64
	data     []byte
	free     []heapFree // sorted by offset
}

func (h *localHeap) freeSize(sizes Sizes) uint64 { return uint64(2 * sizes.Length) }

func loadLocalHeap(r *Reader, addr uint64) (*localHeap, error) {
	lh, err := ReadLocalHeap(r, addr)
	if err != nil {
		return nil, err
	}
	h := &localHeap{addr: addr, dataAddr: lh.DataAddr, data: append([]byte(nil), lh.Data...)}
	off := lh.FreeListHead
	for n := 0; off != heapFreeNull && off != Undefined; n++ {
		if n > len(h.data) || off+uint64(2*r.Sizes.Length) > uint64(len(h.data)) {
			return nil, Corruptf(addr, "local heap", "free list broken at offset %d", off)
		}
		d := NewDecoder(h.data[off:], lh.DataAddr+off, "local heap free block", r.Sizes)
		next, size := d.Length(), d.Length()
		if size > uint64(len(h.data))-off {
			return nil, Corruptf(addr, "local heap", "free block of %d bytes at %d", size, off)
		}
		h.free = append(h.free, heapFree{off, size})
		off = next
	}
	sort.Slice(h.free, func(i, j int) bool { return h.free[i].off < h.free[j].off })
	return h, nil
}

// encodeFree writes the free list into the data image and returns the head.
func (h *localHeap) encodeFree(sizes Sizes) uint64 {
	head := uint64(heapFreeNull)
	for i := len(h.free) - 1; i >= 0; i-- {
		f := h.free[i]
		e := &Encoder{Sizes: sizes}
		e.Length(head)
		e.Length(f.size)
		copy(h.data[f.off:], e.Buf)
		head = f.off
	}
	return head
}

func (h *localHeap) header(sizes Sizes, head uint64) []byte {
	e := &Encoder{Sizes: sizes}
	e.Bytes([]byte("HEAP"))
	e.U8(0)
	e.Zeros(3)
	e.Length(uint64(len(h.data)))
	e.Length(head)
	e.Offset(h.dataAddr)
	return e.Buf
}

// write stores the heap: its header and data segment.
func (h *localHeap) write(s Space, sizes Sizes) error {
	head := h.encodeFree(sizes)
	if err := s.WriteAt(h.data, h.dataAddr); err != nil {
		return err
	}
	return s.WriteAt(h.header(sizes, head), h.addr)
}

// insert puts a NUL-terminated string into the heap and returns its
// offset, growing the data segment (to a new place) when no free block
// holds it, as H5HL_insert does.
func (h *localHeap) insert(s Space, sizes Sizes, str string) (uint64, error) {
	need := alignHeap(uint64(len(str)) + 1)
	minFree := h.freeSize(sizes)
	for {
		for i, f := range h.free {
			switch {
			case f.size > need && f.size-need >= minFree:
				h.free[i] = heapFree{f.off + need, f.size - need}
			case f.size == need:
				h.free = append(h.free[:i], h.free[i+1:]...)
			default:
				continue
			}
			b := h.data[f.off : f.off+need]
			clear(b)
			copy(b, str)
			return f.off, nil
		}
		if err := h.grow(s, max(need, uint64(len(h.data)))); err != nil {
			return 0, err
		}
	}
}

// grow enlarges the data segment by at least more bytes: a free block at
// the end grows, else a new one starts there. The segment moves to new
// space; the old is freed.
func (h *localHeap) grow(s Space, more uint64) error {
	old := uint64(len(h.data))
	size := old + more
	addr, err := s.Alloc(size)
	if err != nil {
		return err
	}
	s.Free(h.dataAddr, old)
	h.dataAddr = addr
	h.data = append(h.data, make([]byte, more)...)
	if n := len(h.free); n > 0 && h.free[n-1].off+h.free[n-1].size == old {
		h.free[n-1].size += more
	} else {
		h.free = append(h.free, heapFree{old, more})
	}
	return nil
}

// remove returns a string's space to the free list, merged with its
// neighbours; a hole too small to describe is lost, as in libhdf5.
func (h *localHeap) remove(sizes Sizes, off uint64, length uint64) {
	size := alignHeap(length)
	if off+size > uint64(len(h.data)) {
		return
	}
	clear(h.data[off : off+size])
	i := sort.Search(len(h.free), func(i int) bool { return h.free[i].off > off })
	nf := heapFree{off, size}
	if i > 0 && h.free[i-1].off+h.free[i-1].size == off {
		i--
		nf = heapFree{h.free[i].off, h.free[i].size + size}
		h.free = append(h.free[:i], h.free[i+1:]...)
	}
	if i < len(h.free) && nf.off+nf.size == h.free[i].off {
		nf.size += h.free[i].size
		h.free = append(h.free[:i], h.free[i+1:]...)
	}
	if nf.size < h.freeSize(sizes) {
		return
	}
	h.free = append(h.free, heapFree{})
	copy(h.free[i+1:], h.free[i:])
	h.free[i] = nf
}

func (h *localHeap) str(off uint64) (string, error) {
	lh := &LocalHeap{Addr: h.addr, Data: h.data}
	return lh.String(off)
}

// CreateSymbolTable makes the storage of an empty old-style group: a local
// heap holding the empty name (its size from libhdf5's estimate of 4
// entries of 8-character names unless sizeHint says otherwise) and an
// empty B-tree root node.
func CreateSymbolTable(r *Reader, s Space, k SymbolTableK, sizeHint uint64) (*SymbolTableMessage, error) {
	k = k.normalized()
	sizes := r.Sizes
	freeSize := uint64(2 * sizes.Length)
	if sizeHint == 0 {
		sizeHint = 8 + 4*alignHeap(8+1) + freeSize
	}
	sizeHint = alignHeap(max(sizeHint, freeSize+heapAlign))
	h := &localHeap{data: make([]byte, sizeHint)}
	h.free = []heapFree{{heapAlign, sizeHint - heapAlign}} // offset 0: the empty name
	hdrSize := uint64(len(h.header(sizes, 0)))
	var err error
	if h.addr, err = s.Alloc(hdrSize + sizeHint); err != nil {
		return nil, err
	}
	h.dataAddr = h.addr + hdrSize
	if err := h.write(s, sizes); err != nil {
		return nil, err
	}
	t := &symtabEditor{r: r, k: k}
	root, err := s.Alloc(t.nodeSize())
	if err != nil {
		return nil, err
	}
	if err := t.writeNode(s, &groupNode{addr: root, keys: []uint64{0}, left: Undefined, right: Undefined}); err != nil {
		return nil, err
	}
	return &SymbolTableMessage{BTreeAddr: root, HeapAddr: h.addr}, nil
}

// SymbolTable is an old-style group's storage being edited. It keeps the
// local heap in memory between edits; use one per group, under one lock,
// and drop it after an error.
type SymbolTable struct {
	st   SymbolTableMessage
	heap *localHeap
	ed   symtabEditor
}

// OpenSymbolTable starts editing the group storage st describes.
func OpenSymbolTable(r *Reader, st *SymbolTableMessage, k SymbolTableK) (*SymbolTable, error) {
	h, err := loadLocalHeap(r, st.HeapAddr)
	if err != nil {
		return nil, err
	}
	return &SymbolTable{st: *st, heap: h, ed: symtabEditor{r: r, k: k.normalized(), heap: h}}, nil
}

// Insert adds name as a hard link to e.HeaderAddr (e's cache fields are
// kept; its name offset is set here). ErrExists if the name is there.
func (t *SymbolTable) Insert(s Space, name string, e SymbolTableEntry) error {
	return t.insert(s, name, e, "")
}

// InsertSoft adds name as a soft link to target.
func (t *SymbolTable) InsertSoft(s Space, name, target string) error {
	return t.insert(s, name, SymbolTableEntry{CacheType: 2, HeaderAddr: Undefined}, target)
}

func (t *SymbolTable) insert(s Space, name string, e SymbolTableEntry, target string) error {
	if _, found, err := t.Lookup(name); err != nil {
		return err
	} else if found {
		return fmt.Errorf("h5: %q in the symbol table at 0x%x: %w", name, t.st.BTreeAddr, ErrExists)
	}
	sizes := t.ed.r.Sizes
	off, err := t.heap.insert(s, sizes, name)
	if err != nil {
		return err
	}
	e.NameOffset = off
	if e.CacheType == 2 {
		lo, err := t.heap.insert(s, sizes, target)
		if err != nil {
			return err
		}
		e.LinkOffset = uint32(lo)
	}
	if err := t.heap.write(s, sizes); err != nil {
		return err
	}
	return t.ed.insert(s, t.st.BTreeAddr, name, e)
}

// Remove takes name out and returns its entry; ErrNotFound if absent.
func (t *SymbolTable) Remove(s Space, name string) (SymbolTableEntry, error) {
	e, err := t.ed.remove(s, t.st.BTreeAddr, name)
	if err != nil {
		return e, err
	}
	sizes := t.ed.r.Sizes
	t.heap.remove(sizes, e.NameOffset, uint64(len(name))+1)
	if e.CacheType == 2 {
		if target, err := t.heap.str(uint64(e.LinkOffset)); err == nil {
			t.heap.remove(sizes, uint64(e.LinkOffset), uint64(len(target))+1)
		}
	}
	return e, t.heap.write(s, sizes)
}

// Lookup finds name by descending the B-tree.
func (t *SymbolTable) Lookup(name string) (SymbolTableEntry, bool, error) {
	addr := t.st.BTreeAddr
	for depth := 0; ; depth++ {
		n, err := t.ed.readNode(addr)
		if err != nil || depth > maxBTreeDepth {
			return SymbolTableEntry{}, false, err
		}
		if len(n.children) == 0 {
			return SymbolTableEntry{}, false, nil
		}
		i, err := t.ed.childFor(n, name)
		if err != nil {
			return SymbolTableEntry{}, false, err
		}
		if n.level > 0 {
			addr = n.children[i]
			continue
		}
		snod, err := t.ed.readSNOD(n.children[i])
		if err != nil {
			return SymbolTableEntry{}, false, err
		}
		j, found, err := t.ed.findInSNOD(snod, name)
		if err != nil || !found {
			return SymbolTableEntry{}, false, err
		}
		return snod[j], true, nil
	}
}

// symtabEditor changes a group B-tree and its SNODs.
type symtabEditor struct {
	r    *Reader
	k    SymbolTableK
	heap *localHeap
}

type groupNode struct {
	addr        uint64
	level       int
	keys        []uint64 // heap offsets, len(children)+1
	children    []uint64
	left, right uint64
}

func (t *symtabEditor) nodeSize() uint64 {
	sz := t.r.Sizes
	n := 2 * t.k.Internal
	return uint64(8 + 2*sz.Offset + (n+1)*sz.Length + n*sz.Offset)
}

func (t *symtabEditor) snodSize() uint64 {
	return uint64(8 + 2*t.k.Leaf*(2*t.r.Sizes.Offset+24))
}

func (t *symtabEditor) readNode(addr uint64) (*groupNode, error) {
	n, err := ReadBTree1Node(t.r, addr, t.r.Sizes.Length)
	if err != nil {
		return nil, err
	}
	if n.Type != BTree1Group {
		return nil, Corruptf(addr, "v1 B-tree node", "type %d in a group B-tree", n.Type)
	}
	if len(n.Children) > 2*t.k.Internal {
		return nil, Corruptf(addr, "v1 B-tree node", "%d children, more than 2K=%d", len(n.Children), 2*t.k.Internal)
	}
	g := &groupNode{addr: addr, level: int(n.Level), children: n.Children, left: n.Left, right: n.Right}
	for _, k := range n.Keys {
		g.keys = append(g.keys, NewDecoder(k, addr, "v1 B-tree key", t.r.Sizes).Length())
	}
	return g, nil
}

func (t *symtabEditor) writeNode(s Space, n *groupNode) error {
	e := &Encoder{Sizes: t.r.Sizes}
	e.Bytes([]byte("TREE"))
	e.U8(BTree1Group)
	e.U8(uint8(n.level))
	e.U16(uint16(len(n.children)))
	e.Offset(n.left)
	e.Offset(n.right)
	for i, c := range n.children {
		e.Length(n.keys[i])
		e.Offset(c)
	}
	if len(n.keys) > len(n.children) {
		e.Length(n.keys[len(n.children)])
	} else {
		e.Length(0)
	}
	e.Zeros(int(t.nodeSize()) - len(e.Buf))
	return s.WriteAt(e.Buf, n.addr)
}

func (t *symtabEditor) readSNOD(addr uint64) ([]SymbolTableEntry, error) {
	n, err := ReadSymbolTableNode(t.r, addr)
	if err != nil {
		return nil, err
	}
	if len(n.Entries) > 2*t.k.Leaf {
		return nil, Corruptf(addr, "symbol table node", "%d entries, more than 2K=%d", len(n.Entries), 2*t.k.Leaf)
	}
	return n.Entries, nil
}

func (t *symtabEditor) writeSNOD(s Space, addr uint64, entries []SymbolTableEntry) error {
	e := &Encoder{Sizes: t.r.Sizes}
	e.Bytes([]byte("SNOD"))
	e.U8(1)
	e.U8(0)
	e.U16(uint16(len(entries)))
	for _, en := range entries {
		encodeSymbolTableEntry(e, en)
	}
	e.Zeros(int(t.snodSize()) - len(e.Buf))
	return s.WriteAt(e.Buf, addr)
}

func encodeSymbolTableEntry(e *Encoder, en SymbolTableEntry) {
	e.Offset(en.NameOffset)
	e.Offset(en.HeaderAddr)
	e.U32(en.CacheType)
	e.U32(0)
	scratch := &Encoder{Sizes: e.Sizes}
	switch en.CacheType {
	case 1:
		scratch.Offset(en.BTreeAddr)
		scratch.Offset(en.HeapAddr)
	case 2:
		scratch.U32(en.LinkOffset)
	}
	scratch.Zeros(16 - len(scratch.Buf))
	e.Bytes(scratch.Buf[:16])
}

func (t *symtabEditor) name(off uint64) (string, error) { return t.heap.str(off) }

// childFor is the child whose range holds name: the first whose right key
// is not below it, else the last (whose right key then grows).
func (t *symtabEditor) childFor(n *groupNode, name string) (int, error) {
	lo, hi := 0, len(n.children)-1
	for lo < hi {
		mid := (lo + hi) / 2
		k, err := t.name(n.keys[mid+1])
		if err != nil {
			return 0, err
		}
		if name <= k {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

func (t *symtabEditor) findInSNOD(entries []SymbolTableEntry, name string) (int, bool, error) {
	var ferr error
	i := sort.Search(len(entries), func(i int) bool {
		s, err := t.name(entries[i].NameOffset)
		if err != nil && ferr == nil {
			ferr = err
		}
		return s >= name
	})
	if ferr != nil {
		return 0, false, ferr
	}
	if i < len(entries) {
		s, _ := t.name(entries[i].NameOffset)
		return i, s == name, nil
	}
	return i, false, nil
}

// split is what an insertion passes up: a new right sibling of the child
// and the key between them.
type split struct {
	key   uint64
	right uint64
}

func (t *symtabEditor) insert(s Space, root uint64, name string, e SymbolTableEntry) error {
	n, err := t.readNode(root)
	if err != nil {
		return err
	}
	if len(n.children) == 0 {
		// The first name: one SNOD under the root.
		addr, err := s.Alloc(t.snodSize())
		if err != nil {
			return err
		}
		if err := t.writeSNOD(s, addr, []SymbolTableEntry{e}); err != nil {
			return err
		}
		n.level, n.children, n.keys = 0, []uint64{addr}, []uint64{0, e.NameOffset}
		return t.writeNode(s, n)
	}
	sp, err := t.insertAt(s, n, name, e, 0)
	if err != nil || sp == nil {
		return err
	}
	// The root splits: its halves move out and it becomes their parent,
	// staying at its address.
	leftAddr, err := s.Alloc(t.nodeSize())
	if err != nil {
		return err
	}
	left := *n
	left.addr = leftAddr
	rightNode, err := t.readNode(sp.right)
	if err != nil {
		return err
	}
	rightNode.left = leftAddr
	left.right = sp.right
	if err := t.writeNode(s, &left); err != nil {
		return err
	}
	if err := t.writeNode(s, rightNode); err != nil {
		return err
	}
	rootNode := &groupNode{addr: root, level: n.level + 1, children: []uint64{leftAddr, sp.right},
		keys: []uint64{n.keys[0], sp.key, rightNode.keys[len(rightNode.keys)-1]}, left: Undefined, right: Undefined}
	return t.writeNode(s, rootNode)
}

// insertAt inserts under node n (already read) and writes what changed.
// It returns the split of n itself, if any; n is then the left half.
func (t *symtabEditor) insertAt(s Space, n *groupNode, name string, e SymbolTableEntry, depth int) (*split, error) {
	if depth > maxBTreeDepth {
		return nil, Corruptf(n.addr, "v1 B-tree node", "deeper than %d", maxBTreeDepth)
	}
	i, err := t.childFor(n, name)
	if err != nil {
		return nil, err
	}
	last, err := t.name(n.keys[i+1])
	if err != nil {
		return nil, err
	}
	if name > last {
		n.keys[i+1] = e.NameOffset // the name is the new largest in this child
	}
	var sp *split
	if n.level == 0 {
		sp, err = t.insertSNOD(s, n.children[i], name, e)
	} else {
		child, rerr := t.readNode(n.children[i])
		if rerr != nil {
			return nil, rerr
		}
		if child.level != n.level-1 {
			return nil, Corruptf(child.addr, "v1 B-tree node", "level %d under level %d", child.level, n.level)
		}
		sp, err = t.insertAt(s, child, name, e, depth+1)
	}
	if err != nil {
		return nil, err
	}
	if sp != nil {
		n.keys = insertU64(n.keys, i+1, sp.key)
		n.children = insertU64(n.children, i+1, sp.right)
	}
	if len(n.children) <= 2*t.k.Internal {
		return nil, t.writeNode(s, n)
	}
	return t.splitNode(s, n)
}

// splitNode moves the right half of an overfull node to a new sibling.
func (t *symtabEditor) splitNode(s Space, n *groupNode) (*split, error) {
	h := len(n.children) / 2
	addr, err := s.Alloc(t.nodeSize())
	if err != nil {
		return nil, err
	}
	right := &groupNode{addr: addr, level: n.level, children: append([]uint64(nil), n.children[h:]...),
		keys: append([]uint64(nil), n.keys[h:]...), left: n.addr, right: n.right}
	if n.right != Undefined {
		nb, err := t.readNode(n.right)
		if err != nil {
			return nil, err
		}
		nb.left = addr
		if err := t.writeNode(s, nb); err != nil {
			return nil, err
		}
	}
	key := n.keys[h]
	n.children, n.keys, n.right = n.children[:h:h], n.keys[:h+1:h+1], addr
	if err := t.writeNode(s, n); err != nil {
		return nil, err
	}
	return &split{key: key, right: addr}, t.writeNode(s, right)
}

// insertSNOD puts the entry into the SNOD at addr, splitting it as
// H5G__node_insert does when it is full.
func (t *symtabEditor) insertSNOD(s Space, addr uint64, name string, e SymbolTableEntry) (*split, error) {
	entries, err := t.readSNOD(addr)
	if err != nil {
		return nil, err
	}
	idx, found, err := t.findInSNOD(entries, name)
	if err != nil {
		return nil, err
	}
	if found {
		return nil, fmt.Errorf("h5: %q in the symbol table node at 0x%x: %w", name, addr, ErrExists)
	}
	k := t.k.Leaf
	if len(entries) < 2*k {
		entries = insertEntry(entries, idx, e)
		return nil, t.writeSNOD(s, addr, entries)
	}
	rightAddr, err := s.Alloc(t.snodSize())
	if err != nil {
		return nil, err
	}
	left := append([]SymbolTableEntry(nil), entries[:k]...)
	right := append([]SymbolTableEntry(nil), entries[k:]...)
	if idx <= k {
		left = insertEntry(left, idx, e)
	} else {
		right = insertEntry(right, idx-k, e)
	}
	if err := t.writeSNOD(s, addr, left); err != nil {
		return nil, err
	}
	if err := t.writeSNOD(s, rightAddr, right); err != nil {
		return nil, err
	}
	return &split{key: left[len(left)-1].NameOffset, right: rightAddr}, nil
}

func insertEntry(s []SymbolTableEntry, i int, e SymbolTableEntry) []SymbolTableEntry {
	s = append(s, SymbolTableEntry{})
	copy(s[i+1:], s[i:])
	s[i] = e
	return s
}

func insertU64(s []uint64, i int, v uint64) []uint64 {
	s = append(s, 0)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

func removeU64(s []uint64, i int) []uint64 { return append(s[:i:i], s[i+1:]...) }

// remove takes name out of the tree under root and returns its entry.
func (t *symtabEditor) remove(s Space, root uint64, name string) (SymbolTableEntry, error) {
	n, err := t.readNode(root)
	if err != nil {
		return SymbolTableEntry{}, err
	}
	if len(n.children) == 0 {
		return SymbolTableEntry{}, ErrNotFound
	}
	e, _, err := t.removeAt(s, n, name, 0)
	if err != nil {
		return e, err
	}
	return e, nil
}

// removeAt removes name under n and writes what changed. It reports
// whether n became empty (its parent then drops it; an empty root stays).
func (t *symtabEditor) removeAt(s Space, n *groupNode, name string, depth int) (SymbolTableEntry, bool, error) {
	if depth > maxBTreeDepth {
		return SymbolTableEntry{}, false, Corruptf(n.addr, "v1 B-tree node", "deeper than %d", maxBTreeDepth)
	}
	i, err := t.childFor(n, name)
	if err != nil {
		return SymbolTableEntry{}, false, err
	}
	var e SymbolTableEntry
	var childEmpty bool
	var newLast uint64
	if n.level == 0 {
		e, childEmpty, newLast, err = t.removeSNOD(s, n.children[i], name)
	} else {
		child, rerr := t.readNode(n.children[i])
		if rerr != nil {
			return e, false, rerr
		}
		e, childEmpty, err = t.removeAt(s, child, name, depth+1)
		if err == nil && !childEmpty {
			newLast = child.keys[len(child.keys)-1]
		}
	}
	if err != nil {
		return e, false, err
	}
	if childEmpty {
		if n.level == 0 {
			s.Free(n.children[i], t.snodSize())
		} else {
			if err := t.unlinkSibling(s, n.children[i]); err != nil {
				return e, false, err
			}
			s.Free(n.children[i], t.nodeSize())
		}
		n.children = removeU64(n.children, i)
		// The child's range joins its left neighbour's (or the first key
		// moves up when the first child goes).
		n.keys = removeU64(n.keys, i+1)
	} else if n.keys[i+1] == e.NameOffset {
		// The removed name bounded this child: its new largest does now.
		n.keys[i+1] = newLast
	}
	if len(n.children) == 0 && depth > 0 {
		return e, true, nil
	}
	if len(n.children) == 0 {
		n.level, n.keys = 0, []uint64{0}
	}
	if err := t.writeNode(s, n); err != nil {
		return e, false, err
	}
	// The node's right bound is also its right sibling's left bound: a
	// bound left naming a removed name would change meaning once the heap
	// reuses that name's space (libhdf5 compares against both bounds).
	return e, false, t.setLeftKey(s, n.right, n.keys[len(n.keys)-1])
}

// setLeftKey makes key the left bound of the node at addr, if any.
func (t *symtabEditor) setLeftKey(s Space, addr, key uint64) error {
	if addr == Undefined {
		return nil
	}
	nb, err := t.readNode(addr)
	if err != nil {
		return err
	}
	if nb.keys[0] == key {
		return nil
	}
	nb.keys[0] = key
	return t.writeNode(s, nb)
}

// unlinkSibling takes a node out of its level's sibling chain.
func (t *symtabEditor) unlinkSibling(s Space, addr uint64) error {
	n, err := t.readNode(addr)
	if err != nil {
		return err
	}
	for _, side := range []struct {
		addr   uint64
		isLeft bool
	}{{n.left, true}, {n.right, false}} {
		if side.addr == Undefined {
			continue
		}
		nb, err := t.readNode(side.addr)
		if err != nil {
			return err
		}
		if side.isLeft {
			nb.right = n.right
		} else {
			// The removed node's range joins its right sibling's.
			nb.left = n.left
			nb.keys[0] = n.keys[0]
		}
		if err := t.writeNode(s, nb); err != nil {
			return err
		}
	}
	return nil
}

// removeSNOD removes name from the SNOD at addr; it reports whether the
// node is now empty, and else the heap offset of its largest name.
func (t *symtabEditor) removeSNOD(s Space, addr uint64, name string) (SymbolTableEntry, bool, uint64, error) {
	entries, err := t.readSNOD(addr)
	if err != nil {
		return SymbolTableEntry{}, false, 0, err
	}
	idx, found, err := t.findInSNOD(entries, name)
	if err != nil {
		return SymbolTableEntry{}, false, 0, err
	}
	if !found {
		return SymbolTableEntry{}, false, 0, ErrNotFound
	}
	e := entries[idx]
	entries = append(entries[:idx:idx], entries[idx+1:]...)
	if len(entries) == 0 {
		return e, true, 0, nil
	}
	return e, false, entries[len(entries)-1].NameOffset, t.writeSNOD(s, addr, entries)
}

// maxLookupName bounds the names a lookup reads from a heap.
const maxLookupName = 1 << 16

// LocalHeapString reads the string at offset off of the local heap at
// heapAddr without reading the whole heap.
func LocalHeapString(r *Reader, heapAddr, off uint64) (string, error) {
	d, err := r.Decoder(heapAddr, 8+2*r.Sizes.Length+r.Sizes.Offset, "local heap")
	if err != nil {
		return "", err
	}
	d.Signature("HEAP")
	d.Skip(4)
	size, _, data := d.Length(), d.Length(), d.Offset()
	if err := d.Err(); err != nil {
		return "", err
	}
	if off >= size {
		return "", Corruptf(heapAddr, "local heap", "offset %d beyond %d bytes", off, size)
	}
	for n := uint64(64); ; n *= 4 {
		n = min(n, size-off, maxLookupName)
		b, err := r.Read(data+off, int(n), "local heap data")
		if err != nil {
			return "", err
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			return string(b[:i]), nil
		}
		if n == size-off || n == maxLookupName {
			return "", Corruptf(heapAddr, "local heap", "unterminated string at %d", off)
		}
	}
}

// LookupSymbol finds name in an old-style group by descending its B-tree,
// reading only the names it compares.
func LookupSymbol(r *Reader, st *SymbolTableMessage, name string) (SymbolTableEntry, bool, error) {
	str := func(off uint64) (string, error) { return LocalHeapString(r, st.HeapAddr, off) }
	addr := st.BTreeAddr
	for depth := 0; depth <= maxBTreeDepth; depth++ {
		n, err := ReadBTree1Node(r, addr, r.Sizes.Length)
		if err != nil {
			return SymbolTableEntry{}, false, err
		}
		if n.Type != BTree1Group {
			return SymbolTableEntry{}, false, Corruptf(addr, "v1 B-tree node", "type %d in a group B-tree", n.Type)
		}
		if len(n.Children) == 0 {
			return SymbolTableEntry{}, false, nil
		}
		// The first child whose largest name is not below name.
		lo, hi := 0, len(n.Children)-1
		for lo < hi {
			mid := (lo + hi) / 2
			k, err := str(NewDecoder(n.Keys[mid+1], addr, "v1 B-tree key", r.Sizes).Length())
			if err != nil {
				return SymbolTableEntry{}, false, err
			}
			if name <= k {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		if n.Level > 0 {
			addr = n.Children[lo]
			continue
		}
		snod, err := ReadSymbolTableNode(r, n.Children[lo])
		if err != nil {
			return SymbolTableEntry{}, false, err
		}
		i, j := 0, len(snod.Entries)
		for i < j {
			mid := (i + j) / 2
			s, err := str(snod.Entries[mid].NameOffset)
			if err != nil {
				return SymbolTableEntry{}, false, err
			}
			switch {
			case s == name:
				return snod.Entries[mid], true, nil
			case s < name:
				i = mid + 1
			default:
				j = mid
			}
		}
		return SymbolTableEntry{}, false, nil
	}
	return SymbolTableEntry{}, false, Corruptf(st.BTreeAddr, "v1 B-tree", "deeper than %d", maxBTreeDepth)
}
