package format

import "bytes"

// LocalHeap is a local heap: the names of an old-style group.
type LocalHeap struct {
	Addr         uint64
	DataSize     uint64
	FreeListHead uint64
	DataAddr     uint64
	Data         []byte
}

// ReadLocalHeap reads a local heap and its data segment.
func ReadLocalHeap(r *Reader, addr uint64) (*LocalHeap, error) {
	d, err := r.Decoder(addr, 8+2*r.Sizes.Length+r.Sizes.Offset, "local heap")
	if err != nil {
		return nil, err
	}
	d.Signature("HEAP")
	if v := d.U8(); v != 0 && d.Err() == nil {
		return nil, Corruptf(addr, "local heap", "version %d", v)
	}
	d.Skip(3)
	h := &LocalHeap{Addr: addr, DataSize: d.Length(), FreeListHead: d.Length(), DataAddr: d.Offset()}
	if err := d.Err(); err != nil {
		return nil, err
	}
	if h.DataSize > uint64(r.FileSize()) {
		return nil, Corruptf(addr, "local heap", "data segment of %d bytes in a %d-byte file", h.DataSize, r.FileSize())
	}
	h.Data, err = r.Read(h.DataAddr, int(h.DataSize), "local heap data")
	if err != nil {
		return nil, err
	}
	return h, nil
}

// String returns the null-terminated string at offset off.
func (h *LocalHeap) String(off uint64) (string, error) {
	if off >= uint64(len(h.Data)) {
		return "", Corruptf(h.Addr, "local heap", "offset %d beyond %d bytes", off, len(h.Data))
	}
	rest := h.Data[off:]
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return "", Corruptf(h.Addr, "local heap", "unterminated string at %d", off)
	}
	return string(rest[:i]), nil
}

// GlobalHeapID addresses one object of a global heap collection.
type GlobalHeapID struct {
	CollectionAddr uint64
	Index          uint32
}

// GlobalHeapCollection is a decoded global heap collection.
type GlobalHeapCollection struct {
	Addr    uint64
	Size    uint64
	Objects map[uint32][]byte
}

// ReadGlobalHeapCollection reads a whole collection.
func ReadGlobalHeapCollection(r *Reader, addr uint64) (*GlobalHeapCollection, error) {
	d, err := r.Decoder(addr, 8+r.Sizes.Length, "global heap collection")
	if err != nil {
		return nil, err
	}
	d.Signature("GCOL")
	if v := d.U8(); v != 1 && d.Err() == nil {
		return nil, Corruptf(addr, "global heap collection", "version %d", v)
	}
	d.Skip(3)
	size := d.Length()
	if err := d.Err(); err != nil {
		return nil, err
	}
	if size > uint64(r.FileSize()) || size < uint64(8+r.Sizes.Length) {
		return nil, Corruptf(addr, "global heap collection", "size %d", size)
	}
	buf, err := r.Read(addr, int(size), "global heap collection")
	if err != nil {
		return nil, err
	}
	c := &GlobalHeapCollection{Addr: addr, Size: size, Objects: map[uint32][]byte{}}
	d = NewDecoder(buf, addr, "global heap collection", r.Sizes)
	// The collection header and each object header are padded to a
	// multiple of 8 bytes (it shows when lengths are 4 bytes).
	hdr := (8 + r.Sizes.Length + 7) &^ 7
	d.Skip(hdr)
	for d.Remaining() >= hdr && d.Err() == nil {
		idx := d.U16()
		d.Skip(2 + 4) // reference count, reserved
		n := d.Length()
		d.Skip(hdr - 8 - r.Sizes.Length)
		if idx == 0 {
			break // free space: the rest of the collection
		}
		if n > uint64(d.Remaining()) {
			return nil, Corruptf(addr, "global heap collection", "object %d of %d bytes overruns the collection", idx, n)
		}
		c.Objects[uint32(idx)] = d.Bytes(int(n))
		pad := int((n+7)&^7 - n)
		if pad > d.Remaining() {
			pad = d.Remaining()
		}
		d.Skip(pad)
	}
	return c, d.Err()
}

// SymbolTableNode is a decoded "SNOD" node: up to 2K entries of a group.
type SymbolTableNode struct {
	Entries []SymbolTableEntry
}

// ReadSymbolTableNode reads the node at addr.
func ReadSymbolTableNode(r *Reader, addr uint64) (*SymbolTableNode, error) {
	d, err := r.Decoder(addr, 8, "symbol table node")
	if err != nil {
		return nil, err
	}
	d.Signature("SNOD")
	if v := d.U8(); v != 1 && d.Err() == nil {
		return nil, Corruptf(addr, "symbol table node", "version %d", v)
	}
	d.Skip(1)
	n := int(d.U16())
	if err := d.Err(); err != nil {
		return nil, err
	}
	entrySize := 2*r.Sizes.Offset + 4 + 4 + 16
	d, err = r.Decoder(addr+8, n*entrySize, "symbol table node")
	if err != nil {
		return nil, err
	}
	node := &SymbolTableNode{Entries: make([]SymbolTableEntry, n)}
	for i := range node.Entries {
		node.Entries[i] = DecodeSymbolTableEntry(d)
	}
	return node, d.Err()
}

// WalkSymbolTable visits every entry of an old-style group's B-tree in name
// order, with its name from the local heap.
func WalkSymbolTable(r *Reader, btreeAddr uint64, heap *LocalHeap, visit func(name string, e SymbolTableEntry) error) error {
	seen := map[uint64]bool{}
	var walk func(addr uint64, depth int) error
	walk = func(addr uint64, depth int) error {
		if depth > maxBTreeDepth || seen[addr] {
			return Corruptf(addr, "v1 B-tree node", "group B-tree loops or is deeper than %d", maxBTreeDepth)
		}
		seen[addr] = true
		node, err := ReadBTree1Node(r, addr, r.Sizes.Length)
		if err != nil {
			return err
		}
		if node.Type != BTree1Group {
			return Corruptf(addr, "v1 B-tree node", "node type %d in a group B-tree", node.Type)
		}
		for _, child := range node.Children {
			if node.Level > 0 {
				if err := walk(child, depth+1); err != nil {
					return err
				}
				continue
			}
			if seen[child] {
				return Corruptf(child, "symbol table node", "referenced twice")
			}
			seen[child] = true
			snod, err := ReadSymbolTableNode(r, child)
			if err != nil {
				return err
			}
			for _, e := range snod.Entries {
				name, err := heap.String(e.NameOffset)
				if err != nil {
					return err
				}
				if err := visit(name, e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(btreeAddr, 0)
}
